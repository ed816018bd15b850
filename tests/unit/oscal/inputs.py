"""Hand-made inputs for the OSCAL builders: two controls, a release's status, three waivers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aigov_events.catalog.decisions import FrameworkRefs, PolicyRef
from aigov_events.catalog.enums import EvidenceKind

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
POLICY = PolicyRef(name="default", version="2026.11.0", sha256="ab" * 32)
LABEL = "2026.11.0+sha256.abababababab"
SYSTEM = "support-summarizer"
VERSION = "2026.11.3"
#: The namespace the documents' UUIDv5s live in, written out here rather than imported.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://aigov.dev/ns/oscal")


def expected_uuid(*parts: str) -> str:
    """A UUIDv5 computed the documented way: the parts joined by the unit separator."""
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(parts)))


@dataclass(frozen=True)
class Rule:
    kind: EvidenceKind
    artifact_kind: str | None = None
    required_sections: Sequence[str] = ()
    suite: str | None = None
    metrics: Sequence[str] = ()
    signals: Sequence[str] = ()


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    objective: str
    evidence: Sequence[Rule]
    frameworks: FrameworkRefs = field(default_factory=FrameworkRefs)
    applies_when: str | None = None


CONTROLS = (
    Control(
        id="artifact.model_card",
        title="Model card published for the release",
        objective="Users know what the model is for.",
        evidence=(
            Rule(
                EvidenceKind.ARTIFACT,
                artifact_kind="model_card",
                required_sections=("intended_use", "limitations"),
            ),
        ),
        frameworks=FrameworkRefs(nist_ai_rmf=["MAP 2.1"], eu_ai_act=["11", "13"]),
    ),
    Control(
        id="evaluation.prompt_injection",
        title="Prompt injection resistance",
        objective="Injected instructions rarely succeed.",
        evidence=(Rule(EvidenceKind.EVALUATION, metrics=("prompt_injection_success_rate",)),),
        frameworks=FrameworkRefs(iso_42001=["A.6.2.4"]),
        applies_when="spec.genai.generative",
    ),
    Control(
        id="approval.release",
        title="Release approved",
        objective="Someone other than the submitter approved the release.",
        evidence=(Rule(EvidenceKind.APPROVAL),),
    ),
)
REQUIRED_BY = {
    "artifact.model_card": ["high", "medium"],
    "evaluation.prompt_injection": ["high"],
    "approval.release": ["high", "medium", "low"],
}


@dataclass(frozen=True)
class Status:
    control_id: str
    title: str | None
    state: str
    reason: str | None = None
    evidence_ids: tuple[str, ...] = ()
    waiver_id: str | None = None
    waiver_expires_at: datetime | None = None


@dataclass(frozen=True)
class Record:
    event_id: str
    type: str
    source: str
    sequence: int
    time: datetime
    actor: str
    recorded_at: datetime


STATUSES = (
    Status("artifact.model_card", "Model card", "satisfied", evidence_ids=("e-card",)),
    Status(
        "evaluation.prompt_injection",
        "Prompt injection resistance",
        "waived",
        reason="prompt_injection_success_rate 0.09 > 0.05",
        evidence_ids=("e-eval",),
        waiver_id="W-9",
        waiver_expires_at=T0 + timedelta(days=5),
    ),
    Status("approval.release", None, "missing", reason="needs 1 approval; has none"),
)
RECORDS = (
    Record(
        "e-eval",
        "io.aigov.evaluation.completed.v1",
        "/ci",
        4,
        T0 + timedelta(minutes=2),
        "ci-bot",
        T0 + timedelta(minutes=3),
    ),
    Record(
        "e-card",
        "io.aigov.artifact.submitted.v1",
        "/ci",
        3,
        T0 + timedelta(minutes=1),
        "ci-bot",
        T0 + timedelta(minutes=1, seconds=5),
    ),
)


@dataclass(frozen=True)
class WaiverRow:
    waiver_id: str
    system_id: str
    version: str
    controls: Sequence[str]
    justification: str
    compensating_controls: Sequence[str]
    expires_at: datetime
    status: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None


WAIVERS = (
    WaiverRow(
        "W-9",
        SYSTEM,
        VERSION,
        ["evaluation.prompt_injection"],
        "Mitigated by an output filter for 30 days.",
        ["output-filter", "human-review"],
        T0 + timedelta(days=5),
        "granted",
        "ci-bot",
        T0,
        decided_by="risk-officer",
        decided_at=T0 + timedelta(hours=1),
    ),
    WaiverRow(
        "W-10",
        SYSTEM,
        VERSION,
        ["approval.release", "artifact.model_card"],
        "Approver on leave.",
        [],
        T0 + timedelta(days=2),
        "requested",
        "dana.kim",
        T0 + timedelta(hours=2),
    ),
    WaiverRow(
        "W-1",
        SYSTEM,
        "2026.10.0",
        ["artifact.model_card"],
        "Old release.",
        [],
        T0 - timedelta(days=1),
        "granted",
        "ci-bot",
        T0 - timedelta(days=10),
        decided_by="risk-officer",
        decided_at=T0 - timedelta(days=9),
    ),
)


def empty_arrays(value: Any, path: str = "$") -> list[str]:
    """Paths of empty arrays or objects (OSCAL's arrays hold at least one item)."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if item in ([], {}) and key != "include-all":  # include-all is an empty object
                found.append(f"{path}.{key}")
            found += empty_arrays(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += empty_arrays(item, f"{path}[{i}]")
    return found
