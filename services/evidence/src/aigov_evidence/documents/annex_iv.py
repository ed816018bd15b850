"""EU AI Act Annex IV technical documentation (Art. 11(1)) of a high-tier release.

The nine points of Annex IV, each filled from the dossier. Where evidence is missing, the
section carries a gap naming the required controls whose evidence would supply it (matched
by artifact kind, evidence kind or the EU AI Act articles the control maps to). A system the
latest tier decision does not put in the high tier gets `NotApplicable`.
"""

from __future__ import annotations

from typing import Final

from aigov_events.catalog import EvidenceKind, Tier
from aigov_evidence.documents import NotApplicable
from aigov_evidence.documents.document import Document, Fact, Gap, Item, Table, Text
from aigov_evidence.documents.dossier import Dossier
from aigov_evidence.documents.sections import (
    NOTES,
    Part,
    approvals_part,
    artifact_part,
    controls_table,
    data_part,
    evaluation_part,
    gap,
    incidents_part,
    listed,
    model_part,
    monitoring_part,
    oversight_part,
    purpose_part,
    section,
    shortfalls,
    tier_part,
    users_part,
    waivers_part,
    when,
)
from aigov_evidence.documents.sections import header as release_header

TECHNICAL_DOCUMENTATION: Final = "technical_documentation"
CONFORMITY_DECLARATION: Final = "conformity_declaration"


def check_applicable(dossier: Dossier) -> None:
    """NotApplicable unless the latest tier decision puts the system in the high tier."""
    decision = dossier.decision
    if decision is None:
        raise NotApplicable(
            f"Annex IV technical documentation is for high-risk systems; {dossier.system_id} "
            "has no tier decision yet, so it is not known to be high tier"
        )
    if decision.tier != Tier.HIGH:
        policy = f"{decision.policy.name} {decision.policy.version}"
        why = (
            "a prohibited system may not be placed on the market at all (EU AI Act Art. 5)"
            if decision.tier == Tier.PROHIBITED
            else "Annex IV (Art. 11) applies to high-risk systems only"
        )
        raise NotApplicable(
            f"{dossier.system_id} is {decision.tier.value} tier under policy {policy}, not "
            f"high: {why}"
        )


def _provider(dossier: Dossier) -> list[Item]:
    system = dossier.system
    return [
        Fact("Provider contact (owner)", system.owner or "not recorded"),
        Fact("Team", system.team or "not recorded"),
        Fact("Version of the system", dossier.version),
    ]


def _lineage_gap(dossier: Dossier) -> Part:
    if dossier.lineage:
        return []
    missing = f"not recorded: no lineage of the training data for release {dossier.version}"
    found = gap(dossier, missing, evidence_kinds=[EvidenceKind.LINEAGE])
    return ([], [found]) if found.controls else []


def _changes(dossier: Dossier) -> Part:
    items: list[Item] = []
    gaps: list[Gap] = []
    if dossier.revisions:
        items.append(
            Table(
                ("revision", "manifest sha256", "recorded", "by", "event"),
                tuple(
                    (
                        str(r.payload.revision),
                        r.payload.manifest_sha256,
                        when(r.time),
                        r.actor,
                        r.event_id,
                    )
                    for r in dossier.revisions
                ),
                caption="Manifest revisions",
            )
        )
    else:
        gaps.append(
            Gap(
                missing=f"not recorded: the ledger holds no manifest of {dossier.system_id}",
                note="register the system (POST /v1/systems) so its revisions are evidence",
            )
        )
    if dossier.tier_history:
        items.append(
            Table(
                ("tier", "policy", "manifest revision", "rules", "event"),
                tuple(
                    (
                        r.payload.tier.value,
                        f"{r.payload.policy.name} {r.payload.policy.version}",
                        str(r.payload.manifest_revision),
                        listed(rule.rule_id for rule in r.payload.rules),
                        r.event_id,
                    )
                    for r in dossier.tier_history
                ),
                caption="Tier decisions",
            )
        )
    pending = {c.change_id for c in dossier.pending_changes}
    if dossier.material_changes:
        items.append(
            Table(
                ("change", "kind", "reason", "status", "event"),
                tuple(
                    (
                        r.payload.change_id,
                        r.payload.kind.value,
                        r.payload.reason,
                        "awaiting approval" if r.payload.change_id in pending else "approved",
                        r.event_id,
                    )
                    for r in dossier.material_changes
                ),
                caption="Material changes detected",
            )
        )
    else:
        items.append(Text("No material change was detected for the system."))
    if dossier.deployments:
        items.append(
            Table(
                ("event type", "detail", "recorded", "event"),
                tuple(
                    (
                        type(r.payload).__name__,
                        ", ".join(
                            f"{k}={v}"
                            for k, v in r.payload.model_dump(mode="json").items()
                            if k in ("environment", "region", "outcome", "to_version", "reason")
                        ),
                        when(r.time),
                        r.event_id,
                    )
                    for r in dossier.deployments
                ),
                caption="Deployments of the release",
            )
        )
    return items, gaps


def _frameworks(dossier: Dossier) -> list[Item]:
    decision = dossier.decision
    if decision is None or not decision.required_controls:
        return []
    states = {c.control_id: c.state for c in dossier.controls}
    return [
        Text(
            "The policy pack maps each required control to the frameworks below. This is a "
            "mapping of aigov's controls, not a claim that a harmonised standard was applied."
        ),
        Table(
            ("control", "EU AI Act", "NIST AI RMF 1.0", "ISO/IEC 42001:2023", "state"),
            tuple(
                (
                    c.control_id,
                    listed(c.frameworks.eu_ai_act),
                    listed(c.frameworks.nist_ai_rmf),
                    listed(c.frameworks.iso_42001),
                    states.get(c.control_id, "unknown"),
                )
                for c in decision.required_controls
            ),
            caption="Frameworks the required controls implement",
        ),
    ]


def annex_iv(dossier: Dossier) -> Document:
    """The Annex IV technical documentation of a high-tier release (NotApplicable otherwise)."""
    check_applicable(dossier)
    name = dossier.system.name or dossier.system_id
    sections = (
        section(
            "annex-iv-1",
            "1. General description of the AI system",
            purpose_part(dossier),
            _provider(dossier),
            users_part(dossier),
            artifact_part(
                dossier,
                TECHNICAL_DOCUMENTATION,
                [("system_description", "System description (technical documentation)")],
                articles=["11"],
            ),
            artifact_part(
                dossier,
                "instructions_for_use",
                [
                    ("intended_purpose", "Intended purpose (instructions for use)"),
                    ("accuracy", "Accuracy (instructions for use)"),
                ],
                articles=["13"],
            ),
        ),
        section(
            "annex-iv-2",
            "2. Detailed description of the elements of the AI system and of its development",
            model_part(dossier),
            artifact_part(
                dossier,
                TECHNICAL_DOCUMENTATION,
                [("design", "Design specifications"), ("data", "Data requirements")],
                articles=["11"],
                cite=False,
            ),
            data_part(dossier),
            artifact_part(
                dossier,
                "data_sheet",
                [
                    ("sources", "Data sources"),
                    ("collection", "Collection"),
                    ("preparation", "Preparation"),
                    ("known_biases", "Known biases"),
                ],
                optional=True,
            ),
            _lineage_gap(dossier),
            oversight_part(dossier),
            evaluation_part(dossier),
        ),
        section(
            "annex-iv-3",
            "3. Monitoring, functioning and control of the AI system",
            artifact_part(
                dossier,
                "model_card",
                [("limitations", "Limitations (model card)")],
                articles=["13"],
            ),
            shortfalls(dossier),
            artifact_part(
                dossier,
                TECHNICAL_DOCUMENTATION,
                [("human_oversight", "Human oversight measures (technical documentation)")],
                articles=["14"],
                cite=False,
            ),
            artifact_part(
                dossier,
                "human_oversight_plan",
                [
                    ("overseers", "Overseers"),
                    ("interventions", "Interventions"),
                    ("stop_procedure", "Stop procedure"),
                ],
                optional=True,
            ),
            artifact_part(
                dossier,
                "logging_specification",
                [("events_logged", "Events logged"), ("retention", "Log retention")],
                optional=True,
            ),
            approvals_part(dossier),
        ),
        section(
            "annex-iv-4",
            "4. Appropriateness of the performance metrics",
            [
                Text(
                    "The minimums are those of the tier decision's policy; each is compared "
                    "with the latest evaluation of the release that measured the metric."
                )
            ],
            artifact_part(
                dossier,
                TECHNICAL_DOCUMENTATION,
                [("evaluation", "Evaluation (technical documentation)")],
                articles=["15"],
                cite=False,
            ),
            evaluation_part(dossier),
        ),
        section(
            "annex-iv-5",
            "5. Risk management system (Art. 9)",
            tier_part(dossier),
            artifact_part(
                dossier,
                "risk_assessment",
                [
                    ("risks", "Risks"),
                    ("mitigations", "Mitigations"),
                    ("residual_risk", "Residual risk"),
                ],
                articles=["9"],
            ),
            artifact_part(
                dossier,
                "impact_assessment",
                [
                    ("affected_groups", "Affected groups"),
                    ("impacts", "Impacts"),
                    ("mitigations", "Mitigations (impact assessment)"),
                ],
                optional=True,
            ),
            waivers_part(dossier),
        ),
        section(
            "annex-iv-6",
            "6. Relevant changes made through the lifecycle",
            _changes(dossier),
        ),
        section(
            "annex-iv-7",
            "7. Harmonised standards applied, or other solutions adopted",
            artifact_part(
                dossier,
                CONFORMITY_DECLARATION,
                [("standards", "Standards applied (declaration)")],
                articles=["40", "43"],
                cite=False,
            ),
            _frameworks(dossier),
            controls_table(dossier),
        ),
        section(
            "annex-iv-8",
            "8. Copy of the EU declaration of conformity (Art. 47)",
            artifact_part(
                dossier,
                CONFORMITY_DECLARATION,
                [
                    ("declaration", "Declaration"),
                    ("assessment", "Conformity assessment"),
                ],
                articles=["47"],
            ),
        ),
        section(
            "annex-iv-9",
            "9. Post-market monitoring system (Art. 72), including the plan",
            artifact_part(
                dossier,
                "monitoring_plan",
                [
                    ("signals", "Signals (monitoring plan)"),
                    ("thresholds", "Thresholds"),
                    ("escalation", "Escalation"),
                ],
                articles=["72"],
            ),
            monitoring_part(dossier),
            artifact_part(
                dossier,
                "incident_response_plan",
                [
                    ("contacts", "Contacts"),
                    ("severity_levels", "Severity levels"),
                    ("reporting", "Serious-incident reporting (Art. 73)"),
                ],
                optional=True,
            ),
            incidents_part(dossier),
        ),
    )
    return Document(
        title=f"Technical documentation (EU AI Act Annex IV): {name} {dossier.version}",
        subtitle="Regulation (EU) 2024/1689, Art. 11(1) and Annex IV, from the evidence "
        "recorded for this release",
        header=release_header(dossier),
        sections=sections,
        notes=NOTES,
    )
