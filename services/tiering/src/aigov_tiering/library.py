"""Read views of the active policy pack: the pack itself and its control library by framework."""

from __future__ import annotations

import re
from enum import StrEnum

from aigov_tiering.policy import PolicyPack
from aigov_tiering.policy.pack import SEVERITY
from aigov_tiering.schemas import (
    ControlLibrary,
    ControlView,
    DefinitionView,
    FrameworkEntry,
    PolicyView,
    RuleView,
    TierView,
)


class Framework(StrEnum):
    """A governance framework controls are mapped to (`?framework=`)."""

    EU_AI_ACT = "eu-ai-act"
    NIST_AI_RMF = "nist-ai-rmf"
    ISO_42001 = "iso-42001"

    @property
    def field(self) -> str:
        """The FrameworkRefs field holding this framework's references."""
        return self.value.replace("-", "_")


def policy_view(pack: PolicyPack) -> PolicyView:
    """The active pack: identity, definitions, rules, tier requirements, metrics, material rules."""
    return PolicyView(
        name=pack.ref.name,
        version=pack.ref.version,
        sha256=pack.ref.sha256,
        policy_version=pack.version_label,
        description=pack.info.description,
        default_tier=pack.info.default_tier,
        definitions=[DefinitionView(name=name, expr=e.source) for name, e in pack.definitions],
        rules=[
            RuleView(
                id=c.rule.id,
                tier=c.rule.tier,
                title=c.rule.title,
                when=c.rule.when,
                reason=c.rule.reason,
                details=dict(c.rule.details),
            )
            for tier in SEVERITY
            for c in pack.rules_for(tier)
        ],
        tiers={
            tier: TierView(
                controls=list(r.controls),
                approvals=list(r.approvals),
                incident_slas=list(r.incident_slas),
            )
            for tier, r in sorted(pack.tiers.items(), key=lambda item: SEVERITY.index(item[0]))
        },
        evaluation_metrics=dict(pack.evaluation.metrics),
        default_regression_tolerance=pack.evaluation.default_regression_tolerance,
        material_change_rules=list(pack.material_rules),
        vocabulary=pack.vocabulary,
    )


def control_view(pack: PolicyPack, control_id: str) -> ControlView | None:
    """One control of the library, or None."""
    compiled = pack.controls.get(control_id)
    if compiled is None:
        return None
    control = compiled.control
    return ControlView(
        id=control.id,
        title=control.title,
        objective=control.objective,
        applies_when=control.applies_when,
        evidence=list(control.evidence),
        frameworks=control.frameworks,
        required_by=[tier for tier in SEVERITY if control.id in pack.tiers[tier].controls],
    )


def control_library(pack: PolicyPack, framework: Framework | None = None) -> ControlLibrary:
    """The library; with `framework`, only controls mapped to it, indexed by its references."""
    views = [view for cid in pack.controls if (view := control_view(pack, cid)) is not None]
    if framework is None:
        return ControlLibrary(policy_version=pack.version_label, controls=views)
    index: dict[str, list[str]] = {}
    mapped: list[ControlView] = []
    for view in views:
        references: list[str] = getattr(view.frameworks, framework.field)
        if references:
            mapped.append(view)
        for reference in references:
            index.setdefault(reference, []).append(view.id)
    return ControlLibrary(
        policy_version=pack.version_label,
        framework=framework.value,
        controls=mapped,
        by_reference=[
            FrameworkEntry(reference=reference, controls=index[reference])
            for reference in sorted(index, key=natural_key)
        ],
    )


def natural_key(reference: str) -> tuple[tuple[int, str], ...]:
    """Sort key putting `9` before `10` and `MAP 2.10` after `MAP 2.9`."""
    return tuple(
        (int(part), "") if part.isdigit() else (-1, part)
        for part in re.findall(r"\d+|\D+", reference)
    )
