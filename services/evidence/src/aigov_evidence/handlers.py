"""Projection handlers: how each recorded event changes inventory, releases, waivers, incidents.

They run in the same transaction as the ledger append, for the events that were new to the
ledger, and again (in ledger order) when projections are rebuilt; so they only use what the
event says, never the clock. Control status is not stored: it is computed on read from the
ledger, because waivers expire by time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC
from typing import Any, Final

from sqlalchemy import case, func, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from aigov_events.catalog import (
    DECISION_TYPES,
    DeploymentCompleted,
    DeploymentRequested,
    DeploymentRolledBack,
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
from aigov_runtime.database import excluded, insert_ignore, insert_rows, upsert

Handler = Callable[[LedgerEntry, AsyncSession], Awaitable[None]]


async def on_system_revision(entry: LedgerEntry, session: AsyncSession) -> None:
    """system.registered / system.updated: the inventory takes the newest manifest revision."""
    payload = entry.typed
    assert isinstance(payload, SystemRegistered | SystemUpdated)
    manifest = payload.manifest
    spec = manifest.spec
    values: dict[str, Any] = {
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
    changes = {key: value for key, value in values.items() if key != "system_id"}
    changes["lifecycle_status"] = case(
        (SYSTEMS.c.lifecycle_status == "retired", "retired"), else_="active"
    )
    changes["registered_at"] = func.coalesce(SYSTEMS.c.registered_at, entry.time)
    statement = upsert(
        SYSTEMS,
        session,
        keys=["system_id"],
        update=changes,
        # A revision may be replayed after a newer one: never go back to an older manifest.
        where=or_(
            SYSTEMS.c.manifest_revision.is_(None),
            SYSTEMS.c.manifest_revision <= payload.revision,
        ),
    )
    await session.execute(statement.values(**values))


async def on_system_retired(entry: LedgerEntry, session: AsyncSession) -> None:
    """system.retired: the system leaves service; its history stays."""
    statement = upsert(
        SYSTEMS,
        session,
        keys=["system_id"],
        update={"lifecycle_status": "retired", "updated_at": entry.time},
    )
    await session.execute(
        statement.values(
            system_id=entry.system_id,
            lifecycle_status="retired",
            deployment_surfaces=[],
            regions=[],
            data_classes=[],
            third_party_models=[],
            updated_at=entry.time,
        )
    )


async def on_tier_assigned(entry: LedgerEntry, session: AsyncSession) -> None:
    """tier.assigned: the latest decision is the one the gate and control status use."""
    payload = entry.typed
    assert isinstance(payload, TierAssigned)
    tier_values: dict[str, Any] = {
        "tier": payload.tier.value,
        "policy_name": payload.policy.name,
        "policy_version": payload.policy.version,
        "tier_event_id": entry.event_id,
        "tier_decision": entry.payload,
        "tier_assigned_at": entry.time,
        "updated_at": entry.time,
    }
    statement = upsert(SYSTEMS, session, keys=["system_id"], update=tier_values)
    await session.execute(
        statement.values(
            system_id=entry.system_id,
            # Decisions and registrations travel on different topics: either may come first.
            lifecycle_status="unregistered",
            deployment_surfaces=[],
            regions=[],
            data_classes=[],
            third_party_models=[],
            **tier_values,
        )
    )


async def on_gate_decided(entry: LedgerEntry, session: AsyncSession) -> None:
    """gate.decided: the inventory shows each system's last gate answer."""
    payload = entry.typed
    assert isinstance(payload, GateDecided)
    await session.execute(
        update(SYSTEMS)
        .where(SYSTEMS.c.system_id == entry.system_id)
        .values(
            last_gate_decision="allow" if payload.allowed else "deny",
            last_gate_version=payload.version,
            last_gate_event_id=entry.event_id,
            last_gate_at=entry.time,
        )
    )


async def on_incident_reported(entry: LedgerEntry, session: AsyncSession) -> None:
    """incident.reported: one more open incident."""
    payload = entry.typed
    assert isinstance(payload, IncidentReported)
    await session.execute(
        insert_ignore(INCIDENTS, session).values(
            incident_id=payload.incident_id,
            system_id=payload.system_id,
            status="reported",
            severity=payload.severity.value,
        )
    )


def _incident_status(status: str) -> Handler:
    async def on_incident_progress(entry: LedgerEntry, session: AsyncSession) -> None:
        """incident.acknowledged / contained / resolved: move the incident on (never reopen)."""
        incident_id = getattr(entry.typed, "incident_id")  # noqa: B009
        await session.execute(
            update(INCIDENTS)
            .where(INCIDENTS.c.incident_id == incident_id, INCIDENTS.c.status != "resolved")
            .values(status=status)
        )

    return on_incident_progress


async def on_waiver_requested(entry: LedgerEntry, session: AsyncSession) -> None:
    """waiver.requested: a waiver awaiting its decision."""
    payload = entry.typed
    assert isinstance(payload, WaiverRequested)
    await session.execute(
        insert_ignore(WAIVERS, session).values(
            waiver_id=payload.waiver_id,
            system_id=payload.system_id,
            version=payload.version,
            controls=list(payload.controls),
            justification=payload.justification,
            compensating_controls=list(payload.compensating_controls),
            expires_at=payload.expires_at.astimezone(UTC),
            status="requested",
            requested_by=entry.actor,
            requested_at=entry.time,
            request_event_id=entry.event_id,
        )
    )


def _waiver_decision(status: str) -> Handler:
    async def on_waiver_decided(entry: LedgerEntry, session: AsyncSession) -> None:
        """waiver.granted / waiver.rejected: the first decision on a requested waiver stands."""
        waiver_id = getattr(entry.typed, "waiver_id")  # noqa: B009
        await session.execute(
            update(WAIVERS)
            .where(WAIVERS.c.waiver_id == waiver_id, WAIVERS.c.status == "requested")
            .values(
                status=status,
                decided_by=entry.actor,
                decided_at=entry.time,
                decision_event_id=entry.event_id,
            )
        )

    return on_waiver_decided


async def on_waiver_expired(entry: LedgerEntry, session: AsyncSession) -> None:
    """waiver.expired: a granted waiver no longer covers its controls."""
    payload = entry.typed
    assert isinstance(payload, WaiverExpired)
    await session.execute(
        update(WAIVERS)
        .where(WAIVERS.c.waiver_id == payload.waiver_id, WAIVERS.c.status == "granted")
        .values(status="expired", expired_at=payload.expired_at.astimezone(UTC))
    )


def _deployment_status(payload: Any) -> str:
    if isinstance(payload, DeploymentCompleted):
        return payload.outcome.value
    if isinstance(payload, DeploymentRolledBack):
        return "rolled_back"
    return "requested"


async def on_deployment(entry: LedgerEntry, session: AsyncSession) -> None:
    """deployment.*: the release's last deployment state."""
    if entry.version is None:
        return
    await session.execute(
        update(RELEASES)
        .where(RELEASES.c.system_id == entry.system_id, RELEASES.c.version == entry.version)
        .values(deployment_status=_deployment_status(entry.typed))
    )


HANDLERS: Final[dict[str, Handler]] = {
    SystemRegistered.event_type: on_system_revision,
    SystemUpdated.event_type: on_system_revision,
    SystemRetired.event_type: on_system_retired,
    TierAssigned.event_type: on_tier_assigned,
    GateDecided.event_type: on_gate_decided,
    IncidentReported.event_type: on_incident_reported,
    IncidentAcknowledged.event_type: _incident_status("acknowledged"),
    IncidentContained.event_type: _incident_status("contained"),
    IncidentResolved.event_type: _incident_status("resolved"),
    WaiverRequested.event_type: on_waiver_requested,
    WaiverGranted.event_type: _waiver_decision("granted"),
    WaiverRejected.event_type: _waiver_decision("rejected"),
    WaiverExpired.event_type: on_waiver_expired,
    DeploymentRequested.event_type: on_deployment,
    DeploymentCompleted.event_type: on_deployment,
    DeploymentRolledBack.event_type: on_deployment,
}


async def _record_releases(session: AsyncSession, entries: Sequence[LedgerEntry]) -> None:
    """Create or extend the release rows of a batch with one statement."""
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
    if not releases:
        return
    proposed = excluded(RELEASES)
    statement = upsert(
        RELEASES,
        session,
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
    await insert_rows(session, statement, list(releases.values()))


async def project(session: AsyncSession, entries: Sequence[LedgerEntry]) -> None:
    """Apply newly recorded events, in ledger order, to the projections."""
    await _record_releases(session, entries)
    for entry in entries:
        handler = HANDLERS.get(entry.event_type)
        if handler is not None:
            await handler(entry, session)
