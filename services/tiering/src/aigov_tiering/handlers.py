"""Event handlers: `on_<event>(event, *, session, tiering)`, called by the consumer in one transaction.

Each handler writes through `session` and publishes its decisions before returning; the
consumer commits the transaction (with the processed-event row) only after the handler
returned, and commits the offset after that. A crash anywhere redelivers the event; the
decisions are then republished with the same deterministic ids, so nothing is lost and
downstream consumers apply each decision once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aigov_events.catalog import (
    ApprovalGranted,
    EvaluationCompleted,
    SystemRegistered,
    SystemRetired,
    SystemUpdated,
)
from aigov_events.catalog.decisions import (
    EvaluationRegression,
    ManifestDiff,
    MaterialChangeDetected,
)
from aigov_events.catalog.enums import ApprovalScope, MaterialChangeKind, Tier
from aigov_events.consumer import PermanentError
from aigov_events.message import DomainEvent
from aigov_events.producer import Publisher
from aigov_tiering import service
from aigov_tiering.decisions import (
    evaluation_change_id,
    manifest_change_id,
    material_change_event,
    tier_event,
)
from aigov_tiering.engine import decide
from aigov_tiering.material import MeasuredMetric, compare_manifests, regressions
from aigov_tiering.models import ApprovedBaseline
from aigov_tiering.policy import PolicyPack
from aigov_tiering.policy.errors import RuleEvaluationError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Tiering:
    """What the handlers need besides the session: the active policy pack and a publisher."""

    pack: PolicyPack
    publisher: Publisher


async def on_system_registered(
    event: DomainEvent[SystemRegistered], *, session: AsyncSession, tiering: Tiering
) -> None:
    """Tier a newly registered system and publish `tier.assigned`."""
    await _on_revision(event.payload, session=session, tiering=tiering)


async def on_system_updated(
    event: DomainEvent[SystemUpdated], *, session: AsyncSession, tiering: Tiering
) -> None:
    """Re-tier a new manifest revision, diff it against the approved one, publish the decisions."""
    await _on_revision(event.payload, session=session, tiering=tiering)


async def on_system_retired(
    event: DomainEvent[SystemRetired], *, session: AsyncSession, tiering: Tiering
) -> None:
    """Stop re-tiering a retired system."""
    await service.retire_system(session, event.payload.system_id)


async def on_approval_granted(
    event: DomainEvent[ApprovalGranted], *, session: AsyncSession, tiering: Tiering
) -> None:
    """Make the approved manifest (and the release's evaluations) the system's baseline."""
    payload = event.payload
    system = await service.get_system(session, payload.system_id)
    if system is None:
        log.warning(
            "approval for a system tiering has not seen", extra={"system_id": payload.system_id}
        )
        return
    if payload.scope is ApprovalScope.MATERIAL_CHANGE:
        baseline = await service.get_baseline(session, payload.system_id)
        if baseline is None or baseline.pending_change_id != payload.material_change_id:
            return  # approves an older change or one about evaluations: the baseline stands
        version, evaluations = baseline.version, baseline.evaluations
    else:
        version = payload.version
        evaluations = await service.release_evaluations(
            session, system_id=payload.system_id, version=version
        )
    await service.save_baseline(session, system=system, version=version, evaluations=evaluations)


async def on_evaluation_completed(
    event: DomainEvent[EvaluationCompleted], *, session: AsyncSession, tiering: Tiering
) -> None:
    """Keep the release's metrics; publish a material change if they regress against the baseline."""
    payload = event.payload
    metrics = {
        metric.name: {"value": metric.value, "higher_is_better": metric.higher_is_better}
        for metric in payload.metrics
    }
    await service.save_evaluation(
        session,
        system_id=payload.system_id,
        version=payload.version,
        suite=payload.suite,
        metrics=metrics,
    )
    baseline = await service.get_baseline(session, payload.system_id)
    if baseline is None or baseline.version == payload.version:
        return
    before = baseline.evaluations.get(payload.suite)
    if not before:
        return
    regressed = regressions(_measured(before), _measured(metrics), tiering.pack)
    if not regressed:
        return
    names = ", ".join(r.metric for r in regressed)
    change = MaterialChangeDetected(
        system_id=payload.system_id,
        change_id=evaluation_change_id(payload.system_id, payload.version, payload.suite),
        kind=MaterialChangeKind.EVALUATION,
        reason=(
            f"{payload.suite} of {payload.version} regressed beyond the policy's tolerance "
            f"against approved {baseline.version}: {names}"
        ),
        evaluation_regression=EvaluationRegression(
            version=payload.version, baseline_version=baseline.version, metrics=regressed
        ),
        voids_approvals_of=payload.version,
    )
    events = [material_change_event(change)]
    await service.record_decisions(session, events, policy_sha256=tiering.pack.ref.sha256)
    await tiering.publisher.publish_batch(events)


async def _on_revision(
    payload: SystemRegistered | SystemUpdated, *, session: AsyncSession, tiering: Tiering
) -> None:
    known = await service.get_system(session, payload.system_id)
    if known is not None and payload.revision <= known.revision:
        # Keys order events per system, so this is a replay of history: never go backwards.
        log.info(
            "stale manifest revision ignored",
            extra={"system_id": payload.system_id, "revision": payload.revision},
        )
        return
    pack = tiering.pack
    try:
        decision = decide(payload.manifest, pack)
    except RuleEvaluationError as exc:
        raise PermanentError(f"policy {pack.version_label} failed on this manifest: {exc}") from exc
    tier_assigned = decision.tier_assigned(
        system_id=payload.system_id,
        revision=payload.revision,
        manifest_sha256=payload.manifest_sha256,
        previous_tier=None if known is None else Tier(known.tier),
    )
    document = payload.manifest.to_document()
    events: list[DomainEvent[Any]] = [tier_event(tier_assigned)]
    if known is not None:
        change = await _material_change(
            payload, document, known.manifest, known.revision, session=session, pack=pack
        )
        if change is not None:
            events.append(material_change_event(change))
    await service.save_system(
        session,
        system_id=payload.system_id,
        revision=payload.revision,
        manifest_sha256=payload.manifest_sha256,
        manifest=document,
        tier=tier_assigned.tier.value,
        decision=tier_assigned.model_dump(mode="json", exclude_none=True),
        policy_sha256=pack.ref.sha256,
    )
    await service.record_decisions(session, events, policy_sha256=pack.ref.sha256)
    await tiering.publisher.publish_batch(events)


async def _material_change(
    payload: SystemRegistered | SystemUpdated,
    document: dict[str, Any],
    previous: dict[str, Any],
    previous_revision: int,
    *,
    session: AsyncSession,
    pack: PolicyPack,
) -> MaterialChangeDetected | None:
    """Diff against the approved manifest (else the previous one, for the record only)."""
    baseline = await service.get_baseline(session, payload.system_id)
    against = previous if baseline is None else baseline.manifest
    comparison = compare_manifests(against, document, pack)
    changes = [change.model_dump(mode="json") for change in comparison.material]
    publish = (
        baseline is not None and comparison.is_material and changes != baseline.pending_changes
    )
    change_id = manifest_change_id(payload.system_id, payload.revision) if publish else None
    await service.save_manifest_change(
        session,
        system_id=payload.system_id,
        revision=payload.revision,
        baseline_revision=None if baseline is None else baseline.revision,
        changes=changes,
        non_material_fields=comparison.non_material_fields,
        change_id=change_id,
    )
    if baseline is not None and not comparison.is_material:
        # Reverted to the approved material fields: a later change is new again. (Downstream,
        # the published change still awaits an approval: no event withdraws it.)
        service.clear_pending(baseline)
    if baseline is None or change_id is None:
        # Nothing approved yet (nothing to void), or the same change is already pending.
        return None
    service.mark_pending(baseline, change_id=change_id, changes=changes)
    return _manifest_change(payload, baseline, comparison.material, change_id)


def _manifest_change(
    payload: SystemRegistered | SystemUpdated,
    baseline: ApprovedBaseline,
    material: tuple[Any, ...],
    change_id: str,
) -> MaterialChangeDetected:
    fields = sorted({change.field for change in material})
    rules = ", ".join(sorted({change.rule for change in material}))
    return MaterialChangeDetected(
        system_id=payload.system_id,
        change_id=change_id,
        kind=MaterialChangeKind.MANIFEST,
        reason=(
            f"revision {payload.revision} changes material fields of approved revision "
            f"{baseline.revision} (rules: {rules}); approvals of {baseline.version} no longer count"
        ),
        manifest_diff=ManifestDiff(
            from_revision=baseline.revision,
            to_revision=payload.revision,
            from_manifest_sha256=baseline.manifest_sha256,
            to_manifest_sha256=payload.manifest_sha256,
            changed_fields=fields,
            changes=list(material),
        ),
        voids_approvals_of=baseline.version,
    )


def _measured(metrics: dict[str, Any]) -> dict[str, MeasuredMetric]:
    return {
        name: MeasuredMetric(value=float(m["value"]), higher_is_better=bool(m["higher_is_better"]))
        for name, m in metrics.items()
    }
