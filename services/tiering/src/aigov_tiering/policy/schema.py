"""The shape of each policy-pack file, validated with pydantic before anything is compiled."""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from aigov_events.catalog.decisions import FrameworkRefs, IncidentSla, RequiredApproval
from aigov_events.catalog.enums import ComparisonOp, EvidenceKind, Tier
from aigov_events.catalog.primitives import CONTROL_ID_PATTERN, Name, Slug, Text
from aigov_events.catalog.releases import MetricName, SectionKey

RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,62}[a-z0-9]$")]
ControlId = Annotated[str, StringConstraints(pattern=CONTROL_ID_PATTERN)]
Expression = Annotated[str, StringConstraints(min_length=1, max_length=4000, pattern=r"\S")]
Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
DottedPath = Annotated[str, StringConstraints(pattern=r"^[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)+$")]
SemVer = Annotated[str, StringConstraints(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$")]

PLACEHOLDER: Final = re.compile(r"\{([a-z][a-z0-9_]*)\}")


class PackModel(BaseModel):
    """Base of the file models: unknown keys are errors (they are typos in a policy)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PackFile(PackModel):
    """`pack.yaml`: the pack's name, declared version and default tier."""

    name: Slug
    version: SemVer
    description: Text
    default_tier: Tier


class VocabularyCheck(PackModel):
    """Manifest values (a CEL list expression) that must be in a vocabulary, else a warning."""

    field: DottedPath
    values: Expression
    vocabulary: Identifier


class VocabularyFile(PackModel):
    """`vocabulary.yaml`: named lists/maps of terms (`vocab.<name>` in expressions)."""

    vocabulary: dict[Identifier, list[Name] | dict[Name, Name]]
    vocabulary_checks: list[VocabularyCheck] = Field(default_factory=list)

    @model_validator(mode="after")
    def _checks_name_vocabularies(self) -> Self:
        for check in self.vocabulary_checks:
            if check.vocabulary not in self.vocabulary:
                raise ValueError(f"vocabulary check names unknown vocabulary {check.vocabulary!r}")
        return self


class Definition(PackModel):
    """A named CEL expression, bound as `defs.<name>` for the rules and controls."""

    name: Identifier
    expr: Expression


class TierRule(PackModel):
    """A rule: when `when` holds, the manifest is at least `tier`, for `reason`."""

    id: RuleId
    tier: Tier
    title: Name
    when: Expression
    reason: Text
    details: dict[Identifier, Expression] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _placeholders_are_defined(self) -> Self:
        missing = sorted(set(PLACEHOLDER.findall(self.reason)) - set(self.details))
        if missing:
            raise ValueError(f"reason uses {missing} without a matching entry in details")
        return self


class TierRulesFile(PackModel):
    """`tier-rules.yaml`: definitions and the ordered tier rules."""

    definitions: list[Definition] = Field(default_factory=list)
    rules: list[TierRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        _require_unique("rule id", [rule.id for rule in self.rules])
        _require_unique("definition name", [d.name for d in self.definitions])
        return self


class EvidenceRule(PackModel):
    """What evidence satisfies a control (thresholds, approvers come from the tier)."""

    kind: EvidenceKind
    artifact_kind: Slug | None = None
    required_sections: list[SectionKey] = Field(default_factory=list)
    suite: Name | None = None
    metrics: list[MetricName] = Field(default_factory=list)
    signals: list[Slug] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> Self:
        wanted: dict[EvidenceKind, set[str]] = {
            EvidenceKind.ARTIFACT: {"artifact_kind", "required_sections"},
            EvidenceKind.EVALUATION: {"suite", "metrics"},
            EvidenceKind.APPROVAL: set(),
            EvidenceKind.MONITORING: {"signals"},
            EvidenceKind.LINEAGE: set(),
        }
        extra = sorted(self.model_fields_set - wanted[self.kind] - {"kind"})
        if extra:
            raise ValueError(f"{extra} do not apply to {self.kind.value} evidence")
        if self.kind is EvidenceKind.ARTIFACT and self.artifact_kind is None:
            raise ValueError("artifact evidence needs artifact_kind")
        if self.kind is EvidenceKind.EVALUATION and not self.metrics:
            raise ValueError("evaluation evidence needs metrics")
        if self.kind is EvidenceKind.MONITORING and not self.signals:
            raise ValueError("monitoring evidence needs signals")
        return self


class Control(PackModel):
    """A control of the library."""

    id: ControlId
    title: Name
    objective: Text
    applies_when: Expression | None = None
    evidence: list[EvidenceRule] = Field(min_length=1, max_length=10)
    frameworks: FrameworkRefs


class ControlsFile(PackModel):
    """`controls.yaml`: the control library."""

    controls: list[Control] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        _require_unique("control id", [control.id for control in self.controls])
        return self


class TierRequirements(PackModel):
    """What one tier requires."""

    controls: list[ControlId]
    approvals: list[RequiredApproval] = Field(default_factory=list)
    incident_slas: list[IncidentSla] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        _require_unique("control", self.controls)
        _require_unique("approval role", [a.role for a in self.approvals])
        _require_unique("incident severity", [s.severity for s in self.incident_slas])
        return self


class TiersFile(PackModel):
    """`tiers.yaml`: requirements of every tier."""

    tiers: dict[Tier, TierRequirements]

    @model_validator(mode="after")
    def _every_tier(self) -> Self:
        missing = [tier.value for tier in Tier if tier not in self.tiers]
        if missing:
            raise ValueError(f"requirements missing for tier(s) {missing}")
        return self


class MetricPolicy(PackModel):
    """How a metric is compared, its minimum per tier and its regression tolerance."""

    op: ComparisonOp
    thresholds: dict[Tier, float] = Field(default_factory=dict)
    regression_tolerance: float | None = Field(default=None, ge=0)


class EvaluationFile(PackModel):
    """`evaluation.yaml`: the metrics evaluation controls name."""

    default_regression_tolerance: float = Field(ge=0)
    metrics: dict[MetricName, MetricPolicy]


class MaterialRule(PackModel):
    """Manifest fields whose change (per `compare`) is material."""

    id: RuleId
    title: Name
    fields: list[DottedPath] = Field(min_length=1)
    compare: Literal["changed", "gains-sensitive-data-class"] = "changed"


class MaterialChangeFile(PackModel):
    """`material-change.yaml`: the material-change rules."""

    rules: list[MaterialRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        _require_unique("rule id", [rule.id for rule in self.rules])
        return self


def _require_unique(what: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value!r} appears more than once")
        seen.add(value)
