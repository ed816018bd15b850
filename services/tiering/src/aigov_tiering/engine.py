"""The policy engine: a manifest and a policy pack in, a tier decision out (pure, deterministic).

Rules are tried from the most severe tier down; the first tier with a matching rule wins,
and every matching rule of that tier is reported with its reason. The tier's requirements
then select the controls whose `applies_when` holds, in the pack's order, so the same
manifest and pack always give the same decision, field for field.
"""

from __future__ import annotations

from dataclasses import dataclass

import cel

from aigov_events.catalog.decisions import (
    EvaluationMinimum,
    EvidenceSpec,
    FiredRule,
    IncidentSla,
    MonitoringRequirement,
    PolicyRef,
    RequiredApproval,
    RequiredControl,
    TierAssigned,
)
from aigov_events.catalog.enums import EvidenceKind, Tier
from aigov_events.catalog.manifest import AISystemManifest
from aigov_tiering.policy.pack import SEVERITY, CompiledControl, CompiledRule, PolicyPack
from aigov_tiering.policy.schema import PLACEHOLDER, EvidenceRule


@dataclass(frozen=True, slots=True)
class Decision:
    """What the policy says about one manifest, before it is addressed to a system revision."""

    tier: Tier
    rules: tuple[FiredRule, ...]
    required_controls: tuple[RequiredControl, ...]
    evaluation_minimums: tuple[EvaluationMinimum, ...]
    required_approvals: tuple[RequiredApproval, ...]
    monitoring: tuple[MonitoringRequirement, ...]
    incident_slas: tuple[IncidentSla, ...]
    warnings: tuple[str, ...]
    policy: PolicyRef

    def tier_assigned(
        self,
        *,
        system_id: str,
        revision: int,
        manifest_sha256: str,
        previous_tier: Tier | None,
    ) -> TierAssigned:
        """The `tier.assigned` payload of this decision for one manifest revision."""
        return TierAssigned(
            system_id=system_id,
            tier=self.tier,
            previous_tier=previous_tier,
            rules=list(self.rules),
            policy=self.policy,
            manifest_revision=revision,
            manifest_sha256=manifest_sha256,
            required_controls=list(self.required_controls),
            evaluation_minimums=list(self.evaluation_minimums),
            required_approvals=list(self.required_approvals),
            monitoring=list(self.monitoring),
            incident_slas=list(self.incident_slas),
            warnings=list(self.warnings),
        )


def decide(manifest: AISystemManifest, pack: PolicyPack) -> Decision:
    """Classify `manifest` under `pack`. Raises RuleEvaluationError if a pack expression fails."""
    variables = pack.scopes.scope(manifest.to_document())
    tier, fired = _tier(variables, pack)
    requirements = pack.tiers[tier]
    approvals = tuple(requirements.approvals)
    controls = [
        compiled
        for control_id in requirements.controls
        if _applies(compiled := pack.controls[control_id], variables)
    ]
    minimums = _evaluation_minimums(controls, tier, pack)
    required = tuple(_memo_required_control(c, tier, approvals, pack) for c in controls)
    return Decision(
        tier=tier,
        rules=fired,
        required_controls=required,
        evaluation_minimums=minimums,
        required_approvals=approvals,
        monitoring=_monitoring(controls, requirements.incident_slas),
        incident_slas=tuple(requirements.incident_slas),
        warnings=tuple(_warnings(manifest, variables, pack)),
        policy=pack.ref,
    )


def _tier(variables: cel.Context, pack: PolicyPack) -> tuple[Tier, tuple[FiredRule, ...]]:
    for tier in SEVERITY:
        fired = tuple(
            FiredRule(rule_id=compiled.rule.id, reason=_reason(compiled, variables))
            for compiled in pack.rules_for(tier)
            if compiled.when.evaluate_bool(variables)
        )
        if fired:
            return tier, fired
    return pack.info.default_tier, ()


def _reason(compiled: CompiledRule, variables: cel.Context) -> str:
    values = {
        name: ", ".join(expression.evaluate_strings(variables)) or "none"
        for name, expression in compiled.details
    }
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], compiled.rule.reason).strip()


def _applies(control: CompiledControl, variables: cel.Context) -> bool:
    return control.applies_when is None or control.applies_when.evaluate_bool(variables)


def _threshold(metric: str, tier: Tier, pack: PolicyPack) -> EvaluationMinimum:
    policy = pack.evaluation.metrics[metric]
    return EvaluationMinimum(metric=metric, op=policy.op, threshold=policy.thresholds[tier])


def _evaluation_minimums(
    controls: list[CompiledControl], tier: Tier, pack: PolicyPack
) -> tuple[EvaluationMinimum, ...]:
    metrics = dict.fromkeys(
        metric
        for control in controls
        for evidence in control.control.evidence
        for metric in evidence.metrics
    )
    return tuple(_threshold(metric, tier, pack) for metric in metrics)


def _memo_required_control(
    compiled: CompiledControl,
    tier: Tier,
    approvals: tuple[RequiredApproval, ...],
    pack: PolicyPack,
) -> RequiredControl:
    # A control's requirements depend on the pack and the tier only: build each once.
    key = ("required_control", compiled.control.id, tier)
    if key not in pack.memo:
        pack.memo[key] = _required_control(compiled, tier, approvals, pack)
    required: RequiredControl = pack.memo[key]
    return required


def _required_control(
    compiled: CompiledControl,
    tier: Tier,
    approvals: tuple[RequiredApproval, ...],
    pack: PolicyPack,
) -> RequiredControl:
    control = compiled.control
    evidence: list[EvidenceSpec] = []
    for rule in control.evidence:
        evidence.extend(_evidence(rule, tier, approvals, pack))
    return RequiredControl(
        control_id=control.id,
        title=control.title,
        frameworks=control.frameworks,
        evidence=evidence,
    )


def _evidence(
    rule: EvidenceRule, tier: Tier, approvals: tuple[RequiredApproval, ...], pack: PolicyPack
) -> list[EvidenceSpec]:
    # Self-contained specs, so the evidence service can check a control without the pack.
    if rule.kind is EvidenceKind.APPROVAL:
        return [
            EvidenceSpec(kind=rule.kind, role=approval.role, count=approval.count)
            for approval in approvals
        ]
    if rule.kind is EvidenceKind.EVALUATION:
        return [
            EvidenceSpec(
                kind=rule.kind,
                suite=rule.suite,
                metrics=[_threshold(metric, tier, pack) for metric in rule.metrics],
            )
        ]
    return [
        EvidenceSpec(
            kind=rule.kind,
            artifact_kind=rule.artifact_kind,
            required_sections=list(rule.required_sections),
            signals=list(rule.signals),
        )
    ]


def _monitoring(
    controls: list[CompiledControl], slas: list[IncidentSla]
) -> tuple[MonitoringRequirement, ...]:
    acknowledge = ", ".join(
        f"{sla.severity.value} within {sla.acknowledge_within_minutes} min" for sla in slas
    )
    signals = dict.fromkeys(
        signal
        for control in controls
        for evidence in control.control.evidence
        for signal in evidence.signals
    )
    description = (
        f"verified alert route to the on-call; acknowledge {acknowledge}" if slas else None
    )
    return tuple(MonitoringRequirement(signal=s, description=description) for s in signals)


def _warnings(manifest: AISystemManifest, variables: cel.Context, pack: PolicyPack) -> list[str]:
    warnings = [
        f"{path}: field not in the aigov.io/v1 manifest format (typo?)"
        for path in manifest.unknown_fields()
    ]
    for check, expression in pack.vocabulary_checks:
        known = pack.vocabulary[check.vocabulary]
        for value in expression.evaluate_strings(variables):
            if value not in known:
                warnings.append(
                    f"{check.field}: {value!r} is not in the policy vocabulary "
                    f"{check.vocabulary}; it was evaluated conservatively"
                )
    return sorted(set(warnings))
