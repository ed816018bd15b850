"""Typed request bodies → catalog payloads: every public example maps, field by field."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from aigov_events.catalog import (
    AlertRaised,
    ApprovalDenied,
    ApprovalGranted,
    ArtifactSubmitted,
    DeploymentCompleted,
    DeploymentRequested,
    DeploymentRolledBack,
    EvaluationCompleted,
    IncidentAcknowledged,
    IncidentContained,
    IncidentReported,
    IncidentResolved,
    WaiverGranted,
    WaiverRejected,
    WaiverRequested,
)
from aigov_intake.schemas import (
    AlertRequest,
    ApprovalRequest,
    ArtifactRequest,
    DeploymentRequest,
    EvaluationRequest,
    IncidentAcknowledgeRequest,
    IncidentContainRequest,
    IncidentRequest,
    IncidentResolveRequest,
    InvalidRequest,
    WaiverDecisionRequest,
    WaiverRequest,
)
from tests.fixtures import REQUESTS

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def example(name: str, **changes: Any) -> dict[str, Any]:
    """A public request example with `changes` applied."""
    body: dict[str, Any] = json.loads((REQUESTS / name).read_text())
    body.update(changes)
    return body


def dumped(payload: Any) -> dict[str, Any]:
    """A payload as it travels in an event."""
    data: dict[str, Any] = payload.model_dump(mode="json", exclude_none=True)
    return data


def locations(exc: pytest.ExceptionInfo[InvalidRequest]) -> list[list[str | int]]:
    """Where an InvalidRequest says the request is wrong."""
    return [error.loc for error in exc.value.errors]


class TestEvaluation:
    def test_single_dataset_becomes_datasets(self) -> None:
        body = example("evaluation.json")
        payload = EvaluationRequest.model_validate(body).to_payload()
        assert isinstance(payload, EvaluationCompleted)
        assert dumped(payload) == {
            "system_id": "support-summarizer",
            "version": "2026.11.3",
            "suite": "release-evaluation",
            "metrics": body["metrics"],
            "datasets": [body["dataset"]],
            "raw_outputs_uri": body["raw_outputs_uri"],
            "run": body["run"],
        }

    def test_catalog_rule_is_reported_at_the_request_field(self) -> None:
        body = example("evaluation.json")
        body["metrics"].append(body["metrics"][0])
        with pytest.raises(InvalidRequest) as exc:
            EvaluationRequest.model_validate(body).to_payload()
        assert locations(exc) == [["body", "metrics"]]


class TestArtifact:
    def test_same_fields_with_system_renamed(self) -> None:
        body = example("artifact.json")
        payload = ArtifactRequest.model_validate(body).to_payload()
        assert isinstance(payload, ArtifactSubmitted)
        expected = {k: v for k, v in body.items() if k != "system"}
        assert dumped(payload) == {"system_id": "support-summarizer", **expected}


class TestDeployment:
    def test_requested(self) -> None:
        payload = DeploymentRequest.model_validate(example("deployment.json")).to_payload()
        assert isinstance(payload, DeploymentRequested)
        assert payload.pipeline is not None
        assert payload.pipeline.id == "deploy-4410"

    def test_completed(self) -> None:
        body = example("deployment.json", status="completed", outcome="succeeded")
        payload = DeploymentRequest.model_validate(body).to_payload()
        assert isinstance(payload, DeploymentCompleted)
        assert payload.outcome == "succeeded"

    def test_rolled_back(self) -> None:
        body = example(
            "deployment.json", status="rolled_back", to_version="2026.10.1", reason="Regression."
        )
        payload = DeploymentRequest.model_validate(body).to_payload()
        assert isinstance(payload, DeploymentRolledBack)
        assert (payload.from_version, payload.to_version) == ("2026.11.3", "2026.10.1")

    def test_rollback_to_the_same_version_is_located_at_to_version(self) -> None:
        body = example("deployment.json", status="rolled_back", to_version="2026.11.3", reason="x")
        with pytest.raises(InvalidRequest) as exc:
            DeploymentRequest.model_validate(body).to_payload()
        assert locations(exc) == [["body", "to_version"]]

    @pytest.mark.parametrize(
        ("status", "field", "value"),
        [
            ("requested", "outcome", "succeeded"),
            ("requested", "to_version", "1.0.0"),
            ("completed", "reason", "why"),
            ("rolled_back", "detail", "notes"),
        ],
    )
    def test_fields_of_another_status_are_refused(
        self, status: str, field: str, value: str
    ) -> None:
        body = example("deployment.json", status=status, **{field: value})
        if status == "completed":
            body["outcome"] = "succeeded"
        if status == "rolled_back":
            body.update(to_version="1.0.0", reason="r")
        with pytest.raises(InvalidRequest) as exc:
            DeploymentRequest.model_validate(body).to_payload()
        assert locations(exc) == [["body", field]]


class TestApproval:
    def test_granted(self) -> None:
        payload = ApprovalRequest.model_validate(example("approval.json")).to_payload()
        assert isinstance(payload, ApprovalGranted)
        assert payload.evidence == ["release-evaluation run 8812", "model card 2026.11.3"]
        assert payload.role == "approver"

    def test_denied_with_scope(self) -> None:
        body = example(
            "approval.json",
            decision="denied",
            role="risk-officer",
            scope="material_change",
            material_change_id="mc-1",
        )
        payload = ApprovalRequest.model_validate(body).to_payload()
        assert isinstance(payload, ApprovalDenied)
        assert (payload.role, payload.material_change_id) == ("risk-officer", "mc-1")


class TestWaivers:
    def test_request(self) -> None:
        body = example("waiver-request.json")
        payload = WaiverRequest.model_validate(body).to_payload(waiver_id="W-1", now=NOW)
        assert isinstance(payload, WaiverRequested)
        expected = {k: v for k, v in body.items() if k != "system"}
        assert dumped(payload) == {
            "system_id": "support-summarizer",
            "waiver_id": "W-1",
            **expected,
        }

    def test_past_expiry_is_refused(self) -> None:
        request = WaiverRequest.model_validate(example("waiver-request.json"))
        with pytest.raises(InvalidRequest) as exc:
            request.to_payload(waiver_id="W-1", now=datetime(2027, 1, 1, tzinfo=UTC))
        assert locations(exc) == [["body", "expires_at"]]

    @pytest.mark.parametrize(("grant", "model"), [(True, WaiverGranted), (False, WaiverRejected)])
    def test_decision(self, grant: bool, model: type[Any]) -> None:
        payload = WaiverDecisionRequest(rationale="ok").to_payload(
            grant=grant, system_id="s", version="1", waiver_id="W-1"
        )
        assert isinstance(payload, model)
        assert (payload.system_id, payload.version, payload.waiver_id) == ("s", "1", "W-1")


class TestSignals:
    def test_alert_defaults_start_to_now(self) -> None:
        body = example("alert.json")
        payload = AlertRequest.model_validate(body).to_payload(
            alert_id="A-1", fingerprint="f" * 16, now=NOW
        )
        assert isinstance(payload, AlertRaised)
        assert payload.starts_at == NOW
        expected = {k: v for k, v in body.items() if k != "system"}
        assert dumped(payload) == {
            "system_id": "support-summarizer",
            "alert_id": "A-1",
            "fingerprint": "f" * 16,
            "starts_at": "2026-11-26T12:00:00Z",
            **expected,
        }

    def test_incident(self) -> None:
        body = example("incident.json")
        payload = IncidentRequest.model_validate(body).to_payload(incident_id="INC-1")
        assert isinstance(payload, IncidentReported)
        expected = {k: v for k, v in body.items() if k != "system"}
        assert dumped(payload) == {
            "system_id": "support-summarizer",
            "incident_id": "INC-1",
            "alert_ids": [],
            **expected,
        }

    def test_incident_steps(self) -> None:
        ids = {"system_id": "s", "incident_id": "INC-1"}
        assert isinstance(IncidentAcknowledgeRequest().to_payload(**ids), IncidentAcknowledged)
        assert isinstance(IncidentContainRequest(note="n").to_payload(**ids), IncidentContained)
        resolved = IncidentResolveRequest(resolution="r", root_cause="c").to_payload(**ids)
        assert isinstance(resolved, IncidentResolved)
        assert (resolved.resolution, resolved.root_cause) == ("r", "c")
