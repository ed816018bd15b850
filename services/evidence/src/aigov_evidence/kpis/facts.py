"""What the governance KPIs read, loaded for one report into plain frozen dataclasses.

Three statements per report, whatever the number of systems: the systems in scope (the
inventory projection, for the team filter), the ledger records of the types the figures use
(recorded before the report's `end`, in ledger order), and the submitters of every release
(grouped in the database). Every time here is the ledger's `recorded_at` (evidence's own
clock), never the `time` a publisher claimed; order within a system is the ledger `sequence`.

Records of types that only mark a moment (`system.registered`, `system.retired`) are loaded
without their payload (a manifest is large and no figure reads it). Monitoring probes and SLA
breaches are loaded only from the monitoring router's actor: nobody else's count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Select, and_, case, func, null, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from aigov_events.actors import MONITORING_ROUTER
from aigov_events.catalog import (
    ApprovalDenied,
    ApprovalGranted,
    ApprovalRevoked,
    ArtifactSubmitted,
    DeploymentCompleted,
    EvaluationCompleted,
    EventPayload,
    GateDecided,
    IncidentAcknowledged,
    IncidentContained,
    IncidentReported,
    IncidentResolved,
    LineageRecorded,
    MaterialChangeDetected,
    MonitoringProbeCompleted,
    SlaBreached,
    SystemRegistered,
    SystemRetired,
    TierAssigned,
    WaiverExpired,
    WaiverGranted,
    WaiverRejected,
    WaiverRequested,
)
from aigov_evidence.models import LEDGER, SYSTEMS
from aigov_evidence.service import SUBMITTING_TYPES, recorded_payload

#: Types whose payload some figure reads.
PAYLOAD_TYPES: Final = tuple(
    model.event_type
    for model in (
        TierAssigned,
        GateDecided,
        DeploymentCompleted,
        ArtifactSubmitted,
        EvaluationCompleted,
        ApprovalGranted,
        ApprovalDenied,
        ApprovalRevoked,
        MaterialChangeDetected,
        LineageRecorded,
        WaiverRequested,
        WaiverGranted,
        WaiverRejected,
        WaiverExpired,
        IncidentReported,
        IncidentAcknowledged,
        IncidentContained,
        IncidentResolved,
    )
)
#: Types trusted only from the monitoring router (probes verify routes, breaches time SLAs).
ROUTER_TYPES: Final = (MonitoringProbeCompleted.event_type, SlaBreached.event_type)
#: Types whose moment matters, not their payload.
MARKER_TYPES: Final = (SystemRegistered.event_type, SystemRetired.event_type)


@dataclass(frozen=True, slots=True)
class Record:
    """One ledger record a figure reads."""

    system_id: str
    sequence: int
    """Position in the system's chain: the only order the figures use."""
    event_id: str
    event_type: str
    version: str | None
    actor: str
    source: str
    recorded_at: datetime
    """When evidence recorded it (its own clock): the only time the figures use."""
    payload: EventPayload | None
    """The validated payload (None for marker types, whose payload no figure reads)."""


@dataclass(frozen=True, slots=True)
class SystemFacts:
    """One system in scope: its team, its records (ledger order) and its releases' submitters."""

    system_id: str
    team: str | None
    records: tuple[Record, ...]
    submitters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Release version -> every principal that submitted (not decided on) it, first one first."""


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything one report is computed from: the window and the systems in scope."""

    start: datetime
    end: datetime
    systems: tuple[SystemFacts, ...]


def _scope(team: str | None, system: str | None) -> Select[Any]:
    query = select(SYSTEMS.c.system_id, SYSTEMS.c.team)
    if team is not None:
        query = query.where(SYSTEMS.c.team == team)
    if system is not None:
        query = query.where(SYSTEMS.c.system_id == system)
    return query.order_by(SYSTEMS.c.system_id)


def _records(end: datetime, system_ids: list[str] | None) -> Select[Any]:
    wanted = or_(
        LEDGER.c.event_type.in_(PAYLOAD_TYPES),
        and_(LEDGER.c.event_type.in_(ROUTER_TYPES), LEDGER.c.actor == MONITORING_ROUTER),
        LEDGER.c.event_type.in_(MARKER_TYPES),
    )
    query = select(
        LEDGER.c.id,
        LEDGER.c.event_hash,
        LEDGER.c.system_id,
        LEDGER.c.sequence,
        LEDGER.c.event_id,
        LEDGER.c.event_type,
        LEDGER.c.version,
        LEDGER.c.actor,
        LEDGER.c.source,
        LEDGER.c.recorded_at,
        # A manifest is the largest payload and no figure reads it.
        case((LEDGER.c.event_type.in_(MARKER_TYPES), null()), else_=LEDGER.c.payload).label(
            "payload"
        ),
    ).where(wanted, LEDGER.c.recorded_at < end)
    if system_ids is not None:
        query = query.where(LEDGER.c.system_id.in_(system_ids))
    return query.order_by(LEDGER.c.system_id, LEDGER.c.sequence)


def _submitters(end: datetime, system_ids: list[str] | None) -> Select[Any]:
    query = (
        select(LEDGER.c.system_id, LEDGER.c.version, LEDGER.c.actor)
        .where(
            LEDGER.c.event_type.in_(SUBMITTING_TYPES),
            LEDGER.c.version.is_not(None),
            LEDGER.c.recorded_at < end,
        )
        .group_by(LEDGER.c.system_id, LEDGER.c.version, LEDGER.c.actor)
        .order_by(func.min(LEDGER.c.sequence))
    )
    if system_ids is not None:
        query = query.where(LEDGER.c.system_id.in_(system_ids))
    return query


def _payload(row: Any) -> EventPayload | None:
    if row.event_type in MARKER_TYPES:
        return None
    return recorded_payload(row)


async def load_facts(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    team: str | None = None,
    system: str | None = None,
) -> Facts:
    """The facts of a report over [start, end): systems in scope and their records before `end`.

    Systems are the inventory's (any status; figures decide who is active at `end`), narrowed to
    `team` (the inventory's current team) and `system` when given.
    """
    scope = (await session.execute(_scope(team, system))).all()
    teams = {row.system_id: row.team for row in scope}
    # Without a filter every system is in scope: no need to list them in the statements.
    ids = None if team is None and system is None else list(teams)
    if ids == []:
        return Facts(start=start, end=end, systems=())
    records: dict[str, list[Record]] = defaultdict(list)
    for row in await session.execute(_records(end, ids)):
        if row.system_id not in teams:
            continue  # a ledger chain the inventory does not know (no projected event yet)
        records[row.system_id].append(
            Record(
                system_id=row.system_id,
                sequence=row.sequence,
                event_id=row.event_id,
                event_type=row.event_type,
                version=row.version,
                actor=row.actor,
                source=row.source,
                recorded_at=row.recorded_at,
                payload=_payload(row),
            )
        )
    submitters: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in await session.execute(_submitters(end, ids)):
        submitters[row.system_id][row.version].append(row.actor)
    return Facts(
        start=start,
        end=end,
        systems=tuple(
            SystemFacts(
                system_id=system_id,
                team=team_of,
                records=tuple(records.get(system_id, ())),
                submitters={v: tuple(a) for v, a in submitters.get(system_id, {}).items()},
            )
            for system_id, team_of in teams.items()
        ),
    )
