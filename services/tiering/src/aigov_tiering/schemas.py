"""API shapes of tiering (never table classes, never event payloads reused as tables)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from aigov_events.catalog.decisions import (
    EvaluationMinimum,
    FieldChange,
    FiredRule,
    FrameworkRefs,
    IncidentSla,
    MonitoringRequirement,
    PolicyRef,
    RequiredApproval,
    RequiredControl,
    TierAssigned,
)
from aigov_events.catalog.enums import Tier
from aigov_tiering.policy.schema import EvidenceRule, MaterialRule, MetricPolicy


class ApiModel(BaseModel):
    """Base of response bodies: frozen, documented from attribute docstrings."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)


class MaterialChangeResult(ApiModel):
    """Whether `manifest` is a material change against `previous`, and which fields make it so."""

    material: bool
    changes: list[FieldChange]
    """Material changes: field, old value, new value and the material-change rule."""
    non_material_fields: list[str]
    """Fields that changed without needing a new approval."""


class SimulationResult(ApiModel):
    """The decision a manifest would get now (no timestamps or ids: same input, same body)."""

    tier: Tier
    reasons: list[FiredRule]
    """Rules that fired, with why; empty when the tier is the policy's default."""
    policy_version: str
    """`<declared version>+sha256.<first 12 hex>` of the active policy pack."""
    policy: PolicyRef
    previous_tier: Tier | None = None
    """Tier of `previous`, when given."""
    required_controls: list[RequiredControl]
    evaluation_minimums: list[EvaluationMinimum]
    required_approvals: list[RequiredApproval]
    monitoring: list[MonitoringRequirement]
    incident_slas: list[IncidentSla]
    warnings: list[str]
    material_change: MaterialChangeResult | None = None
    """Present when `previous` was given."""


class RuleView(ApiModel):
    """A tier rule of the active pack."""

    id: str
    tier: Tier
    title: str
    when: str
    """CEL condition over the manifest."""
    reason: str
    """Reason template; `{name}` placeholders are filled from `details`."""
    details: dict[str, str]


class DefinitionView(ApiModel):
    """A named CEL expression the rules use as `defs.<name>`."""

    name: str
    expr: str


class TierView(ApiModel):
    """What one tier requires."""

    controls: list[str]
    approvals: list[RequiredApproval]
    incident_slas: list[IncidentSla]


class PolicyView(ApiModel):
    """The active policy pack: its identity and its rules."""

    name: str
    version: str
    sha256: str
    policy_version: str
    description: str
    default_tier: Tier
    definitions: list[DefinitionView]
    rules: list[RuleView]
    tiers: dict[Tier, TierView]
    evaluation_metrics: dict[str, MetricPolicy]
    default_regression_tolerance: float
    material_change_rules: list[MaterialRule]
    vocabulary: dict[str, Any]


class ControlView(ApiModel):
    """A control of the library with its framework mappings."""

    id: str
    title: str
    objective: str
    applies_when: str | None = None
    """CEL condition limiting the control to some systems (always applies when absent)."""
    evidence: list[EvidenceRule]
    """What satisfies it; thresholds and approvers come from the tier (see tier.assigned)."""
    frameworks: FrameworkRefs
    required_by: list[Tier]
    """Tiers that require it (subject to `applies_when`)."""


class FrameworkEntry(ApiModel):
    """One framework reference and the controls mapped to it."""

    reference: str
    """Article (`15`, `50(1)`), NIST AI RMF subcategory (`MEASURE 2.7`) or ISO control (`A.6.2.4`)."""
    controls: list[str]


class ControlLibrary(ApiModel):
    """The control library of the active pack, optionally indexed by one framework."""

    policy_version: str
    framework: str | None = None
    controls: list[ControlView]
    """Every control (with `framework`: those mapped to it)."""
    by_reference: list[FrameworkEntry] | None = Field(default=None)
    """With `framework`: its references in order, each with the controls mapped to it."""


class ManifestChangeView(ApiModel):
    """How one revision differed from the approved manifest (or the previous one, before any approval)."""

    revision: int
    baseline_revision: int | None = None
    """Approved revision compared with; absent before the first approval (nothing to void)."""
    material: bool
    changes: list[FieldChange]
    non_material_fields: list[str]
    change_id: str | None = None
    """The published `material_change.detected`, if any."""


class BaselineView(ApiModel):
    """The approved manifest revision and release changes are measured against."""

    revision: int
    version: str
    pending_change_id: str | None = None
    """A detected material change not approved yet."""


class SystemView(ApiModel):
    """What tiering knows about a system: its current decision, baseline and change history."""

    system_id: str
    revision: int
    tier: Tier
    decision: TierAssigned
    """The last published `tier.assigned`."""
    evaluated_with: str
    """SHA-256 of the pack the system was last evaluated with (re-tiering may leave the decision
    unchanged, and so unpublished, under a newer pack)."""
    retired: bool
    baseline: BaselineView | None = None
    changes: list[ManifestChangeView]
