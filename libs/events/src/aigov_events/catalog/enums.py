"""Closed vocabularies (enums) and open ones (known values as frozensets).

A value is an enum when aigov itself decides the vocabulary and a new value needs a
code change anyway (tiers, severities, delivery channels). A value is a plain string
with a `KNOWN_*` constant when tools and users extend it (alert signals, artifact
kinds, incident categories): unknown values are accepted and consumers decide how
to treat them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Tier(StrEnum):
    """Risk tier a system is classified into, most severe first."""

    PROHIBITED = "prohibited"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class AlertSeverity(StrEnum):
    """Severity of a monitoring alert (Alertmanager's critical/warning/info plus `high`)."""

    CRITICAL = "critical"
    HIGH = "high"
    WARNING = "warning"
    INFO = "info"


class IncidentSeverity(StrEnum):
    """Severity of an incident, which selects its acknowledge/resolve SLAs (SEV1-SEV4)."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class ApprovalScope(StrEnum):
    """What an approval decision covers: a release, or a detected material change."""

    RELEASE = "release"
    MATERIAL_CHANGE = "material_change"


class DeploymentOutcome(StrEnum):
    """How a deployment ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"


class LineageRunState(StrEnum):
    """OpenLineage run state (`eventType`) of the run a lineage record came from."""

    START = "START"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    ABORT = "ABORT"
    FAIL = "FAIL"
    OTHER = "OTHER"


class ComparisonOp(StrEnum):
    """How a metric is compared with an evaluation minimum (value `op` threshold)."""

    GE = ">="
    LE = "<="


class EvidenceKind(StrEnum):
    """What kind of evidence satisfies a control."""

    ARTIFACT = "artifact"
    """An `artifact.submitted` of a given kind with required sections present and non-empty."""
    EVALUATION = "evaluation"
    """`evaluation.completed` results for the release meeting metric thresholds."""
    APPROVAL = "approval"
    """`approval.granted` by principals in a role, other than the release's submitter."""
    MONITORING = "monitoring"
    """A verified monitoring route (`monitoring.probe.completed` ok) for the system."""
    LINEAGE = "lineage"
    """A `lineage.recorded` for the system (datasets into training/evaluation jobs)."""


class MaterialChangeKind(StrEnum):
    """What triggered a material change: a manifest revision or an evaluation regression."""

    MANIFEST = "manifest"
    EVALUATION = "evaluation"


class Channel(StrEnum):
    """Delivery channel of a notification."""

    WEBHOOK = "webhook"
    SLACK = "slack"
    PAGERDUTY = "pagerduty"
    EMAIL = "email"
    INBOX = "inbox"
    """The router's built-in local inbox (`GET /v1/inbox`): nothing leaves the machine."""


#: Alert signals the default routing tree and monitoring requirements know.
KNOWN_SIGNALS: Final = frozenset(
    {"drift", "safety", "prompt_injection", "performance", "availability", "cost", "other"}
)

#: Incident categories the dashboard groups by.
KNOWN_INCIDENT_CATEGORIES: Final = frozenset(
    {"safety", "privacy", "security", "fairness", "performance", "availability", "legal", "other"}
)

#: Artifact kinds the default policy pack's controls refer to.
KNOWN_ARTIFACT_KINDS: Final = frozenset(
    {
        "model_card",
        "data_sheet",
        "risk_assessment",
        "impact_assessment",
        "technical_documentation",
        "instructions_for_use",
        "red_team_report",
        "evaluation_report",
        "monitoring_plan",
        "conformity_declaration",
    }
)

#: Model registry names aigov recognises (MLflow is the one with a webhook adapter).
KNOWN_MODEL_REGISTRIES: Final = frozenset({"mlflow", "sagemaker", "vertex-ai", "azure-ml", "other"})
