"""Everything evidence knows about one release, read once, for the document builders.

A dossier is read from the inventory (`service.get_system`), the release projection
(`service.get_release`), the control assessment (`service.assess_release`: the latest tier
decision, every required control's status, submitters, waivers) and the ledger itself: the
release's records (`service.list_evidence`) and the system's latest operational records
(manifest revisions, tier decisions, material changes, incidents, probes, notifications,
alerts). The ledger's order (`sequence`) decides what is "latest", as in the gate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aigov_events.actors import MONITORING_ROUTER
from aigov_events.catalog import (
    AlertRaised,
    ApprovalDenied,
    ApprovalGranted,
    ApprovalRevoked,
    ArtifactSubmitted,
    DeploymentCompleted,
    DeploymentRequested,
    DeploymentRolledBack,
    EvaluationCompleted,
    EventPayload,
    IncidentAcknowledged,
    IncidentContained,
    IncidentReported,
    IncidentResolved,
    LineageRecorded,
    MaterialChangeDetected,
    ModelVersionRegistered,
    MonitoringProbeCompleted,
    NotificationFailed,
    NotificationSent,
    SystemRegistered,
    SystemUpdated,
    TierAssigned,
    WaiverExpired,
    WaiverGranted,
    WaiverRejected,
    WaiverRequested,
)
from aigov_evidence import service
from aigov_evidence.controls import ControlStatus, PendingChange
from aigov_evidence.documents import ReleaseNotFound
from aigov_evidence.models import LEDGER, ReleaseView, SystemView

P = TypeVar("P", bound=EventPayload)

#: Release records read (in pages of `service.MAX_PAGE`); a release has far fewer.
MAX_RELEASE_RECORDS: Final = 5_000
#: The system's latest operational records of each group read (newest first, then reordered).
MAX_SYSTEM_RECORDS: Final = 500

_RELEASE_TYPES: Final = tuple(
    model.event_type
    for model in (
        EvaluationCompleted,
        ArtifactSubmitted,
        ApprovalGranted,
        ApprovalDenied,
        ApprovalRevoked,
        WaiverRequested,
        WaiverGranted,
        WaiverRejected,
        WaiverExpired,
        DeploymentRequested,
        DeploymentCompleted,
        DeploymentRolledBack,
        ModelVersionRegistered,
    )
)
_LIFECYCLE_TYPES: Final = tuple(
    model.event_type
    for model in (
        SystemRegistered,
        SystemUpdated,
        TierAssigned,
        MaterialChangeDetected,
        LineageRecorded,
    )
)
_INCIDENT_TYPES: Final = tuple(
    model.event_type
    for model in (IncidentReported, IncidentAcknowledged, IncidentContained, IncidentResolved)
)
_MONITORING_TYPES: Final = tuple(
    model.event_type
    for model in (MonitoringProbeCompleted, NotificationSent, NotificationFailed, AlertRaised)
)


@dataclass(frozen=True, slots=True)
class Record(Generic[P]):
    """One ledger record with its validated payload."""

    event_id: str
    sequence: int
    time: datetime
    """The time its publisher claimed (shown, never used for ordering)."""
    actor: str
    payload: P


@dataclass(frozen=True, slots=True)
class WaiverFacts:
    """A waiver of the release as the ledger tells it, with its status at the dossier's time."""

    waiver_id: str
    controls: tuple[str, ...]
    justification: str
    compensating_controls: tuple[str, ...]
    expires_at: datetime
    requested_by: str
    status: str
    """`requested`, `granted`, `rejected` or `expired` (a granted waiver past its expiry)."""
    decided_by: str | None
    rationale: str | None
    """The decider's rationale (grant or rejection)."""


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """An incident of the system and how far it got."""

    incident_id: str
    version: str | None
    severity: str
    category: str
    summary: str
    serious: bool
    occurred_at: datetime
    status: str
    """`reported`, `acknowledged`, `contained` or `resolved` (the furthest recorded)."""
    resolution: str | None


@dataclass(frozen=True, slots=True)
class RouteFacts:
    """Where the monitoring router delivered the system's alerts, and how the last try went."""

    route: str
    receiver: str
    channel: str
    delivered: bool
    error: str | None
    time: datetime


@dataclass(frozen=True, slots=True)
class Dossier:
    """Everything known about one release of one AI system, at `generated_at`."""

    system_id: str
    version: str
    generated_at: datetime
    system: SystemView
    release: ReleaseView
    open_incidents: int
    manifest: Record[SystemRegistered] | Record[SystemUpdated] | None
    """The latest manifest revision the ledger holds."""
    revisions: tuple[Record[SystemRegistered] | Record[SystemUpdated], ...]
    decision: TierAssigned | None
    """The latest tier decision (what the gate uses)."""
    tier_event_id: str | None
    tier_history: tuple[Record[TierAssigned], ...]
    controls: tuple[ControlStatus, ...]
    pending_changes: tuple[PendingChange, ...]
    material_changes: tuple[Record[MaterialChangeDetected], ...]
    submitters: tuple[str, ...]
    evaluations: tuple[Record[EvaluationCompleted], ...]
    artifacts: tuple[Record[ArtifactSubmitted], ...]
    approvals: tuple[
        Record[ApprovalGranted] | Record[ApprovalDenied] | Record[ApprovalRevoked], ...
    ]
    waivers: tuple[WaiverFacts, ...]
    deployments: tuple[
        Record[DeploymentRequested] | Record[DeploymentCompleted] | Record[DeploymentRolledBack],
        ...,
    ]
    model_versions: tuple[Record[ModelVersionRegistered], ...]
    lineage: tuple[Record[LineageRecorded], ...]
    incidents: tuple[IncidentFacts, ...]
    probes: tuple[Record[MonitoringProbeCompleted], ...]
    """The latest result of each probe, from the monitoring router only (as the gate trusts)."""
    routes: tuple[RouteFacts, ...]
    alerts: tuple[Record[AlertRaised], ...]
    """The system's latest alerts, newest last."""

    def latest_artifact(self, kind: str) -> Record[ArtifactSubmitted] | None:
        """The release's latest artifact of `kind` (the one its controls check), if any."""
        matching = [a for a in self.artifacts if a.payload.kind == kind]
        return matching[-1] if matching else None

    @property
    def tier(self) -> str | None:
        """The tier of the latest decision."""
        return self.decision.tier.value if self.decision is not None else None


def _record(row: Any) -> Record[Any]:
    return Record(
        event_id=row.event_id,
        sequence=row.sequence,
        time=row.time,
        actor=row.actor,
        payload=service.recorded_payload(row),
    )


async def _release_records(session: AsyncSession, system_id: str, version: str) -> list[Any]:
    rows: list[Any] = []
    after: int | None = None
    while len(rows) < MAX_RELEASE_RECORDS:
        page, after = await service.list_evidence(
            session,
            system_id,
            types=_RELEASE_TYPES,
            version=version,
            since=None,
            until=None,
            limit=service.MAX_PAGE,
            after=after,
        )
        rows.extend(page)
        if after is None:
            break
    return [_record(row) for row in rows]


async def _latest_records(
    session: AsyncSession, system_id: str, types: Sequence[str]
) -> list[Record[Any]]:
    """The system's latest records of `types` (any release), in ledger order."""
    rows = await session.execute(
        select(LEDGER)
        .where(LEDGER.c.system_id == system_id, LEDGER.c.event_type.in_(list(types)))
        .order_by(LEDGER.c.sequence.desc())
        .limit(MAX_SYSTEM_RECORDS)
    )
    return [_record(row) for row in reversed(rows.all())]


def _of(records: Sequence[Record[Any]], *models: type[EventPayload]) -> tuple[Record[Any], ...]:
    return tuple(r for r in records if isinstance(r.payload, models))


def _waivers(records: Sequence[Record[Any]], statuses: dict[str, str]) -> tuple[WaiverFacts, ...]:
    decisions = {
        r.payload.waiver_id: r
        for r in records
        if isinstance(r.payload, WaiverGranted | WaiverRejected)
    }
    waivers = []
    for request in _of(records, WaiverRequested):
        payload: WaiverRequested = request.payload
        decided = decisions.get(payload.waiver_id)
        waivers.append(
            WaiverFacts(
                waiver_id=payload.waiver_id,
                controls=tuple(payload.controls),
                justification=payload.justification,
                compensating_controls=tuple(payload.compensating_controls),
                expires_at=payload.expires_at,
                requested_by=request.actor,
                status=statuses.get(payload.waiver_id, "requested"),
                decided_by=decided.actor if decided is not None else None,
                rationale=decided.payload.rationale if decided is not None else None,
            )
        )
    return tuple(waivers)


_PROGRESS: Final[dict[type[EventPayload], str]] = {
    IncidentAcknowledged: "acknowledged",
    IncidentContained: "contained",
    IncidentResolved: "resolved",
}
_ORDER: Final = ("reported", "acknowledged", "contained", "resolved")


def _incidents(records: Sequence[Record[Any]]) -> tuple[IncidentFacts, ...]:
    progress: dict[str, str] = {}
    resolutions: dict[str, str] = {}
    for record in records:
        payload = record.payload
        status = _PROGRESS.get(type(payload))
        if status is None:
            continue
        incident = payload.incident_id
        if _ORDER.index(status) > _ORDER.index(progress.get(incident, "reported")):
            progress[incident] = status
        if isinstance(payload, IncidentResolved):
            resolutions[incident] = payload.resolution
    return tuple(
        IncidentFacts(
            incident_id=r.payload.incident_id,
            version=r.payload.version,
            severity=r.payload.severity.value,
            category=r.payload.category,
            summary=r.payload.summary,
            serious=r.payload.serious,
            occurred_at=r.payload.occurred_at,
            status=progress.get(r.payload.incident_id, "reported"),
            resolution=resolutions.get(r.payload.incident_id),
        )
        for r in _of(records, IncidentReported)
    )


def _routes(records: Sequence[Record[Any]]) -> tuple[RouteFacts, ...]:
    latest: dict[tuple[str, str], RouteFacts] = {}
    for record in _of(records, NotificationSent, NotificationFailed):
        if record.actor != MONITORING_ROUTER:
            continue  # only the router's own records say what it delivered
        payload = record.payload
        failed = isinstance(payload, NotificationFailed)
        latest[(payload.route, payload.receiver)] = RouteFacts(
            route=payload.route,
            receiver=payload.receiver,
            channel=payload.channel.value,
            delivered=not failed,
            error=payload.error if isinstance(payload, NotificationFailed) else None,
            time=record.time,
        )
    return tuple(latest[key] for key in sorted(latest))


def _probes(records: Sequence[Record[Any]]) -> tuple[Record[MonitoringProbeCompleted], ...]:
    latest: dict[str, Record[MonitoringProbeCompleted]] = {}
    for record in _of(records, MonitoringProbeCompleted):
        if record.actor == MONITORING_ROUTER:
            latest[record.payload.probe] = record
    return tuple(latest[name] for name in sorted(latest))


async def load_dossier(
    session: AsyncSession, system_id: str, version: str, *, now: datetime
) -> Dossier:
    """What evidence knows about (system, version) at `now`; ReleaseNotFound if it knows neither."""
    row = await service.get_system(session, system_id)
    if row is None:
        raise ReleaseNotFound(f"no AI system {system_id!r} in the inventory")
    release = await service.get_release(session, system_id, version)
    if release is None:
        raise ReleaseNotFound(f"no event names release {version!r} of {system_id!r}")
    assessment = await service.assess_release(session, system_id, version, now=now)
    status = assessment.status
    records = await _release_records(session, system_id, version)
    lifecycle = await _latest_records(session, system_id, _LIFECYCLE_TYPES)
    incidents = await _latest_records(session, system_id, _INCIDENT_TYPES)
    monitoring = await _latest_records(session, system_id, _MONITORING_TYPES)
    statuses = {
        w.waiver_id: "expired" if w.status == "granted" and w.expires_at <= now else w.status
        for w in assessment.waivers
    }
    revisions = _of(lifecycle, SystemRegistered, SystemUpdated)
    return Dossier(
        system_id=system_id,
        version=version,
        generated_at=now,
        system=row.system,
        release=release,
        open_incidents=row.open_incidents,
        manifest=max(revisions, key=lambda r: r.payload.revision) if revisions else None,
        revisions=revisions,
        decision=assessment.decision,
        tier_event_id=assessment.tier_event_id,
        tier_history=_of(lifecycle, TierAssigned),
        controls=tuple(status.controls) if status is not None else (),
        pending_changes=tuple(status.pending_changes) if status is not None else (),
        material_changes=_of(lifecycle, MaterialChangeDetected),
        submitters=assessment.submitters,
        evaluations=_of(records, EvaluationCompleted),
        artifacts=_of(records, ArtifactSubmitted),
        approvals=_of(records, ApprovalGranted, ApprovalDenied, ApprovalRevoked),
        waivers=_waivers(records, statuses),
        deployments=_of(records, DeploymentRequested, DeploymentCompleted, DeploymentRolledBack),
        model_versions=_of(records, ModelVersionRegistered),
        # Lineage of this release, or of no release in particular (as the lineage control reads).
        lineage=tuple(
            r for r in _of(lifecycle, LineageRecorded) if r.payload.version in (None, version)
        ),
        incidents=_incidents(incidents),
        probes=_probes(monitoring),
        routes=_routes(monitoring),
        alerts=_of(monitoring, AlertRaised)[-20:],
    )
