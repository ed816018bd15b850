"""System card and model card of a release, built from its dossier.

The system card describes the whole AI system as deployed (use, users, data, models, tier,
controls, oversight, monitoring); the model card the model behind it, centred on the
release's `model_card` artifact and its evaluations. Both carry the same governance facts
(intended use, users, data classes, third-party models, evaluation results against the
minimums, known limits, human oversight, monitoring and escalation).
"""

from __future__ import annotations

from typing import Final

from aigov_evidence.documents.document import Document, Item
from aigov_evidence.documents.dossier import Dossier
from aigov_evidence.documents.sections import (
    NOTES,
    approvals_part,
    artifact_part,
    artifact_source,
    controls_table,
    data_part,
    evaluation_part,
    header,
    incidents_part,
    model_part,
    monitoring_part,
    other_sections,
    oversight_part,
    pending_changes_part,
    purpose_part,
    section,
    shortfalls,
    tier_part,
    users_part,
    waivers_part,
)

MODEL_CARD: Final = "model_card"
#: The model card sections each part of the cards shows; the rest are shown as they are.
_INTENDED_USE: Final = ("intended_use", "Intended use (model card)")
_LIMITATIONS: Final = ("limitations", "Limitations (model card)")
_EVALUATION: Final = ("evaluation", "Evaluation (model card)")
_TRAINING_DATA: Final = ("training_data", "Training data (model card)")
_ETHICS: Final = ("ethical_considerations", "Ethical considerations (model card)")
_SHOWN: Final = tuple(
    key for key, _ in (_INTENDED_USE, _LIMITATIONS, _EVALUATION, _TRAINING_DATA, _ETHICS)
)


def _model_card_source(dossier: Dossier) -> list[Item]:
    artifact = dossier.latest_artifact(MODEL_CARD)
    return [artifact_source(artifact)] if artifact is not None else []


def system_card(dossier: Dossier) -> Document:
    """The system card of the release."""
    name = dossier.system.name or dossier.system_id
    sections = (
        section(
            "intended-use",
            "Intended use",
            purpose_part(dossier),
            artifact_part(dossier, MODEL_CARD, [_INTENDED_USE]),
            artifact_part(
                dossier,
                "instructions_for_use",
                [("intended_purpose", "Intended purpose (instructions for use)")],
                optional=True,
            ),
        ),
        section("users", "Users and deployment", users_part(dossier)),
        section("data", "Data", data_part(dossier)),
        section("models", "Models, including third-party models", model_part(dossier)),
        section("tier", "Risk tier and the rules that fired", tier_part(dossier)),
        section(
            "evaluation",
            "Evaluation results against the tier's minimums",
            evaluation_part(dossier),
        ),
        section(
            "controls",
            "Controls and release status",
            controls_table(dossier),
            pending_changes_part(dossier),
        ),
        section(
            "limits",
            "Known limits",
            artifact_part(dossier, MODEL_CARD, [_LIMITATIONS], cite=False),
            artifact_part(
                dossier,
                "risk_assessment",
                [("residual_risk", "Residual risk (risk assessment)")],
                optional=True,
            ),
            shortfalls(dossier),
            waivers_part(dossier),
        ),
        section(
            "oversight",
            "Human oversight",
            oversight_part(dossier),
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
            approvals_part(dossier),
        ),
        section(
            "monitoring",
            "Monitoring and escalation",
            monitoring_part(dossier),
            artifact_part(
                dossier,
                "monitoring_plan",
                [
                    ("signals", "Signals (monitoring plan)"),
                    ("thresholds", "Thresholds"),
                    ("escalation", "Escalation"),
                ],
                optional=True,
            ),
            incidents_part(dossier),
        ),
    )
    return Document(
        title=f"System card: {name} {dossier.version}",
        subtitle="The AI system as deployed, from the evidence recorded for this release",
        header=header(dossier),
        sections=sections,
        notes=NOTES,
    )


def model_card(dossier: Dossier) -> Document:
    """The model card of the release."""
    name = dossier.system.name or dossier.system_id
    sections = (
        section("model", "Model details", _model_card_source(dossier), model_part(dossier)),
        section(
            "intended-use",
            "Intended use",
            artifact_part(dossier, MODEL_CARD, [_INTENDED_USE], cite=False),
            purpose_part(dossier),
        ),
        section("users", "Users", users_part(dossier)),
        section(
            "training-data",
            "Training and retrieval data",
            artifact_part(dossier, MODEL_CARD, [_TRAINING_DATA], cite=False),
            data_part(dossier),
        ),
        section(
            "evaluation",
            "Evaluation results against the tier's minimums",
            artifact_part(dossier, MODEL_CARD, [_EVALUATION], cite=False),
            evaluation_part(dossier),
        ),
        section(
            "limitations",
            "Known limits",
            artifact_part(dossier, MODEL_CARD, [_LIMITATIONS], cite=False),
            shortfalls(dossier),
            waivers_part(dossier),
        ),
        section(
            "ethics",
            "Ethical considerations",
            artifact_part(dossier, MODEL_CARD, [_ETHICS], cite=False),
        ),
        section(
            "more",
            "Further model card sections",
            other_sections(dossier, MODEL_CARD, _SHOWN),
        ),
        section("oversight", "Human oversight", oversight_part(dossier), approvals_part(dossier)),
        section("monitoring", "Monitoring and escalation", monitoring_part(dossier)),
    )
    return Document(
        title=f"Model card: {name} {dossier.version}",
        subtitle="The model behind the AI system, from the release's model card artifact and "
        "evaluations",
        header=header(dossier),
        sections=tuple(s for s in sections if s.items or s.gaps),
        notes=NOTES,
    )
