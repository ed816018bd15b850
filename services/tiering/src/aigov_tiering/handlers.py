"""Event handlers: `on_<event>(event, *, state, tiering)`, applied in order to one batch's state.

The consumer loads a batch's systems, baselines and evaluations into a `BatchState`, calls
the handler of each event in order (each sees what the ones before it changed, as if it
had read the database after they committed), writes the state back with set-based
statements and publishes the batch's decisions, all in the consumer's transaction. The
transaction (with the processed-event rows) commits after that, then the offsets. A crash
anywhere redelivers the batch; the decisions are then republished with the same
deterministic ids, so nothing is lost and downstream consumers apply each decision once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

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
from aigov_tiering.batch import BatchState
from aigov_tiering.decisions import (
    evaluation_change_id,
    manifest_change_id,
    material_change_event,
    tier_event,
)
from aigov_tiering.engine import decide
from aigov_tiering.material import MeasuredMetric, compare_manifests, regressions
from aigov_tiering.policy import PolicyPack
from aigov_tiering.policy.errors import RuleEvaluationError
from aigov_tiering.service import BaselineRecord, SystemRecord, now

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Tiering:
    """What the handlers need besides the state: the active policy pack and a publisher."""

    pack: PolicyPack
    publisher: Publisher


def on_system_registered(
    event: DomainEvent[SystemRegistered], *, state: BatchState, tiering: Tiering
) -> None:
    """Tier a newly registered system: `tier.assigned`."""
    _on_revision(event.payload, state=state, pack=tiering.pack)


def on_system_updated(
    event: DomainEvent[SystemUpdated], *, state: BatchState, tiering: Tiering
) -> None:
    """Re-tier a new manifest revision, diff it against the approved one: the decisions."""
    _on_revision(event.payload, state=state, pack=tiering.pack)


def on_system_retired(
    event: DomainEvent[SystemRetired], *, state: BatchState, tiering: Tiering
) -> None:
    """Stop re-tiering a retired system (its history stays)."""
    system = state.systems.get(event.payload.system_id)
    if system is not None:
        system.retired = True
        system.updated_at = now()
        state.touch_system(system.system_id)


def on_approval_granted(
    event: DomainEvent[ApprovalGranted], *, state: BatchState, tiering: Tiering
) -> None:
    """Make the approved manifest (and the release's evaluations) the system's baseline."""
    payload = event.payload
    system = state.systems.get(payload.system_id)
    if system is None:
        log.warning(
            "approval for a system tiering has not seen", extra={"system_id": payload.system_id}
        )
        return
    if payload.scope is ApprovalScope.MATERIAL_CHANGE:
        baseline = state.baselines.get(payload.system_id)
        if baseline is None or baseline.pending_change_id != payload.material_change_id:
            return  # approves an older change or one about evaluations: the baseline stands
        version, evaluations = baseline.version, baseline.evaluations
    else:
        version = payload.version
        evaluations = state.release_evaluations(payload.system_id, version)
    state.save_baseline(
        BaselineRecord(
            system_id=system.system_id,
            revision=system.revision,
            manifest_sha256=system.manifest_sha256,
            manifest=system.manifest,
            version=version,
            evaluations=evaluations,
            pending_change_id=None,
            pending_changes=None,
            approved_at=now(),
        )
    )


def on_evaluation_completed(
    event: DomainEvent[EvaluationCompleted], *, state: BatchState, tiering: Tiering
) -> None:
    """Keep the release's metrics; a material change if they regress against the baseline."""
    payload = event.payload
    metrics = {
        metric.name: {"value": metric.value, "higher_is_better": metric.higher_is_better}
        for metric in payload.metrics
    }
    state.record_evaluation((payload.system_id, payload.version, payload.suite), metrics)
    baseline = state.baselines.get(payload.system_id)
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
    state.issue([material_change_event(change)])


Handler = Callable[..., None]

#: The handler of each event type tiering consumes; other lifecycle events are not its business.
HANDLERS: Final[Mapping[str, Handler]] = {
    SystemRegistered.event_type: on_system_registered,
    SystemUpdated.event_type: on_system_updated,
    SystemRetired.event_type: on_system_retired,
    ApprovalGranted.event_type: on_approval_granted,
    EvaluationCompleted.event_type: on_evaluation_completed,
}


def apply(event: DomainEvent[Any], *, state: BatchState, tiering: Tiering) -> None:
    """Apply one event of a batch to the batch's state (events without a handler: nothing)."""
    handler = HANDLERS.get(event.type)
    if handler is not None:
        handler(event, state=state, tiering=tiering)


def _on_revision(
    payload: SystemRegistered | SystemUpdated, *, state: BatchState, pack: PolicyPack
) -> None:
    known = state.systems.get(payload.system_id)
    if known is not None and payload.revision <= known.revision:
        # Keys order events per system, so this is a replay of history: never go backwards.
        log.info(
            "stale manifest revision ignored",
            extra={"system_id": payload.system_id, "revision": payload.revision},
        )
        return
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
    published = tier_event(tier_assigned)
    events: list[DomainEvent[Any]] = [published]
    if known is not None:
        change = _material_change(payload, document, known.manifest, state=state, pack=pack)
        if change is not None:
            events.append(material_change_event(change))
    state.save_system(
        SystemRecord(
            system_id=payload.system_id,
            revision=payload.revision,
            manifest_sha256=payload.manifest_sha256,
            manifest=document,
            tier=tier_assigned.tier.value,
            # The payload as published (serialising the decision again would cost as much).
            decision=_as_stored(published),
            policy_sha256=pack.ref.sha256,
            retired=False,
            updated_at=now(),
        )
    )
    state.issue(events)


def _material_change(
    payload: SystemRegistered | SystemUpdated,
    document: dict[str, Any],
    previous: dict[str, Any],
    *,
    state: BatchState,
    pack: PolicyPack,
) -> MaterialChangeDetected | None:
    """Diff against the approved manifest (else the previous one, for the record only)."""
    baseline = state.baselines.get(payload.system_id)
    against = previous if baseline is None else baseline.manifest
    comparison = compare_manifests(against, document, pack)
    changes = [change.model_dump(mode="json") for change in comparison.material]
    publish = (
        baseline is not None and comparison.is_material and changes != baseline.pending_changes
    )
    change_id = manifest_change_id(payload.system_id, payload.revision) if publish else None
    state.record_manifest_change(
        {
            "system_id": payload.system_id,
            "revision": payload.revision,
            "baseline_revision": None if baseline is None else baseline.revision,
            "material": bool(changes),
            "changes": changes,
            "non_material_fields": list(comparison.non_material_fields),
            "change_id": change_id,
            "recorded_at": now(),
        }
    )
    if baseline is not None and not comparison.is_material:
        # Reverted to the approved material fields: a later change is new again. (Downstream,
        # the published change still awaits an approval: no event withdraws it.)
        baseline.pending_change_id = None
        baseline.pending_changes = None
        state.touch_baseline(baseline.system_id)
    if baseline is None or change_id is None:
        # Nothing approved yet (nothing to void), or the same change is already pending.
        return None
    baseline.pending_change_id = change_id
    baseline.pending_changes = changes
    state.touch_baseline(baseline.system_id)
    return _manifest_change(payload, baseline, comparison.material, change_id)


def _manifest_change(
    payload: SystemRegistered | SystemUpdated,
    baseline: BaselineRecord,
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


def _as_stored(event: DomainEvent[Any]) -> dict[str, Any]:
    data = event.envelope.data
    if not isinstance(data, dict):
        raise TypeError(f"{event.type} carries no JSON object")  # tier_event always does
    return data


def _measured(metrics: dict[str, Any]) -> dict[str, MeasuredMetric]:
    return {
        name: MeasuredMetric(value=float(m["value"]), higher_is_better=bool(m["higher_is_better"]))
        for name, m in metrics.items()
    }
