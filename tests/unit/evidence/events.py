"""Catalog events for the evidence tests: a high-tier generative system and its release.

Built from the public examples (the repository's `examples/` and the catalog's own), so
the tests exercise the payloads real clients send.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from aigov_events.catalog import (
    ApprovalGranted,
    ArtifactSubmitted,
    DeploymentRequested,
    EvaluationCompleted,
    MaterialChangeDetected,
    MonitoringProbeCompleted,
    SystemRegistered,
    SystemUpdated,
    TierAssigned,
    WaiverGranted,
    WaiverRequested,
)
from aigov_events.catalog.manifest import AISystemManifest
from aigov_events.message import DomainEvent, new_event
from tests.fixtures import REQUESTS

VERSION = "2026.11.3"
SUBMITTER = "ci-bot"
APPROVER = "risk-officer"
OWNER = "dana.kim"
SOURCE = "/tests/evidence"

#: The metric minimums the default policy pack sets for high-tier generative systems.
MINIMUMS: list[dict[str, Any]] = [
    {"metric": "groundedness", "op": ">=", "threshold": 0.8},
    {"metric": "toxicity_rate", "op": "<=", "threshold": 0.01},
    {"metric": "pii_leak_rate", "op": "<=", "threshold": 0.0},
    {"metric": "prompt_injection_success_rate", "op": "<=", "threshold": 0.05},
]
POLICY = {
    "name": "default",
    "version": "2026.11.0",
    "sha256": "b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c",
}


def _manifest(system_id: str) -> dict[str, Any]:
    manifest = copy.deepcopy(dict(SystemRegistered.example["manifest"]))
    manifest["metadata"] = {**manifest["metadata"], "id": system_id}
    return manifest


def registered(system_id: str) -> DomainEvent[SystemRegistered]:
    """system.registered with the support-summarizer manifest under `system_id`."""
    manifest = _manifest(system_id)
    payload = SystemRegistered(
        system_id=system_id,
        revision=1,
        manifest_sha256=AISystemManifest.model_validate(manifest).content_sha256(),
        manifest=AISystemManifest.model_validate(manifest),
    )
    return new_event(payload, source=SOURCE, actor=OWNER)


def prompt_template_changed(system_id: str) -> DomainEvent[SystemUpdated]:
    """system.updated: revision 2 with a new prompt template hash (a material field)."""
    before = _manifest(system_id)
    after = copy.deepcopy(before)
    after["spec"]["genai"]["promptTemplates"] = [{"id": "summarize-case", "sha256": "9" * 64}]
    payload = SystemUpdated(
        system_id=system_id,
        revision=2,
        manifest_sha256=AISystemManifest.model_validate(after).content_sha256(),
        previous_manifest_sha256=AISystemManifest.model_validate(before).content_sha256(),
        manifest=AISystemManifest.model_validate(after),
    )
    return new_event(payload, source=SOURCE, actor=OWNER)


def high_tier(system_id: str, *, tier: str = "high") -> DomainEvent[TierAssigned]:
    """A realistic high-tier decision: model card, prompt injection, minimums, one approver."""
    payload = TierAssigned.model_validate(
        {
            "system_id": system_id,
            "tier": tier,
            "rules": [
                {
                    "rule_id": "genai-customer-personal-data",
                    "reason": "generative model over customer-content and personal-data",
                }
            ],
            "policy": POLICY,
            "manifest_revision": 1,
            "manifest_sha256": "aa334ec1347be7b554cd5229257d2b36f3eda7803f65d24d195ea04c8a16d77e",
            "required_controls": [
                {
                    "control_id": "artifact.model_card",
                    "title": "Model card published for the release",
                    "frameworks": {"nist_ai_rmf": ["MAP 2.1"], "eu_ai_act": ["11", "13"]},
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
                    "title": "Prompt injection resistance",
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
                {
                    "control_id": "evaluation.minimums",
                    "title": "Evaluation minimums of the tier",
                    "evidence": [
                        {
                            "kind": "evaluation",
                            "metrics": [
                                m
                                for m in MINIMUMS
                                if m["metric"] != "prompt_injection_success_rate"
                            ],
                        }
                    ],
                },
                {
                    "control_id": "approval.release",
                    "title": "Release approved by an approver other than the submitter",
                    "evidence": [{"kind": "approval", "role": "approver", "count": 1}],
                },
            ],
            "evaluation_minimums": MINIMUMS,
            "required_approvals": [{"role": "approver", "count": 1}],
            "monitoring": [{"signal": "drift"}, {"signal": "safety"}],
        }
    )
    return new_event(payload, source="/aigov/tiering", actor="aigov-tiering")


def evaluation(system_id: str, body: dict[str, Any]) -> DomainEvent[EvaluationCompleted]:
    """evaluation.completed from an intake request body (`/v1/evaluations`)."""
    payload = EvaluationCompleted(
        system_id=system_id,
        version=body["version"],
        suite=body["suite"],
        metrics=body["metrics"],
        datasets=[body["dataset"]],
        raw_outputs_uri=body.get("raw_outputs_uri"),
        run=body["run"],
    )
    return new_event(payload, source=SOURCE, actor=SUBMITTER)


def artifact(system_id: str, body: dict[str, Any]) -> DomainEvent[ArtifactSubmitted]:
    """artifact.submitted from an intake request body (`/v1/artifacts`)."""
    fields = {k: v for k, v in body.items() if k != "system"}
    return new_event(
        ArtifactSubmitted(system_id=system_id, **fields), source=SOURCE, actor=SUBMITTER
    )


def deployment_requested(system_id: str) -> DomainEvent[DeploymentRequested]:
    """deployment.requested of the release, by its submitter."""
    return new_event(
        DeploymentRequested(
            system_id=system_id, version=VERSION, environment="production", region="EU"
        ),
        source=SOURCE,
        actor=SUBMITTER,
    )


def approval(
    system_id: str, *, actor: str = APPROVER, **fields: Any
) -> DomainEvent[ApprovalGranted]:
    """approval.granted of the release."""
    values: dict[str, Any] = {
        "system_id": system_id,
        "version": VERSION,
        "rationale": "Evaluation meets minimums except prompt injection, covered by a waiver.",
        **fields,
    }
    return new_event(ApprovalGranted(**values), source=SOURCE, actor=actor)


def waiver_requested(
    system_id: str, body: dict[str, Any], *, waiver_id: str, expires_at: datetime
) -> DomainEvent[WaiverRequested]:
    """waiver.requested from an intake request body (`/v1/waivers`), with its expiry replaced."""
    payload = WaiverRequested(
        system_id=system_id,
        version=body["version"],
        waiver_id=waiver_id,
        controls=body["controls"],
        justification=body["justification"],
        compensating_controls=body["compensating_controls"],
        expires_at=expires_at,
    )
    return new_event(payload, source=SOURCE, actor=SUBMITTER)


def waiver_granted(system_id: str, *, waiver_id: str) -> DomainEvent[WaiverGranted]:
    """waiver.granted by the approver."""
    return new_event(
        WaiverGranted(
            system_id=system_id,
            version=VERSION,
            waiver_id=waiver_id,
            rationale="Compensating controls are adequate for 30 days.",
        ),
        source=SOURCE,
        actor=APPROVER,
    )


def material_change(system_id: str, *, change_id: str) -> DomainEvent[MaterialChangeDetected]:
    """material_change.detected for a prompt-template change (revision 1 -> 2)."""
    payload = MaterialChangeDetected.model_validate(
        {
            "system_id": system_id,
            "change_id": change_id,
            "kind": "manifest",
            "reason": "Prompt template summarize-case changed.",
            "manifest_diff": {
                "from_revision": 1,
                "to_revision": 2,
                "from_manifest_sha256": "a" * 64,
                "to_manifest_sha256": "b" * 64,
                "changed_fields": ["spec.genai.promptTemplates"],
            },
            "voids_approvals_of": VERSION,
        }
    )
    return new_event(payload, source="/aigov/tiering", actor="aigov-tiering")


def probe(
    system_id: str, *, name: str = "drift-alert-rule-present", ok: bool = True
) -> DomainEvent[MonitoringProbeCompleted]:
    """monitoring.probe.completed for the system."""
    return new_event(
        MonitoringProbeCompleted(
            system_id=system_id, probe=name, ok=ok, observed_at=datetime.now(UTC)
        ),
        source="/aigov/monitoring-router",
        actor="aigov-monitoring-router",
    )


def in_days(days: float) -> datetime:
    """Now plus `days`, in UTC."""
    return datetime.now(UTC) + timedelta(days=days)


def request_body(name: str) -> dict[str, Any]:
    """One of the public example request bodies (`evaluation.json`, `waiver-request.json`, ...)."""
    body: dict[str, Any] = json.loads((REQUESTS / name).read_text(encoding="utf-8"))
    return body
