"""Projections: how recorded events change inventory, releases, waivers and incidents, per batch.

They run in the same transaction as the ledger append, for the events that were new to the
ledger, and again (in ledger order) when projections are rebuilt; so they only use what the
event says, never the clock. Control status is not stored: it is computed on read from the
ledger, because waivers expire by time.

Set-based, with the result of one statement per event in ledger order: each event type has a
`Projection` (the row it touches, one statement for every event of its kind, the parameters
of one event). A batch is cut into steps: an event goes into the step after the last one that
touched its row with another statement. Within a step a row is touched by one statement only,
so the statements of a step are independent, and each runs once for all its events (one
prepared statement, executed for each parameter set in order). A batch of thousands of events
takes as many statements as its rows have changes of kind (a handful), and replaying the
ledger in batches of any size gives the same projections.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC
from functools import cache
from typing import Any, Final, Generic, TypeVar

from sqlalchemy import Executable, and_, bindparam, case, func, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from aigov_events.catalog import (
    DECISION_TYPES,
    DeploymentCompleted,
    DeploymentRequested,
    DeploymentRolledBack,
    EventPayload,
    GateDecided,
    IncidentAcknowledged,
    IncidentContained,
    IncidentReported,
    IncidentResolved,
    SystemRegistered,
    SystemRetired,
    SystemUpdated,
    TierAssigned,
    WaiverExpired,
    WaiverGranted,
    WaiverRejected,
    WaiverRequested,
)
from aigov_evidence.ledger import LedgerEntry
from aigov_evidence.models import INCIDENTS, RELEASES, SYSTEMS, WAIVERS
from aigov_runtime.database import dialect_name, excluded, insert_ignore, upsert

P = TypeVar("P", bound=EventPayload)

#: The projection row an event changes: (table, key...).
RowKey = tuple[str, ...]
#: Builds a kind's statement for a dialect ("postgresql" or "sqlite"); cached per dialect.
StatementFor = Callable[[str], Executable]


@dataclass(frozen=True, slots=True)
class Projection(Generic[P]):
    """How events of one payload type change their projection row."""

    statement: StatementFor
    """The statement every event of this kind runs; kinds sharing it share a step."""
    row: Callable[[LedgerEntry, P], RowKey]
    params: Callable[[LedgerEntry, P], dict[str, Any] | None]
    """The statement's parameters for one event; None when the event changes nothing."""


# --- inventory (systems) -------------------------------------------------------------------

_NO_MANIFEST: Final[dict[str, Any]] = {
    "deployment_surfaces": [],
    "regions": [],
    "data_classes": [],
    "third_party_models": [],
}


def _system_row(entry: LedgerEntry, payload: EventPayload) -> RowKey:
    return ("systems", payload.system_id)


@cache
def _revision_statement(dialect: str) -> Executable:
    proposed = excluded(SYSTEMS)
    changes: dict[str, Any] = {
        name: proposed[name]
        for name in (
            "name",
            "owner",
            "team",
            "oncall",
            "manifest_revision",
            "manifest_sha256",
            "deployment_surfaces",
            "regions",
            "data_classes",
            "third_party_models",
            "updated_at",
        )
    }
    changes["lifecycle_status"] = case(
        (SYSTEMS.c.lifecycle_status == "retired", "retired"), else_="active"
    )
    changes["registered_at"] = func.coalesce(SYSTEMS.c.registered_at, proposed.registered_at)
    return upsert(
        SYSTEMS,
        dialect,
        keys=["system_id"],
        update=changes,
        # A revision may be replayed after a newer one: never go back to an older manifest.
        where=or_(
            SYSTEMS.c.manifest_revision.is_(None),
            SYSTEMS.c.manifest_revision <= proposed.manifest_revision,
        ),
    )


def _revision(entry: LedgerEntry, payload: SystemRegistered | SystemUpdated) -> dict[str, Any]:
    """system.registered / system.updated: the inventory takes the newest manifest revision."""
    manifest = payload.manifest
    spec = manifest.spec
    return {
        "system_id": payload.system_id,
        "lifecycle_status": "active",
        "name": manifest.metadata.name,
        "owner": manifest.metadata.owner,
        "team": manifest.metadata.team,
        "oncall": manifest.metadata.oncall,
        "manifest_revision": payload.revision,
        "manifest_sha256": payload.manifest_sha256,
        "deployment_surfaces": list(spec.deployment.surfaces),
        "regions": list(spec.deployment.regions),
        "data_classes": list(spec.data.classes),
        "third_party_models": [m.model_dump(mode="json") for m in spec.model.third_party],
        "registered_at": entry.time,
        "updated_at": entry.time,
    }


@cache
def _retired_statement(dialect: str) -> Executable:
    proposed = excluded(SYSTEMS)
    return upsert(
        SYSTEMS,
        dialect,
        keys=["system_id"],
        update={"lifecycle_status": "retired", "updated_at": proposed.updated_at},
    )


def _retired(entry: LedgerEntry, payload: SystemRetired) -> dict[str, Any]:
    """system.retired: the system leaves service; its history stays."""
    return {
        "system_id": payload.system_id,
        "lifecycle_status": "retired",
        **_NO_MANIFEST,
        "updated_at": entry.time,
    }


_TIER_COLUMNS: Final = (
    "tier",
    "policy_name",
    "policy_version",
    "tier_event_id",
    "tier_decision",
    "tier_assigned_at",
    "updated_at",
)


@cache
def _tier_statement(dialect: str) -> Executable:
    proposed = excluded(SYSTEMS)
    return upsert(
        SYSTEMS, dialect, keys=["system_id"], update={c: proposed[c] for c in _TIER_COLUMNS}
    )


def _tier(entry: LedgerEntry, payload: TierAssigned) -> dict[str, Any]:
    """tier.assigned: the latest decision is the one the gate and control status use."""
    return {
        "system_id": payload.system_id,
        # Decisions and registrations travel on different topics: either may come first.
        "lifecycle_status": "unregistered",
        **_NO_MANIFEST,
        "tier": payload.tier.value,
        "policy_name": payload.policy.name,
        "policy_version": payload.policy.version,
        "tier_event_id": entry.event_id,
        "tier_decision": entry.payload,
        "tier_assigned_at": entry.time,
        "updated_at": entry.time,
    }


@cache
def _gate_statement(dialect: str) -> Executable:
    return (
        update(SYSTEMS)
        .where(SYSTEMS.c.system_id == bindparam("p_system_id"))
        .values(
            last_gate_decision=bindparam("p_decision"),
            last_gate_version=bindparam("p_version"),
            last_gate_event_id=bindparam("p_event_id"),
            last_gate_at=bindparam("p_at"),
        )
    )


def _gate(entry: LedgerEntry, payload: GateDecided) -> dict[str, Any]:
    """gate.decided: the inventory shows each system's last gate answer."""
    return {
        "p_system_id": payload.system_id,
        "p_decision": "allow" if payload.allowed else "deny",
        "p_version": payload.version,
        "p_event_id": entry.event_id,
        "p_at": entry.time,
    }


# --- incidents -----------------------------------------------------------------------------


@cache
def _incident_reported_statement(dialect: str) -> Executable:
    return insert_ignore(INCIDENTS, dialect)


def _incident_reported(entry: LedgerEntry, payload: IncidentReported) -> dict[str, Any]:
    """incident.reported: one more open incident."""
    return {
        "incident_id": payload.incident_id,
        "system_id": payload.system_id,
        "status": "reported",
        "severity": payload.severity.value,
    }


def _incident_progress(status: str) -> StatementFor:
    @cache
    def statement(dialect: str) -> Executable:
        # Move the incident on, never reopen it.
        return (
            update(INCIDENTS)
            .where(
                INCIDENTS.c.incident_id == bindparam("p_incident_id"),
                INCIDENTS.c.status != "resolved",
            )
            .values(status=status)
        )

    return statement


def _incident_row(
    entry: LedgerEntry,
    payload: IncidentReported | IncidentAcknowledged | IncidentContained | IncidentResolved,
) -> RowKey:
    return ("incidents", payload.incident_id)


def _incident_id(
    entry: LedgerEntry, payload: IncidentAcknowledged | IncidentContained | IncidentResolved
) -> dict[str, Any]:
    """incident.acknowledged / contained / resolved: which incident moves on."""
    return {"p_incident_id": payload.incident_id}


# --- waivers -------------------------------------------------------------------------------


@cache
def _waiver_requested_statement(dialect: str) -> Executable:
    return insert_ignore(WAIVERS, dialect)


def _waiver_requested(entry: LedgerEntry, payload: WaiverRequested) -> dict[str, Any]:
    """waiver.requested: a waiver awaiting its decision."""
    return {
        "waiver_id": payload.waiver_id,
        "system_id": payload.system_id,
        "version": payload.version,
        "controls": list(payload.controls),
        "justification": payload.justification,
        "compensating_controls": list(payload.compensating_controls),
        "expires_at": payload.expires_at.astimezone(UTC),
        "status": "requested",
        "requested_by": entry.actor,
        "requested_at": entry.time,
        "request_event_id": entry.event_id,
        "decided_by": None,
        "decided_at": None,
        "decision_event_id": None,
        "expired_at": None,
    }


def _waiver_decision(status: str) -> StatementFor:
    @cache
    def statement(dialect: str) -> Executable:
        # The first decision on a requested waiver stands.
        return (
            update(WAIVERS)
            .where(
                WAIVERS.c.waiver_id == bindparam("p_waiver_id"),
                WAIVERS.c.status == "requested",
            )
            .values(
                status=status,
                decided_by=bindparam("p_actor"),
                decided_at=bindparam("p_at"),
                decision_event_id=bindparam("p_event_id"),
            )
        )

    return statement


def _waiver_decided(entry: LedgerEntry, payload: WaiverGranted | WaiverRejected) -> dict[str, Any]:
    """waiver.granted / waiver.rejected: who decided, when, by which event."""
    return {
        "p_waiver_id": payload.waiver_id,
        "p_actor": entry.actor,
        "p_at": entry.time,
        "p_event_id": entry.event_id,
    }


@cache
def _waiver_expired_statement(dialect: str) -> Executable:
    # A granted waiver no longer covers its controls.
    return (
        update(WAIVERS)
        .where(WAIVERS.c.waiver_id == bindparam("p_waiver_id"), WAIVERS.c.status == "granted")
        .values(status="expired", expired_at=bindparam("p_at"))
    )


def _waiver_expired(entry: LedgerEntry, payload: WaiverExpired) -> dict[str, Any]:
    """waiver.expired: when the waiver stopped counting."""
    return {"p_waiver_id": payload.waiver_id, "p_at": payload.expired_at.astimezone(UTC)}


def _waiver_row(
    entry: LedgerEntry, payload: WaiverRequested | WaiverGranted | WaiverRejected | WaiverExpired
) -> RowKey:
    return ("waivers", payload.waiver_id)


# --- releases ------------------------------------------------------------------------------


@cache
def _deployment_statement(dialect: str) -> Executable:
    return (
        update(RELEASES)
        .where(
            and_(
                RELEASES.c.system_id == bindparam("p_system_id"),
                RELEASES.c.version == bindparam("p_version"),
            )
        )
        .values(deployment_status=bindparam("p_status"))
    )


def _deployment(
    entry: LedgerEntry, payload: DeploymentRequested | DeploymentCompleted | DeploymentRolledBack
) -> dict[str, Any] | None:
    """deployment.*: the release's last deployment state."""
    if entry.version is None:
        return None
    if isinstance(payload, DeploymentCompleted):
        status = payload.outcome.value
    elif isinstance(payload, DeploymentRolledBack):
        status = "rolled_back"
    else:
        status = "requested"
    return {"p_system_id": entry.system_id, "p_version": entry.version, "p_status": status}


def _release_row(entry: LedgerEntry, payload: EventPayload) -> RowKey:
    return ("releases", entry.system_id, entry.version or "")


_BY_PAYLOAD: Final[dict[type[EventPayload], Projection[Any]]] = {
    SystemRegistered: Projection(_revision_statement, _system_row, _revision),
    SystemUpdated: Projection(_revision_statement, _system_row, _revision),
    SystemRetired: Projection(_retired_statement, _system_row, _retired),
    TierAssigned: Projection(_tier_statement, _system_row, _tier),
    GateDecided: Projection(_gate_statement, _system_row, _gate),
    IncidentReported: Projection(_incident_reported_statement, _incident_row, _incident_reported),
    IncidentAcknowledged: Projection(
        _incident_progress("acknowledged"), _incident_row, _incident_id
    ),
    IncidentContained: Projection(_incident_progress("contained"), _incident_row, _incident_id),
    IncidentResolved: Projection(_incident_progress("resolved"), _incident_row, _incident_id),
    WaiverRequested: Projection(_waiver_requested_statement, _waiver_row, _waiver_requested),
    WaiverGranted: Projection(_waiver_decision("granted"), _waiver_row, _waiver_decided),
    WaiverRejected: Projection(_waiver_decision("rejected"), _waiver_row, _waiver_decided),
    WaiverExpired: Projection(_waiver_expired_statement, _waiver_row, _waiver_expired),
    DeploymentRequested: Projection(_deployment_statement, _release_row, _deployment),
    DeploymentCompleted: Projection(_deployment_statement, _release_row, _deployment),
    DeploymentRolledBack: Projection(_deployment_statement, _release_row, _deployment),
}

#: The event types a projection reads the payload of (a replay validates only these).
PROJECTED_TYPES: Final[frozenset[str]] = frozenset(t.event_type for t in _BY_PAYLOAD)


def _release_rows(entries: Sequence[LedgerEntry]) -> list[dict[str, Any]]:
    """One row per release the batch mentions: first submitter, first and last event times."""
    releases: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in entries:
        if entry.version is None:
            continue
        # Events that decide on a release (the catalog's one list) never submit it.
        submits = entry.event_type not in DECISION_TYPES
        row = releases.get((entry.system_id, entry.version))
        if row is None:
            releases[(entry.system_id, entry.version)] = {
                "system_id": entry.system_id,
                "version": entry.version,
                "submitter": entry.actor if submits else None,
                "submitted_event_id": entry.event_id if submits else None,
                "first_seen_at": entry.time,
                "last_event_at": entry.time,
            }
            continue
        if row["submitter"] is None and submits:
            row["submitter"], row["submitted_event_id"] = entry.actor, entry.event_id
        row["last_event_at"] = max(row["last_event_at"], entry.time)
    return list(releases.values())


@cache
def _releases_statement(dialect: str) -> Executable:
    proposed = excluded(RELEASES)
    return upsert(
        RELEASES,
        dialect,
        keys=["system_id", "version"],
        update={
            # The first submitting event of a release names its submitter, for good.
            "submitter": func.coalesce(RELEASES.c.submitter, proposed.submitter),
            "submitted_event_id": func.coalesce(
                RELEASES.c.submitted_event_id, proposed.submitted_event_id
            ),
            "last_event_at": case(
                (proposed.last_event_at > RELEASES.c.last_event_at, proposed.last_event_at),
                else_=RELEASES.c.last_event_at,
            ),
        },
    )


def steps(entries: Sequence[LedgerEntry]) -> list[dict[StatementFor, list[dict[str, Any]]]]:
    """The batch's statements in steps: per step, each statement with its events' parameters.

    An event goes into the step after the last one that touched its row with another
    statement (or into the same step, with the same statement), so each row sees its
    events' statements in ledger order.
    """
    last: dict[RowKey, tuple[int, StatementFor]] = {}
    planned: list[dict[StatementFor, list[dict[str, Any]]]] = []
    for entry in entries:
        payload = entry.typed
        if payload is None:
            if entry.event_type in PROJECTED_TYPES:
                raise ValueError(f"{entry.event_type} event {entry.event_id} has no payload")
            continue
        projection = _BY_PAYLOAD.get(type(payload))
        if projection is None:
            continue
        params = projection.params(entry, payload)
        if params is None:
            continue
        row = projection.row(entry, payload)
        step, statement = last.get(row, (0, projection.statement))
        if statement is not projection.statement:
            step += 1
        last[row] = (step, projection.statement)
        while len(planned) <= step:
            planned.append({})
        planned[step].setdefault(projection.statement, []).append(params)
    return planned


async def project(session: AsyncSession, entries: Sequence[LedgerEntry]) -> None:
    """Apply newly recorded events, in ledger order, to the projections."""
    dialect = dialect_name(session)
    # Every release row first: deployment states are set on the release the batch names.
    releases = _release_rows(entries)
    if releases:
        await session.execute(_releases_statement(dialect), releases)
    for step in steps(entries):
        for statement, params in step.items():
            await session.execute(statement(dialect), params)
