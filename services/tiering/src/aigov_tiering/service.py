"""Tiering's queries and writes, in one place (no FastAPI, no bus): the session is the caller's.

The consumer and re-tiering work on many systems at once: they load what they need with
one query per table (`load_systems`, `load_baselines`, `load_release_evaluations`) into
plain records, and write back with set-based statements from the SQL kit of
`aigov_runtime.database` (multi-row upserts and insert-or-ignore). The API reads single
systems through the ORM (`get_system`, `get_baseline`, `manifest_changes`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, bindparam, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aigov_events.message import DomainEvent
from aigov_runtime.database import excluded, insert_ignore, insert_rows, table_of, upsert
from aigov_tiering.models import (
    ApprovedBaseline,
    IssuedDecision,
    KnownSystem,
    ManifestChange,
    ReleaseEvaluation,
)

SYSTEMS: Table = table_of(KnownSystem)
BASELINES: Table = table_of(ApprovedBaseline)
EVALUATIONS: Table = table_of(ReleaseEvaluation)
MANIFEST_CHANGES: Table = table_of(ManifestChange)
DECISIONS: Table = table_of(IssuedDecision)


def now() -> datetime:
    """The time rows are stamped with (UTC)."""
    return datetime.now(UTC)


@dataclass(slots=True)
class SystemRecord:
    """A `systems` row in memory: a system's latest revision and its last published decision."""

    system_id: str
    revision: int
    manifest_sha256: str
    manifest: dict[str, Any]
    tier: str
    decision: dict[str, Any]
    policy_sha256: str
    retired: bool
    updated_at: datetime

    def row(self) -> dict[str, Any]:
        """The row to write (the documents are shared, not copied: they are never mutated)."""
        return {
            "system_id": self.system_id,
            "revision": self.revision,
            "manifest_sha256": self.manifest_sha256,
            "manifest": self.manifest,
            "tier": self.tier,
            "decision": self.decision,
            "policy_sha256": self.policy_sha256,
            "retired": self.retired,
            "updated_at": self.updated_at,
        }


@dataclass(slots=True)
class BaselineRecord:
    """A `baselines` row in memory: the approved manifest and release, and the pending change."""

    system_id: str
    revision: int
    manifest_sha256: str
    manifest: dict[str, Any]
    version: str
    evaluations: dict[str, Any]
    pending_change_id: str | None
    pending_changes: list[Any] | None
    approved_at: datetime

    def row(self) -> dict[str, Any]:
        """The row to write."""
        return {
            "system_id": self.system_id,
            "revision": self.revision,
            "manifest_sha256": self.manifest_sha256,
            "manifest": self.manifest,
            "version": self.version,
            "evaluations": self.evaluations,
            "pending_change_id": self.pending_change_id,
            "pending_changes": self.pending_changes,
            "approved_at": self.approved_at,
        }


# ---------------------------------------------------------------- single reads (the API)


async def get_system(session: AsyncSession, system_id: str) -> KnownSystem | None:
    """The system's latest known revision and decision, if tiering has seen it."""
    return await session.get(KnownSystem, system_id)


async def get_baseline(session: AsyncSession, system_id: str) -> ApprovedBaseline | None:
    """The system's last approved manifest and release, if any approval was seen."""
    return await session.get(ApprovedBaseline, system_id)


async def manifest_changes(session: AsyncSession, system_id: str) -> list[ManifestChange]:
    """A system's change records, oldest revision first."""
    result = await session.execute(
        select(ManifestChange)
        .where(col(ManifestChange.system_id) == system_id)
        .order_by(col(ManifestChange.revision))
    )
    return list(result.scalars())


# ---------------------------------------------------------------- set-based reads


async def load_systems(
    session: AsyncSession, system_ids: Collection[str]
) -> dict[str, SystemRecord]:
    """The known systems among `system_ids`, by id (one query)."""
    if not system_ids:
        return {}
    result = await session.execute(
        select(SYSTEMS).where(SYSTEMS.c.system_id.in_(sorted(system_ids)))
    )
    return {row.system_id: SystemRecord(**row._mapping) for row in result}


async def load_baselines(
    session: AsyncSession, system_ids: Collection[str]
) -> dict[str, BaselineRecord]:
    """The approved baselines of `system_ids` that have one, by system id (one query)."""
    if not system_ids:
        return {}
    result = await session.execute(
        select(BASELINES).where(BASELINES.c.system_id.in_(sorted(system_ids)))
    )
    return {row.system_id: BaselineRecord(**row._mapping) for row in result}


async def load_release_evaluations(
    session: AsyncSession, releases: Collection[tuple[str, str]]
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(system, version, suite) -> metrics of every evaluation of the (system, version) pairs."""
    if not releases:
        return {}
    result = await session.execute(
        select(
            EVALUATIONS.c.system_id,
            EVALUATIONS.c.version,
            EVALUATIONS.c.suite,
            EVALUATIONS.c.metrics,
        ).where(tuple_(EVALUATIONS.c.system_id, EVALUATIONS.c.version).in_(sorted(releases)))
    )
    return {(s, v, suite): metrics for s, v, suite, metrics in result}


async def systems_to_retier(
    session: AsyncSession, *, policy_sha256: str, after: str, limit: int
) -> list[SystemRecord]:
    """Up to `limit` active systems after `after` (by id) last evaluated with another pack."""
    result = await session.execute(
        select(SYSTEMS)
        .where(SYSTEMS.c.policy_sha256 != policy_sha256)
        .where(SYSTEMS.c.retired.is_(False))
        .where(SYSTEMS.c.system_id > after)
        .order_by(SYSTEMS.c.system_id)
        .limit(limit)
    )
    return [SystemRecord(**row._mapping) for row in result]


# ---------------------------------------------------------------- set-based writes


def _replace_all(table: Table, session: AsyncSession, key: Sequence[str]) -> Any:
    """An upsert of `table` that replaces every non-key column with the proposed row's."""
    proposed = excluded(table)
    return upsert(
        table,
        session,
        keys=key,
        update={c.name: proposed[c.name] for c in table.columns if c.name not in key},
    )


async def save_systems(session: AsyncSession, systems: Iterable[SystemRecord]) -> None:
    """Write systems as they are in memory (insert or replace, one statement)."""
    await insert_rows(
        session, _replace_all(SYSTEMS, session, ["system_id"]), [s.row() for s in systems]
    )


async def save_baselines(session: AsyncSession, baselines: Iterable[BaselineRecord]) -> None:
    """Write baselines as they are in memory (insert or replace, one statement)."""
    await insert_rows(
        session, _replace_all(BASELINES, session, ["system_id"]), [b.row() for b in baselines]
    )


async def save_evaluations(
    session: AsyncSession, evaluations: Mapping[tuple[str, str, str], dict[str, Any]]
) -> None:
    """Keep the latest metrics of each (system, release, suite) (insert or replace)."""
    at = now()
    rows = [
        {"system_id": s, "version": v, "suite": suite, "metrics": metrics, "recorded_at": at}
        for (s, v, suite), metrics in evaluations.items()
    ]
    await insert_rows(
        session, _replace_all(EVALUATIONS, session, ["system_id", "version", "suite"]), rows
    )


async def save_manifest_changes(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Record how revisions differ from the approved manifest (a revision's record stays)."""
    await insert_rows(session, insert_ignore(MANIFEST_CHANGES, session), rows)


async def record_decisions(
    session: AsyncSession, events: Sequence[DomainEvent[Any]], *, policy_sha256: str
) -> None:
    """Keep the decision events about to be published (ids are deterministic: repeats kept once)."""
    rows: dict[str, dict[str, Any]] = {}
    for event in events:
        if event.id in rows:
            continue
        data = event.envelope.data if isinstance(event.envelope.data, Mapping) else {}
        rows[event.id] = {
            "event_id": event.id,
            "event_type": event.type,
            "system_id": event.system_id,
            "policy_sha256": policy_sha256,
            "payload": dict(data),
            "issued_at": event.time,
        }
    await insert_rows(session, insert_ignore(DECISIONS, session), list(rows.values()))


async def claim_retier(
    session: AsyncSession,
    systems: Sequence[SystemRecord],
    *,
    from_policy_sha256: str,
    to_policy_sha256: str,
) -> set[str]:
    """Move `systems` to the new pack iff each is still on the old one at the revision read.

    One compare-and-set for all of them; returns the ids it moved. Replicas starting together
    all try and only one moves each system; a system whose revision changed meanwhile (a
    replica still on the old pack handled a new revision) is left to its new decision.
    """
    if not systems:
        return set()
    result = await session.execute(
        update(SYSTEMS)
        .where(
            tuple_(SYSTEMS.c.system_id, SYSTEMS.c.revision).in_(
                [(s.system_id, s.revision) for s in systems]
            )
        )
        .where(SYSTEMS.c.policy_sha256 == from_policy_sha256)
        .values(policy_sha256=to_policy_sha256, updated_at=now())
        .returning(SYSTEMS.c.system_id)
    )
    return set(result.scalars())


async def save_decisions(
    session: AsyncSession, decisions: Mapping[str, tuple[str, dict[str, Any]]]
) -> None:
    """Set system id -> (tier, decision) of systems this transaction claimed (one statement)."""
    if not decisions:
        return
    statement = update(SYSTEMS).where(SYSTEMS.c.system_id == bindparam("claimed_id"))
    await session.execute(
        statement,
        [
            {"claimed_id": system_id, "tier": tier, "decision": decision}
            for system_id, (tier, decision) in decisions.items()
        ],
    )
