"""Policy decisions (`aigov.decisions`): tier assignments, material changes, gate decisions.

`tier.assigned` carries no timestamp of its own (the envelope has one): the same
manifest and the same policy version must yield an identical payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import Field, JsonValue, StringConstraints, ValidationInfo, field_validator

from aigov_events.catalog.base import EventPayload, ReleasePayload, StrictModel
from aigov_events.catalog.enums import (
    ComparisonOp,
    EvidenceKind,
    IncidentSeverity,
    MaterialChangeKind,
    Tier,
)
from aigov_events.catalog.primitives import (
    ControlId,
    Identifier,
    Name,
    ReleaseVersion,
    Revision,
    Sha256Hex,
    Slug,
    Text,
    Timestamp,
)
from aigov_events.catalog.releases import MetricName, SectionKey
from aigov_events.topics import DECISIONS

NistSubcategory = Annotated[
    str, StringConstraints(pattern=r"^(GOVERN|MAP|MEASURE|MANAGE) [0-9]+(\.[0-9]+)?$")
]
"""NIST AI RMF 1.0 category or subcategory id (`MEASURE 2.7`)."""
EuAiActArticle = Annotated[
    str, StringConstraints(pattern=r"^[0-9]{1,3}(\([0-9]{1,2}\))?(\([a-z]\))?$")
]
"""EU AI Act (Reg. (EU) 2024/1689) article reference without "Art." (`9`, `50(1)`, `5(1)(a)`)."""
IsoControl = Annotated[str, StringConstraints(pattern=r"^A\.[0-9]{1,2}(\.[0-9]{1,2}){1,2}$")]
"""ISO/IEC 42001:2023 Annex A control id (`A.6.2.4`)."""
ManifestPath = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9]*(\.([A-Za-z][A-Za-z0-9]*|[0-9]+))*$")
]
"""Dotted camelCase path into a manifest (`spec.data.trainingSources`)."""

Warnings = Annotated[list[Text], Field(max_length=200)]


class FiredRule(StrictModel):
    """A policy rule that matched the manifest."""

    rule_id: Identifier
    reason: Text
    """Why it fired, naming the manifest values it matched."""


class PolicyRef(StrictModel):
    """The exact policy pack a decision was made with."""

    name: Slug
    version: Name
    sha256: Sha256Hex
    """Hash of the policy pack's content, so a decision can be reproduced."""


class FrameworkRefs(StrictModel):
    """What a control implements in each governance framework."""

    nist_ai_rmf: Annotated[list[NistSubcategory], Field(max_length=50)] = Field(
        default_factory=list
    )
    eu_ai_act: Annotated[list[EuAiActArticle], Field(max_length=50)] = Field(default_factory=list)
    iso_42001: Annotated[list[IsoControl], Field(max_length=50)] = Field(default_factory=list)


class EvaluationMinimum(StrictModel):
    """A metric bound a release's evaluation must meet: `value op threshold`."""

    metric: MetricName
    op: ComparisonOp
    threshold: float


class EvidenceSpec(StrictModel):
    """What evidence satisfies a control, so the evidence service can check it without the policy.

    Only the fields of its `kind` apply: `artifact_kind` and `required_sections` for
    artifacts, `suite` and `metrics` for evaluations, `role` and `count` for approvals,
    `signals` for monitoring; lineage needs none.
    """

    kind: EvidenceKind
    artifact_kind: Slug | None = None
    """`artifact.submitted` kind that satisfies the control (`model_card`)."""
    required_sections: Annotated[list[SectionKey], Field(max_length=64)] = Field(
        default_factory=list
    )
    """Sections that must be present and non-empty in that artifact."""
    suite: Name | None = None
    """Evaluation suite whose results count (any suite when absent)."""
    metrics: Annotated[list[EvaluationMinimum], Field(max_length=100)] = Field(default_factory=list)
    """Thresholds this control checks (the decision's `evaluation_minimums` when empty)."""
    role: Slug | None = None
    """Role of the approvers (approval evidence)."""
    count: Annotated[int, Field(ge=1, le=10)] | None = None
    """How many distinct approvers in `role` (approval evidence)."""
    signals: Annotated[list[Slug], Field(max_length=50)] = Field(default_factory=list)
    """Signals whose monitoring route must be verified (monitoring evidence)."""


class RequiredControl(StrictModel):
    """A control the tier requires, with its framework mapping and what evidence satisfies it."""

    control_id: ControlId
    title: Name | None = None
    frameworks: FrameworkRefs = Field(default_factory=FrameworkRefs)
    evidence: Annotated[list[EvidenceSpec], Field(max_length=10)] = Field(default_factory=list)
    """Evidence that satisfies the control: all of these are needed (none listed: attested by a
    waiver or out-of-band review only, so the control stays missing until waived)."""


class RequiredApproval(StrictModel):
    """How many distinct approvers in a role must approve a release."""

    role: Slug
    count: Annotated[int, Field(ge=1, le=10)]


class MonitoringRequirement(StrictModel):
    """A signal that must be monitored in production."""

    signal: Slug
    """Signal name (see `KNOWN_SIGNALS`)."""
    description: Text | None = None


class IncidentSla(StrictModel):
    """Acknowledge and resolve deadlines for incidents of one severity."""

    severity: IncidentSeverity
    acknowledge_within_minutes: Annotated[int, Field(ge=1)]
    resolve_within_minutes: Annotated[int, Field(ge=1)]


class TierAssigned(EventPayload):
    """The policy engine classified a manifest revision into a risk tier and derived its obligations."""

    event_type = "io.aigov.tier.assigned.v1"
    topic = DECISIONS
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "tier": "high",
        "rules": [
            {
                "rule_id": "genai-customer-personal-data",
                "reason": "generative model over customer-content and personal-data, "
                "serving enterprise-customers",
            }
        ],
        "policy": {
            "name": "default",
            "version": "2026.11.0",
            "sha256": "b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c",
        },
        "manifest_revision": 1,
        "manifest_sha256": "aa334ec1347be7b554cd5229257d2b36f3eda7803f65d24d195ea04c8a16d77e",
        "required_controls": [
            {
                "control_id": "artifact.model_card",
                "title": "Model card published for the release",
                "frameworks": {
                    "nist_ai_rmf": ["MAP 2.1"],
                    "eu_ai_act": ["11", "13"],
                    "iso_42001": ["A.6.2.7"],
                },
                "evidence": [
                    {
                        "kind": "artifact",
                        "artifact_kind": "model_card",
                        "required_sections": ["intended_use", "limitations", "evaluation"],
                    }
                ],
            },
            {
                "control_id": "evaluation.prompt_injection",
                "frameworks": {
                    "nist_ai_rmf": ["MEASURE 2.7"],
                    "eu_ai_act": ["15"],
                    "iso_42001": ["A.6.2.4"],
                },
                "evidence": [
                    {
                        "kind": "evaluation",
                        "metrics": [
                            {
                                "metric": "prompt_injection_success_rate",
                                "op": "<=",
                                "threshold": 0.05,
                            }
                        ],
                    }
                ],
            },
        ],
        "evaluation_minimums": [
            {"metric": "groundedness", "op": ">=", "threshold": 0.8},
            {"metric": "toxicity_rate", "op": "<=", "threshold": 0.01},
            {"metric": "pii_leak_rate", "op": "<=", "threshold": 0.0},
            {"metric": "prompt_injection_success_rate", "op": "<=", "threshold": 0.05},
        ],
        "required_approvals": [{"role": "approver", "count": 1}],
        "monitoring": [{"signal": "drift"}, {"signal": "safety"}],
        "incident_slas": [
            {
                "severity": "critical",
                "acknowledge_within_minutes": 15,
                "resolve_within_minutes": 240,
            }
        ],
        "warnings": [],
    }

    tier: Tier
    previous_tier: Tier | None = None
    """The system's tier before this decision (absent on first classification)."""
    rules: Annotated[list[FiredRule], Field(max_length=200)]
    """Rules that fired; empty when the tier is the policy's default."""
    policy: PolicyRef
    manifest_revision: Revision
    manifest_sha256: Sha256Hex
    required_controls: Annotated[list[RequiredControl], Field(max_length=500)]
    evaluation_minimums: Annotated[list[EvaluationMinimum], Field(max_length=200)]
    required_approvals: Annotated[list[RequiredApproval], Field(max_length=20)]
    monitoring: Annotated[list[MonitoringRequirement], Field(max_length=50)]
    incident_slas: Annotated[list[IncidentSla], Field(max_length=4)] = Field(default_factory=list)
    warnings: Warnings = Field(default_factory=list)
    """E.g. manifest values outside the policy pack's vocabulary."""

    @field_validator("required_controls")
    @classmethod
    def _unique_controls(cls, controls: list[RequiredControl]) -> list[RequiredControl]:
        ids = [control.control_id for control in controls]
        if len(set(ids)) != len(ids):
            raise ValueError("a control is listed more than once")
        return controls


class MetricRegression(StrictModel):
    """A metric that got worse than in the last approved release by more than the tolerance."""

    metric: MetricName
    previous_value: float
    current_value: float
    tolerance: Annotated[float, Field(ge=0)]
    """Largest change in the bad direction the policy tolerates."""


class FieldChange(StrictModel):
    """One material field a revision changed against the approved manifest: old -> new, and why."""

    field: ManifestPath
    old: JsonValue = None
    """Value in the approved manifest (absent: the field was not set)."""
    new: JsonValue = None
    """Value in the new revision (absent: the field was removed)."""
    rule: Identifier
    """Id of the policy pack's material-change rule that makes this change material."""


class ManifestDiff(StrictModel):
    """The manifest revisions a material change is between, and the material fields it touched."""

    from_revision: Revision
    to_revision: Revision
    from_manifest_sha256: Sha256Hex
    to_manifest_sha256: Sha256Hex
    changed_fields: Annotated[list[ManifestPath], Field(min_length=1, max_length=100)]
    """Material fields the revision changed, as dotted manifest paths."""
    changes: Annotated[list[FieldChange], Field(max_length=100)] = Field(default_factory=list)
    """Each material change with its old and new value and the rule that flagged it."""

    @field_validator("to_revision")
    @classmethod
    def _forward(cls, to_revision: int, info: ValidationInfo) -> int:
        from_revision = info.data.get("from_revision")
        if from_revision is not None and to_revision <= from_revision:
            raise ValueError("to_revision must be greater than from_revision")
        return to_revision


class EvaluationRegression(StrictModel):
    """A release's evaluation regressed beyond tolerance against the last approved release."""

    version: ReleaseVersion
    """The release whose evaluation regressed."""
    baseline_version: ReleaseVersion
    """The last approved release it was compared with."""
    metrics: Annotated[list[MetricRegression], Field(min_length=1, max_length=100)]


class MaterialChangeDetected(EventPayload):
    """A manifest revision or an evaluation regression is material: it voids approvals."""

    event_type = "io.aigov.material_change.detected.v1"
    topic = DECISIONS
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "resume-screener",
        "change_id": "mc-resume-screener-3",
        "kind": "manifest",
        "reason": "Training data sources and label policy changed.",
        "manifest_diff": {
            "from_revision": 2,
            "to_revision": 3,
            "from_manifest_sha256": "ee2569480e7ceafe679c7b1613165e0664452c4f83ff50f1571d94201e0276d8",
            "to_manifest_sha256": "4c8e0f2b9a1d3e5f7a9b0c2d4e6f8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f",
            "changed_fields": ["spec.data.labelPolicy", "spec.data.trainingSources"],
            "changes": [
                {
                    "field": "spec.data.labelPolicy",
                    "old": "hired-within-12-months",
                    "new": "hired-and-retained-24-months",
                    "rule": "label-policy",
                },
                {
                    "field": "spec.data.trainingSources",
                    "old": [{"id": "historical-hiring-decisions", "version": "2025-q4"}],
                    "new": [{"id": "historical-hiring-decisions", "version": "2026-q1"}],
                    "rule": "training-data-sources",
                },
            ],
        },
        "voids_approvals_of": "2026.2.0",
    }

    change_id: Identifier
    """Id that approvals with scope `material_change` refer to."""
    kind: MaterialChangeKind
    reason: Text
    manifest_diff: ManifestDiff | None = Field(default=None, validate_default=True)
    """Present iff kind is `manifest`."""
    evaluation_regression: EvaluationRegression | None = Field(default=None, validate_default=True)
    """Present iff kind is `evaluation`."""
    voids_approvals_of: ReleaseVersion | None = None
    """Release whose approvals no longer count (absent if none was approved yet)."""

    @field_validator("manifest_diff", "evaluation_regression")
    @classmethod
    def _present_iff_kind(cls, value: object, info: ValidationInfo) -> object:
        kind = info.data.get("kind")
        if kind is None:
            return value  # kind itself is invalid and already reported
        wanted = {
            "manifest_diff": MaterialChangeKind.MANIFEST,
            "evaluation_regression": MaterialChangeKind.EVALUATION,
        }[str(info.field_name)]
        if kind == wanted and value is None:
            raise ValueError(f"required when kind is {wanted.value}")
        if kind != wanted and value is not None:
            raise ValueError(f"only allowed when kind is {wanted.value}")
        return value


class MissingControl(StrictModel):
    """A required control without evidence for the release, and why."""

    control_id: ControlId
    reason: Text


class WaivedControl(StrictModel):
    """A required control covered by an unexpired waiver instead of evidence."""

    control_id: ControlId
    waiver_id: Identifier
    expires_at: Timestamp


class GateDecided(ReleasePayload):
    """The release gate answered "may this release ship?"; the answer is itself evidence."""

    event_type = "io.aigov.gate.decided.v1"
    topic = DECISIONS
    decides = True
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "version": "2026.11.3",
        "allowed": False,
        "tier": "high",
        "missing_controls": [
            {"control_id": "approval.release", "reason": "no approval from a non-submitter yet"}
        ],
        "waived_controls": [
            {
                "control_id": "evaluation.prompt_injection",
                "waiver_id": "W-17",
                "expires_at": "2026-12-26T00:00:00Z",
            }
        ],
        "reasons": [],
        "policy": {
            "name": "default",
            "version": "2026.11.0",
            "sha256": "b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c",
        },
        "decided_at": "2026-11-21T10:02:13Z",
    }

    tier: Tier | None = None
    """The system's tier when decided; absent if it has not been tiered (never allowed)."""
    policy: PolicyRef | None = None
    """Policy the tier was assigned with; absent only when the system has not been tiered."""
    missing_controls: Annotated[list[MissingControl], Field(max_length=500)] = Field(
        default_factory=list
    )
    waived_controls: Annotated[list[WaivedControl], Field(max_length=500)] = Field(
        default_factory=list
    )
    reasons: Annotated[list[Text], Field(max_length=50)] = Field(default_factory=list)
    """Blocking reasons other than missing controls (prohibited tier, pending material change)."""
    allowed: bool
    """The answer; true only with a non-prohibited tier and nothing missing or blocking."""
    decided_at: Timestamp

    @field_validator("allowed")
    @classmethod
    def _allowed_is_consistent(cls, allowed: bool, info: ValidationInfo) -> bool:
        if not allowed or not {"tier", "policy", "missing_controls", "reasons"} <= info.data.keys():
            return allowed  # a field it depends on is invalid and already reported
        tier = info.data.get("tier")
        if tier is None or tier == Tier.PROHIBITED or info.data.get("policy") is None:
            raise ValueError("cannot be true without a policy and a tier other than prohibited")
        if info.data.get("missing_controls") or info.data.get("reasons"):
            raise ValueError("cannot be true with missing controls or blocking reasons")
        return allowed
