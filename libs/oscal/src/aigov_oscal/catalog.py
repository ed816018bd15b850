"""The control library as an OSCAL catalog: one group per control family, one control each.

A control's objective is its `statement` part; each evidence rule is an `evidence` part
(aigov namespace) with the rule's fields as props; framework mappings (NIST AI RMF, EU AI Act,
ISO/IEC 42001) and the tiers requiring the control are props. Control ids are used unchanged:
aigov's pattern (`artifact.model_card`) is a subset of OSCAL's token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Protocol

from aigov_events.catalog.decisions import FrameworkRefs, PolicyRef
from aigov_events.catalog.enums import EvidenceKind
from aigov_oscal.ids import oscal_uuid, token
from aigov_oscal.metadata import AIGOV_NS, Property, metadata, prop

#: Group titles of the families a control id starts with (`artifact.model_card`).
FAMILIES: Final[dict[str, str]] = {
    "artifact": "Documentation artifacts",
    "governance": "Governance",
    "evaluation": "Evaluations",
    "approval": "Approvals",
    "monitoring": "Monitoring",
    "lineage": "Lineage",
}
#: Property names of the three framework mappings, by FrameworkRefs field.
FRAMEWORK_PROPS: Final[dict[str, str]] = {
    "nist_ai_rmf": "nist-ai-rmf",
    "eu_ai_act": "eu-ai-act-article",
    "iso_42001": "iso-42001",
}


class EvidenceRule(Protocol):
    """What evidence satisfies a control (the policy pack's rule; thresholds come per tier)."""

    @property
    def kind(self) -> EvidenceKind: ...
    @property
    def artifact_kind(self) -> str | None: ...
    @property
    def required_sections(self) -> Sequence[str]: ...
    @property
    def suite(self) -> str | None: ...
    @property
    def metrics(self) -> Sequence[str]: ...
    @property
    def signals(self) -> Sequence[str]: ...


class LibraryControl(Protocol):
    """A control of the library, as the policy pack declares it."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def objective(self) -> str: ...
    @property
    def applies_when(self) -> str | None: ...
    @property
    def evidence(self) -> Sequence[EvidenceRule]: ...
    @property
    def frameworks(self) -> FrameworkRefs: ...


def statement_id(control_id: str) -> str:
    """The id of a control's statement part: what assessment findings target."""
    return f"{control_id}_smt"


def family(control_id: str) -> str:
    """The family (group id) of a control: the part of its id before the first dot."""
    return control_id.split(".", 1)[0]


def framework_props(frameworks: FrameworkRefs) -> list[Property]:
    """One prop per framework reference, in the pack's order."""
    return [
        prop(name, reference)
        for field, name in FRAMEWORK_PROPS.items()
        for reference in getattr(frameworks, field)
    ]


def _describe(rule: EvidenceRule) -> str:
    if rule.kind is EvidenceKind.ARTIFACT:
        sections = ", ".join(rule.required_sections) or "none"
        return (
            f"An artifact.submitted of kind {rule.artifact_kind} for the release, with these "
            f"sections present and non-empty: {sections}."
        )
    if rule.kind is EvidenceKind.EVALUATION:
        suite = f" of suite {rule.suite}" if rule.suite else ""
        return (
            f"The latest evaluation.completed{suite} of the release measuring "
            f"{', '.join(rule.metrics)} meets the tier's threshold for each."
        )
    if rule.kind is EvidenceKind.APPROVAL:
        return (
            "approval.granted of the release by the approvers the tier requires (role and "
            "count), none of them a submitter of the release, after the last material change."
        )
    if rule.kind is EvidenceKind.MONITORING:
        return (
            "The monitoring router's latest probe of the alert route of each signal is ok: "
            f"{', '.join(rule.signals)}."
        )
    return "A lineage.recorded for the system (this release, or none in particular)."


def _evidence_part(control_id: str, index: int, rule: EvidenceRule) -> dict[str, Any]:
    props = [prop("evidence-kind", rule.kind.value)]
    if rule.artifact_kind is not None:
        props.append(prop("artifact-kind", rule.artifact_kind))
    props += [prop("required-section", section) for section in rule.required_sections]
    if rule.suite is not None:
        props.append(prop("evaluation-suite", rule.suite))
    props += [prop("metric", metric) for metric in rule.metrics]
    props += [prop("signal", signal) for signal in rule.signals]
    return {
        "id": f"{control_id}_evd.{index}",
        "name": "evidence",
        "ns": AIGOV_NS,
        "title": f"Evidence: {rule.kind.value}",
        "props": props,
        "prose": _describe(rule),
    }


def control(control: LibraryControl, required_by: Sequence[str]) -> dict[str, Any]:
    """One OSCAL control: statement, evidence parts, framework and tier props."""
    control_id = token(control.id)
    # `label` is OSCAL's own property (no namespace): how tools show the control.
    label: Property = {"name": "label", "value": control_id}
    props = [label, *framework_props(control.frameworks)]
    props += [prop("required-by-tier", tier) for tier in required_by]
    parts: list[dict[str, Any]] = [
        {"id": statement_id(control_id), "name": "statement", "prose": control.objective}
    ]
    if control.applies_when is not None:
        parts.append(
            {
                "id": f"{control_id}_app",
                "name": "applicability",
                "ns": AIGOV_NS,
                "title": "Applies when (CEL over the system manifest)",
                "prose": control.applies_when,
            }
        )
    parts += [_evidence_part(control_id, i, rule) for i, rule in enumerate(control.evidence, 1)]
    return {"id": control_id, "title": control.title, "props": props, "parts": parts}


def build_catalog(
    controls: Sequence[LibraryControl],
    *,
    policy: PolicyRef,
    policy_version: str,
    required_by: Mapping[str, Sequence[str]],
    last_modified: datetime,
) -> dict[str, Any]:
    """The `{"catalog": ...}` document of a policy pack's control library.

    `policy_version` is the pack's label (`<version>+sha256.<digest>`), the document version;
    `required_by` maps a control id to the tiers requiring it, most severe first.
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in controls:
        groups.setdefault(family(item.id), []).append(control(item, required_by.get(item.id, ())))
    return {
        "catalog": {
            "uuid": oscal_uuid("catalog", policy.name, policy.sha256),
            "metadata": metadata(
                f"aigov control library (policy pack {policy.name} {policy.version})",
                last_modified=last_modified,
                version=policy_version,
                props=[
                    prop("policy-name", policy.name),
                    prop("policy-version", policy.version),
                    prop("policy-sha256", policy.sha256),
                ],
            ),
            "groups": [
                {
                    "id": token(name),
                    "class": "family",
                    "title": FAMILIES.get(name, name.replace("_", " ").capitalize()),
                    "controls": members,
                }
                for name, members in groups.items()
            ],
        }
    }
