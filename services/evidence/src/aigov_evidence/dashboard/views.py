"""What the dashboard pages show, read through the evidence service's own queries.

No rule is computed here that the API computes elsewhere: control status comes from
`service.assess_release` (the gate's own function), listings from `service.list_systems` and
`service.list_waivers`. What is added is only arrangement: which release a row shows, counts,
a search over a bounded scan, and the definition of the approval queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from aigov_events.catalog import (
    EvidenceKind,
    IncidentEscalated,
    NotificationFailed,
    NotificationSent,
    TierAssigned,
)
from aigov_evidence import service
from aigov_evidence.controls import ControlStatus, PendingChange, Waiver, pending_waivers
from aigov_evidence.models import (
    INCIDENTS,
    LEDGER,
    RELEASES,
    IncidentView,
    SystemView,
    WaiverView,
)

PAGE_SIZE: Final = 100
"""Systems per register page."""
SEARCH_SCAN: Final = 5_000
"""How many inventory rows one search reads at most before it stops and says so."""
QUEUE_SCAN: Final = 500
"""How many systems the approval queue assesses at most."""
EXPIRING_WITHIN: Final = timedelta(days=14)
TIMELINE: Final = 100
RELEASES_SHOWN: Final = 50
INCIDENTS_SHOWN: Final = 50
NOTIFICATIONS_SHOWN: Final = 30
WAIVERS_SHOWN: Final = 100
#: Events the system timeline shows: evidence, decisions and what changes a release's status.
TIMELINE_TYPES: Final = tuple(
    f"io.aigov.{name}.v1"
    for name in (
        "system.registered",
        "system.updated",
        "system.retired",
        "tier.assigned",
        "material_change.detected",
        "evaluation.completed",
        "artifact.submitted",
        "lineage.recorded",
        "model_version.registered",
        "monitoring.probe.completed",
        "approval.granted",
        "approval.denied",
        "approval.revoked",
        "waiver.requested",
        "waiver.granted",
        "waiver.rejected",
        "waiver.expired",
        "gate.decided",
        "deployment.requested",
        "deployment.completed",
        "deployment.rolled_back",
    )
)
QUEUE_DEFINITION: Final = (
    "A release waits for approval when it is its system's current release (the version of the "
    "last gate decision, else the newest release) and at least one of these holds: a missing "
    "control needs an approval (its evidence includes an approval), a waiver request of the "
    "release has not been granted or rejected yet, or a material change of the system awaits "
    "approval."
)


def current_version(row: service.SystemRow) -> str | None:
    """The release a register row shows: the last gate decision's, else the newest one."""
    return row.system.last_gate_version or row.latest_version


@dataclass(frozen=True, slots=True)
class RegisterRow:
    """One AI system in the register."""

    system: SystemView
    version: str | None
    gate: str | None
    gate_version: str | None
    missing: tuple[str, ...]
    waived: int
    pending_waivers: int
    open_incidents: int
    assessed: bool
    """False when there is no release or no tier decision to measure controls against."""


@dataclass(frozen=True, slots=True)
class Register:
    """A page of the register and how to continue."""

    rows: list[RegisterRow]
    next_after: str | None
    scanned_out: bool = False
    """True when a search stopped at SEARCH_SCAN rows before filling the page."""


def matches(system: SystemView, q: str) -> bool:
    """Whether the search text occurs (case-insensitively) in the id, name, owner or team."""
    needle = q.casefold()
    return any(
        needle in (value or "").casefold()
        for value in (system.system_id, system.name, system.owner, system.team)
    )


async def register_row(
    session: AsyncSession, row: service.SystemRow, *, now: datetime
) -> RegisterRow:
    """A system with its current release's gaps, waivers and pending waiver requests."""
    system = row.system
    version = current_version(row)
    gate = system.last_gate_decision if system.last_gate_decision in ("allow", "deny") else None
    if version is None:
        return RegisterRow(
            system, None, gate, system.last_gate_version, (), 0, 0, row.open_incidents, False
        )
    assessment = await service.assess_release(session, system.system_id, version, now=now)
    status = assessment.status
    if status is None:
        return RegisterRow(
            system, version, gate, system.last_gate_version, (), 0, 0, row.open_incidents, False
        )
    return RegisterRow(
        system,
        version,
        gate,
        system.last_gate_version,
        tuple(c.control_id for c in status.controls if c.state == "missing"),
        sum(1 for c in status.controls if c.state == "waived"),
        len(pending_waivers(assessment.waivers, now=now)),
        row.open_incidents,
        True,
    )


async def register(
    session: AsyncSession,
    *,
    q: str | None,
    tier: str | None,
    team: str | None,
    gate: str | None,
    after: str | None,
    now: datetime,
) -> Register:
    """A page of at most PAGE_SIZE systems, filtered, searched over a bounded scan."""
    found: list[service.SystemRow] = []
    scanned = 0
    cursor = after
    more = True
    while more and len(found) < PAGE_SIZE and scanned < SEARCH_SCAN:
        # Without a search every row is shown, so one page of the inventory is one page here.
        batch_size = PAGE_SIZE if q is None else service.MAX_PAGE
        rows, last = await service.list_systems(
            session, tier=tier, team=team, status=None, gate=gate, limit=batch_size, after=cursor
        )
        stopped_early = False
        for index, row in enumerate(rows):
            scanned += 1
            cursor = row.system.system_id
            if q is None or matches(row.system, q):
                found.append(row)
            if len(found) == PAGE_SIZE:
                stopped_early = index < len(rows) - 1
                break
        more = last is not None or stopped_early
    page = [await register_row(session, row, now=now) for row in found]
    # Continue after the last row read, so a search resumes where its scan stopped.
    next_after = cursor if more and cursor is not None else None
    return Register(page, next_after, scanned_out=more and len(found) < PAGE_SIZE)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One ledger record of the system timeline."""

    sequence: int
    event_id: str
    event_type: str
    label: str
    version: str | None
    actor: str
    time: datetime
    summary: str


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """An incident of the system and how far it was escalated."""

    incident_id: str
    status: str
    severity: str
    escalation_level: int | None
    escalated_to: str | None


@dataclass(frozen=True, slots=True)
class NotificationRow:
    """A notification the monitoring router settled for the system: who was told, and how."""

    event_id: str
    time: datetime
    delivered: bool
    route: str
    receiver: str
    channel: str
    attempts: int
    incident_id: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class WaiverRow:
    """A waiver with its status and time left at `now`."""

    waiver: WaiverView
    effective_status: str
    remaining: str
    urgent: bool


@dataclass
class SystemPage:
    """Everything the system page shows."""

    row: service.SystemRow
    versions: list[str]
    version: str | None
    decision: TierAssigned | None
    controls: list[ControlStatus] = field(default_factory=list)
    pending_changes: list[PendingChange] = field(default_factory=list)
    pending_waivers: list[Waiver] = field(default_factory=list)
    submitters: tuple[str, ...] = ()
    timeline: list[TimelineEntry] = field(default_factory=list)
    waivers: list[WaiverRow] = field(default_factory=list)
    incidents: list[IncidentRow] = field(default_factory=list)
    notifications: list[NotificationRow] = field(default_factory=list)
    release_known: bool = True

    @property
    def timeline_ids(self) -> set[str]:
        """Event ids present in the timeline (evidence links point at them)."""
        return {entry.event_id for entry in self.timeline}


def label_of(event_type: str) -> str:
    """`io.aigov.approval.granted.v1` -> `approval granted`."""
    core = event_type.removeprefix("io.aigov.").rsplit(".v", 1)[0]
    return core.replace(".", " ").replace("_", " ")


def _summary(event_type: str, payload: Any) -> str:
    """A one-line account of a record's payload (what a person scans a timeline for)."""
    data: dict[str, Any] = payload if isinstance(payload, dict) else {}
    if event_type.endswith("gate.decided.v1"):
        missing = data.get("missing_controls") or []
        verdict = "allowed" if data.get("allowed") else "denied"
        return f"{verdict}; {len(missing)} missing control(s)"
    if event_type.endswith("evaluation.completed.v1"):
        metrics = data.get("metrics") or []
        shown = ", ".join(
            f"{m.get('name')}={m.get('value')}" for m in metrics[:4] if isinstance(m, dict)
        )
        return f"suite {data.get('suite', '?')}: {shown}"
    if event_type.endswith("artifact.submitted.v1"):
        return f"{data.get('kind', '?')} artifact"
    if event_type.endswith("tier.assigned.v1"):
        return f"tier {data.get('tier', '?')}"
    if ".approval." in event_type:
        scope = data.get("scope") or "release"
        return f"role {data.get('role', 'approver')}, scope {scope}: {data.get('rationale', '')}"[
            :300
        ]
    if ".waiver." in event_type:
        return f"waiver {data.get('waiver_id', '?')}"
    if event_type.endswith("monitoring.probe.completed.v1"):
        return f"probe {data.get('probe', '?')}: {'ok' if data.get('ok') else 'failed'}"
    if event_type.endswith("material_change.detected.v1"):
        return str(data.get("reason", ""))[:300]
    return ""


def remaining(expires_at: datetime, now: datetime) -> str:
    """Time until `expires_at` in words ("3 days 4 hours", "expired 2 days ago")."""
    delta = expires_at - now
    past = delta.total_seconds() <= 0
    seconds = int(abs(delta.total_seconds()))
    days, hours = seconds // 86_400, (seconds % 86_400) // 3_600
    minutes = (seconds % 3_600) // 60
    if days:
        text = f"{days} day{'s' if days != 1 else ''} {hours} h"
    elif hours:
        text = f"{hours} h {minutes} min"
    else:
        text = f"{minutes} min"
    return f"expired {text} ago" if past else f"{text} left"


def waiver_row(w: WaiverView, *, now: datetime) -> WaiverRow:
    """A waiver with its effective status (expired by time) and countdown."""
    effective = "expired" if w.status == "granted" and w.expires_at <= now else w.status
    urgent = effective == "granted" and w.expires_at - now <= EXPIRING_WITHIN
    return WaiverRow(w, effective, remaining(w.expires_at, now), urgent)


async def releases_of(session: AsyncSession, system_id: str) -> list[str]:
    """The system's release versions, newest first (bounded)."""
    rows = await session.scalars(
        select(RELEASES.c.version)
        .where(RELEASES.c.system_id == system_id)
        .order_by(RELEASES.c.first_seen_at.desc(), RELEASES.c.version.desc())
        .limit(RELEASES_SHOWN)
    )
    return list(rows.all())


async def timeline(session: AsyncSession, system_id: str) -> list[TimelineEntry]:
    """The system's newest evidence, decisions and changes, newest first (bounded)."""
    rows = await session.execute(
        select(
            LEDGER.c.sequence,
            LEDGER.c.event_id,
            LEDGER.c.event_type,
            LEDGER.c.version,
            LEDGER.c.actor,
            LEDGER.c.time,
            LEDGER.c.payload,
        )
        .where(LEDGER.c.system_id == system_id, LEDGER.c.event_type.in_(TIMELINE_TYPES))
        .order_by(LEDGER.c.sequence.desc())
        .limit(TIMELINE)
    )
    return [
        TimelineEntry(
            sequence=row.sequence,
            event_id=row.event_id,
            event_type=row.event_type,
            label=label_of(row.event_type),
            version=row.version,
            actor=row.actor,
            time=row.time,
            summary=_summary(row.event_type, row.payload),
        )
        for row in rows
    ]


async def incidents(session: AsyncSession, system_id: str) -> list[IncidentRow]:
    """The system's incidents (open ones first) with their latest escalation from the ledger."""
    open_first = case((INCIDENTS.c.status == "resolved", 1), else_=0)
    found = list(
        (
            await session.scalars(
                select(IncidentView)
                .where(INCIDENTS.c.system_id == system_id)
                .order_by(open_first, INCIDENTS.c.incident_id.desc())
                .limit(INCIDENTS_SHOWN)
            )
        ).all()
    )
    escalations = await session.execute(
        select(LEDGER.c.payload)
        .where(
            LEDGER.c.system_id == system_id,
            LEDGER.c.event_type == IncidentEscalated.event_type,
        )
        .order_by(LEDGER.c.sequence.desc())
        .limit(500)
    )
    latest: dict[str, dict[str, Any]] = {}
    for (payload,) in escalations:
        if isinstance(payload, dict):
            latest.setdefault(str(payload.get("incident_id")), payload)
    rows: list[IncidentRow] = []
    for incident in found:
        step = latest.get(incident.incident_id)
        level = step.get("level") if step else None
        rows.append(
            IncidentRow(
                incident.incident_id,
                incident.status,
                incident.severity,
                level if isinstance(level, int) else None,
                str(step.get("to")) if step else None,
            )
        )
    return rows


async def system_page(
    session: AsyncSession, system_id: str, *, version: str | None, now: datetime
) -> SystemPage | None:
    """The system page's data for `version` (default: the current release), or None if unknown."""
    row = await service.get_system(session, system_id)
    if row is None:
        return None
    versions = await releases_of(session, system_id)
    chosen = version or current_version(row)
    page = SystemPage(row=row, versions=versions, version=chosen, decision=None)
    page.timeline = await timeline(session, system_id)
    waivers, _ = await service.list_waivers(
        session,
        system_id=system_id,
        status=None,
        expiring_within=None,
        now=now,
        limit=WAIVERS_SHOWN,
        after=None,
    )
    page.waivers = [waiver_row(w, now=now) for w in waivers]
    page.incidents = await incidents(session, system_id)
    page.notifications = await notifications(session, system_id)
    if chosen is None:
        return page
    page.release_known = (await service.get_release(session, system_id, chosen)) is not None
    assessment = await service.assess_release(session, system_id, chosen, now=now)
    page.decision = assessment.decision
    if assessment.status is not None:
        page.controls = list(assessment.status.controls)
        page.pending_changes = list(assessment.status.pending_changes)
    page.pending_waivers = pending_waivers(assessment.waivers, now=now)
    page.submitters = assessment.submitters
    return page


async def notifications(session: AsyncSession, system_id: str) -> list[NotificationRow]:
    """The system's latest settled notifications from the ledger, newest first (bounded).

    The ledger holds one record per notification (`notification.sent`, or one
    `notification.failed` after the router's last attempt), so this is the delivery outcome,
    not every attempt; the message text of an inbox delivery stays in the router's inbox.
    """
    rows = await session.execute(
        select(LEDGER.c.event_id, LEDGER.c.event_type, LEDGER.c.time, LEDGER.c.payload)
        .where(
            LEDGER.c.system_id == system_id,
            LEDGER.c.event_type.in_((NotificationSent.event_type, NotificationFailed.event_type)),
        )
        .order_by(LEDGER.c.sequence.desc())
        .limit(NOTIFICATIONS_SHOWN)
    )
    found: list[NotificationRow] = []
    for row in rows:
        data: dict[str, Any] = row.payload if isinstance(row.payload, dict) else {}
        failed = row.event_type == NotificationFailed.event_type
        attempts = data.get("attempt")
        incident = data.get("incident_id")
        found.append(
            NotificationRow(
                event_id=row.event_id,
                time=row.time,
                delivered=not failed,
                route=str(data.get("route", "?")),
                receiver=str(data.get("receiver", "?")),
                channel=str(data.get("channel", "?")),
                attempts=attempts if isinstance(attempts, int) else 1,
                incident_id=str(incident) if incident is not None else None,
                error=str(data.get("error", ""))[:300] if failed else None,
            )
        )
    return found


def needs_approval(decision: TierAssigned, missing: Sequence[ControlStatus]) -> list[str]:
    """The missing controls whose evidence includes an approval."""
    approval_controls = {
        c.control_id
        for c in decision.required_controls
        if any(spec.kind == EvidenceKind.APPROVAL for spec in c.evidence)
    }
    return [c.control_id for c in missing if c.control_id in approval_controls]


@dataclass(frozen=True, slots=True)
class WaitingRelease:
    """A release in the approval queue and why it is there."""

    system: SystemView
    version: str
    approvals: list[str]
    waiver_requests: list[Waiver]
    changes: list[PendingChange]


@dataclass(frozen=True, slots=True)
class Queues:
    """The work queues."""

    expiring: list[WaiverRow]
    waiting: list[WaitingRelease]
    truncated: bool
    """True when more than QUEUE_SCAN systems exist and only the first were assessed."""


async def queues(session: AsyncSession, *, now: datetime) -> Queues:
    """Waivers expiring within 14 days, and releases waiting for approval (QUEUE_DEFINITION)."""
    expiring, _ = await service.list_waivers(
        session,
        system_id=None,
        status=None,
        expiring_within=EXPIRING_WITHIN,
        now=now,
        limit=WAIVERS_SHOWN,
        after=None,
    )
    rows, last = await service.list_systems(
        session, tier=None, team=None, status="active", gate=None, limit=QUEUE_SCAN, after=None
    )
    waiting: list[WaitingRelease] = []
    for row in rows:
        version = current_version(row)
        if version is None:
            continue
        assessment = await service.assess_release(session, row.system.system_id, version, now=now)
        if assessment.decision is None or assessment.status is None:
            continue
        missing = [c for c in assessment.status.controls if c.state == "missing"]
        approvals = needs_approval(assessment.decision, missing)
        requests = pending_waivers(assessment.waivers, now=now)
        changes = list(assessment.status.pending_changes)
        if approvals or requests or changes:
            waiting.append(WaitingRelease(row.system, version, approvals, requests, changes))
    return Queues([waiver_row(w, now=now) for w in expiring], waiting, truncated=last is not None)
