"""Random event histories for the projections, and the check that batch cuts change nothing.

`projections.project` runs one statement per kind of change for a whole batch; its result
must equal applying the events one at a time, in ledger order (what a batch of one does), for
any history and any cut into batches: live consumption and `rebuild` cut the ledger
differently. `histories()` draws histories that touch the same rows with every kind of
statement (revisions out of order, retirements, tier decisions before registrations, gate
answers, incidents and waivers moving in any order, deployments of several releases), at
times that are not in ledger order. The unit test runs it on SQLite, the integration test on
PostgreSQL.
"""

from __future__ import annotations

import copy
import itertools
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_events.catalog import (
    DeploymentCompleted,
    DeploymentRequested,
    DeploymentRolledBack,
    EvaluationCompleted,
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
from aigov_evidence.ledger import LedgerEntry, release_version
from aigov_evidence.models import INCIDENTS, RELEASES, SYSTEMS, WAIVERS
from aigov_evidence.projections import project

Sessions = async_sessionmaker[AsyncSession]

SYSTEMS_IDS = ("support-summarizer", "hr-assistant")
VERSIONS = ("1.0.0", "2.0.0")
INCIDENT_IDS = ("INC-1", "INC-2")
WAIVER_IDS = ("W-1", "W-2")
ACTORS = ("ci", "owner", "approver")
T0 = datetime(2026, 11, 1, tzinfo=UTC)
TABLES = (SYSTEMS, RELEASES, WAIVERS, INCIDENTS)


def _manifest(system_id: str, revision: int) -> dict[str, Any]:
    manifest: dict[str, Any] = copy.deepcopy(SystemRegistered.example["manifest"])
    manifest["metadata"]["id"] = system_id
    manifest["metadata"]["name"] = f"{system_id} r{revision}"
    manifest["metadata"]["team"] = f"team-{revision}"
    return manifest


def _payload(kind: str, system_id: str, n: int) -> EventPayload:
    """The payload of kind `kind` about `system_id`; `n` picks revision, release, incident..."""
    version = VERSIONS[n % len(VERSIONS)]
    incident = {"incident_id": INCIDENT_IDS[n % len(INCIDENT_IDS)]}
    waiver = {"waiver_id": WAIVER_IDS[n % len(WAIVER_IDS)], "version": version}
    data: dict[str, Any]
    model: type[EventPayload]
    match kind:
        case "registered" | "updated":
            model = SystemRegistered if kind == "registered" else SystemUpdated
            # Registration is revision 1; updates are 2..4, drawn in any order.
            revision = 1 if kind == "registered" else 2 + n % 3
            data = {
                **model.example,
                "revision": revision,
                "manifest": _manifest(system_id, revision),
                "manifest_sha256": f"{revision:064x}",
            }
        case "retired":
            model, data = SystemRetired, dict(SystemRetired.example)
        case "tier":
            tier = ("high", "medium", "low")[n % 3]
            model, data = TierAssigned, {**TierAssigned.example, "tier": tier}
        case "gate":
            model = GateDecided
            allowed = bool(n % 2)
            data = {**GateDecided.example, "version": version, "allowed": allowed}
            if allowed:
                data["missing_controls"] = []
        case "reported":
            model, data = IncidentReported, {**IncidentReported.example, **incident}
        case "acknowledged":
            model, data = IncidentAcknowledged, {**IncidentAcknowledged.example, **incident}
        case "contained":
            model = IncidentContained
            data = {**IncidentContained.example, **incident}
        case "resolved":
            model, data = IncidentResolved, {**IncidentResolved.example, **incident}
        case "waiver_requested":
            model, data = WaiverRequested, {**WaiverRequested.example, **waiver}
        case "waiver_granted":
            model, data = WaiverGranted, {**WaiverGranted.example, **waiver}
        case "waiver_rejected":
            model, data = WaiverRejected, {**WaiverRejected.example, **waiver}
        case "waiver_expired":
            model, data = WaiverExpired, {**WaiverExpired.example, **waiver}
        case "deploy_requested":
            model = DeploymentRequested
            data = {**DeploymentRequested.example, "version": version}
        case "deploy_completed":
            outcome = ("succeeded", "failed")[n % 2]
            model = DeploymentCompleted
            data = {**DeploymentCompleted.example, "version": version, "outcome": outcome}
        case "rolled_back":
            model = DeploymentRolledBack
            data = {**DeploymentRolledBack.example, "from_version": version}
        case _:
            model = EvaluationCompleted
            data = {**EvaluationCompleted.example, "version": version}
    return model.model_validate({**data, "system_id": system_id})


KINDS = (
    "registered",
    "updated",
    "retired",
    "tier",
    "gate",
    "reported",
    "acknowledged",
    "contained",
    "resolved",
    "waiver_requested",
    "waiver_granted",
    "waiver_rejected",
    "waiver_expired",
    "deploy_requested",
    "deploy_completed",
    "rolled_back",
    "evaluation",
)


def entry(kind: str, system_id: str, n: int, minutes: int, actor: str) -> LedgerEntry:
    """A ledger entry of `kind` (see `KINDS`), at T0 + minutes, by `actor`."""
    payload = _payload(kind, system_id, n)
    data = payload.model_dump(mode="json", exclude_none=True)
    event_id = str(uuid.uuid4())
    return LedgerEntry(
        event_id=event_id,
        event_type=payload.event_type,
        system_id=system_id,
        version=release_version(payload),
        time=T0 + timedelta(minutes=minutes),
        actor=actor,
        source="/tests/projections",
        attributes={"id": event_id, "type": payload.event_type},
        payload=data,
        typed=payload,
    )


@st.composite
def histories(draw: st.DrawFn) -> list[LedgerEntry]:
    """A history of up to 40 events over two systems, in ledger order."""
    steps = draw(
        st.lists(
            st.tuples(
                st.sampled_from(KINDS),
                st.sampled_from(SYSTEMS_IDS),
                st.integers(0, 5),
                st.integers(0, 600),  # event times are not in ledger order
                st.sampled_from(ACTORS),
            ),
            min_size=1,
            max_size=40,
        )
    )
    return [entry(*step) for step in steps]


def cuts_of(draw: st.DrawFn, size: int) -> list[int]:
    """Where a history of `size` events is cut into batches (sorted positions)."""
    return sorted(set(draw(st.lists(st.integers(1, max(size - 1, 1)), max_size=8))))


async def clear(sessions: Sessions) -> None:
    """Empty every projection table."""
    async with sessions() as session, session.begin():
        for table in TABLES:
            await session.execute(delete(table))


async def apply(sessions: Sessions, history: Sequence[LedgerEntry], cuts: Sequence[int]) -> None:
    """Project `history` in the batches that `cuts` make, one transaction each."""
    bounds = [0, *cuts, len(history)]
    for start, end in itertools.pairwise(bounds):
        if start < end:
            async with sessions() as session, session.begin():
                await project(session, history[start:end])


async def state(sessions: Sessions) -> dict[str, list[tuple[Any, ...]]]:
    """Every projection row, sorted, per table."""
    async with sessions() as session:
        return {
            table.name: sorted(
                (tuple(row) for row in await session.execute(select(table))), key=repr
            )
            for table in TABLES
        }


async def same_whatever_the_cuts(
    sessions: Sessions, history: Sequence[LedgerEntry], cuts: Sequence[int]
) -> tuple[dict[str, list[tuple[Any, ...]]], dict[str, list[tuple[Any, ...]]]]:
    """The projections of `history` one event at a time, and in the batches `cuts` make."""
    await clear(sessions)
    await apply(sessions, history, range(1, len(history)))
    one_by_one = await state(sessions)
    await clear(sessions)
    await apply(sessions, history, cuts)
    return one_by_one, await state(sessions)
