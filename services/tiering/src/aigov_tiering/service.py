"""Tiering's queries and writes, in one place (no FastAPI, no bus): the session is the caller's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aigov_events.message import DomainEvent
from aigov_tiering.models import (
    ApprovedBaseline,
    IssuedDecision,
    KnownSystem,
    ManifestChange,
    ReleaseEvaluation,
)


def _now() -> datetime:
    return datetime.now(UTC)


async def get_system(session: AsyncSession, system_id: str) -> KnownSystem | None:
    """The system's latest known revision and decision, if tiering has seen it."""
    return await session.get(KnownSystem, system_id)


async def systems_to_retier(session: AsyncSession, *, policy_sha256: str) -> list[str]:
    """Ids of active systems last evaluated with a different policy pack."""
    result = await session.execute(
        select(col(KnownSystem.system_id))
        .where(col(KnownSystem.policy_sha256) != policy_sha256)
        .where(col(KnownSystem.retired).is_(False))
        .order_by(col(KnownSystem.system_id))
    )
    return list(result.scalars())


async def save_system(
    session: AsyncSession,
    *,
    system_id: str,
    revision: int,
    manifest_sha256: str,
    manifest: dict[str, Any],
    tier: str,
    decision: dict[str, Any],
    policy_sha256: str,
) -> None:
    """Record a system's latest revision and the decision published for it."""
    row = await session.get(KnownSystem, system_id)
    if row is None:
        row = KnownSystem(
            system_id=system_id,
            revision=revision,
            manifest_sha256=manifest_sha256,
            manifest=manifest,
            tier=tier,
            decision=decision,
            policy_sha256=policy_sha256,
            updated_at=_now(),
        )
        session.add(row)
        return
    row.revision = revision
    row.manifest_sha256 = manifest_sha256
    row.manifest = manifest
    row.tier = tier
    row.decision = decision
    row.policy_sha256 = policy_sha256
    row.retired = False
    row.updated_at = _now()


async def claim_retier(
    session: AsyncSession,
    *,
    system_id: str,
    from_policy_sha256: str,
    to_policy_sha256: str,
    decision: dict[str, Any] | None,
    tier: str | None,
) -> bool:
    """Move a system to the new pack iff it is still on the old one (compare-and-set).

    Replicas starting together all try; only the one whose update matched publishes.
    `decision`/`tier` are None when the new pack's decision is unchanged.
    """
    values: dict[str, Any] = {"policy_sha256": to_policy_sha256, "updated_at": _now()}
    if decision is not None and tier is not None:
        values |= {"decision": decision, "tier": tier}
    result: Any = await session.execute(
        update(KnownSystem)
        .where(col(KnownSystem.system_id) == system_id)
        .where(col(KnownSystem.policy_sha256) == from_policy_sha256)
        .values(**values)
    )
    return bool(result.rowcount == 1)


async def retire_system(session: AsyncSession, system_id: str) -> None:
    """Stop re-tiering a retired system (its history stays)."""
    row = await session.get(KnownSystem, system_id)
    if row is not None:
        row.retired = True
        row.updated_at = _now()


async def get_baseline(session: AsyncSession, system_id: str) -> ApprovedBaseline | None:
    """The system's last approved manifest and release, if any approval was seen."""
    return await session.get(ApprovedBaseline, system_id)


async def save_baseline(
    session: AsyncSession,
    *,
    system: KnownSystem,
    version: str,
    evaluations: dict[str, Any],
) -> None:
    """Make the system's current manifest and `version`'s evaluations the approved baseline."""
    row = await session.get(ApprovedBaseline, system.system_id)
    if row is None:
        row = ApprovedBaseline(
            system_id=system.system_id,
            revision=system.revision,
            manifest_sha256=system.manifest_sha256,
            manifest=system.manifest,
            version=version,
            evaluations=evaluations,
            approved_at=_now(),
        )
        session.add(row)
        return
    row.revision = system.revision
    row.manifest_sha256 = system.manifest_sha256
    row.manifest = system.manifest
    row.version = version
    row.evaluations = evaluations
    row.pending_change_id = None
    row.pending_changes = None
    row.approved_at = _now()


def mark_pending(baseline: ApprovedBaseline, *, change_id: str, changes: list[Any]) -> None:
    """Remember the material change awaiting approval against `baseline`."""
    baseline.pending_change_id = change_id
    baseline.pending_changes = changes


def clear_pending(baseline: ApprovedBaseline) -> None:
    """Forget the pending material change (the manifest is back to the approved fields)."""
    baseline.pending_change_id = None
    baseline.pending_changes = None


async def save_evaluation(
    session: AsyncSession, *, system_id: str, version: str, suite: str, metrics: dict[str, Any]
) -> None:
    """Keep the latest metrics of a release's evaluation suite."""
    row = await session.get(ReleaseEvaluation, (system_id, version, suite))
    if row is None:
        session.add(
            ReleaseEvaluation(
                system_id=system_id,
                version=version,
                suite=suite,
                metrics=metrics,
                recorded_at=_now(),
            )
        )
        return
    row.metrics = metrics
    row.recorded_at = _now()


async def release_evaluations(
    session: AsyncSession, *, system_id: str, version: str
) -> dict[str, Any]:
    """Suite -> metrics of every evaluation recorded for a release."""
    result = await session.execute(
        select(ReleaseEvaluation)
        .where(col(ReleaseEvaluation.system_id) == system_id)
        .where(col(ReleaseEvaluation.version) == version)
    )
    return {row.suite: row.metrics for row in result.scalars()}


async def save_manifest_change(
    session: AsyncSession,
    *,
    system_id: str,
    revision: int,
    baseline_revision: int | None,
    changes: list[Any],
    non_material_fields: Sequence[str],
    change_id: str | None,
) -> None:
    """Record how a revision differs from the approved manifest, material or not."""
    if await session.get(ManifestChange, (system_id, revision)) is not None:
        return
    session.add(
        ManifestChange(
            system_id=system_id,
            revision=revision,
            baseline_revision=baseline_revision,
            material=bool(changes),
            changes=changes,
            non_material_fields=list(non_material_fields),
            change_id=change_id,
            recorded_at=_now(),
        )
    )


async def manifest_changes(session: AsyncSession, system_id: str) -> list[ManifestChange]:
    """A system's change records, oldest revision first."""
    result = await session.execute(
        select(ManifestChange)
        .where(col(ManifestChange.system_id) == system_id)
        .order_by(col(ManifestChange.revision))
    )
    return list(result.scalars())


async def record_decisions(
    session: AsyncSession, events: Sequence[DomainEvent[Any]], *, policy_sha256: str
) -> None:
    """Keep the decision events about to be published (ids are deterministic: skip repeats)."""
    for event in events:
        if await session.get(IssuedDecision, event.id) is not None:
            continue
        data = event.envelope.data if isinstance(event.envelope.data, Mapping) else {}
        session.add(
            IssuedDecision(
                event_id=event.id,
                event_type=event.type,
                system_id=event.system_id,
                policy_sha256=policy_sha256,
                payload=dict(data),
                issued_at=event.time,
            )
        )
