"""CDEvents (0.4, 0.5) over the CloudEvents HTTP binding, mapped to aigov events (no I/O)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from aigov_events.catalog import (
    DeploymentCompleted,
    DeploymentRolledBack,
    EvaluationCompleted,
    IncidentReported,
    IncidentResolved,
    IncidentSeverity,
)
from aigov_intake.adapters import PayloadRejected, cdevents
from aigov_intake.adapters.cdevents import (
    CDEVENTS_CONTENT_TYPE,
    Received,
    incident_id,
    incident_severity,
    purl_release,
    receive,
)

FIXTURES = Path(__file__).parent / "fixtures"
STRUCTURED = "application/cloudevents+json"


def fixture(name: str) -> Any:
    """A hand-written payload from tests/unit/intake/fixtures."""
    return json.loads((FIXTURES / name).read_text())


def bare(name: str) -> Received:
    """The fixture received as a bare CDEvent (application/json, no ce-* headers)."""
    return receive("application/json", {}, fixture(name))


def binary_headers(body: dict[str, Any]) -> dict[str, str]:
    """The ce-* headers a CDEvents SDK sends in binary mode."""
    context = body["context"]
    return {
        "ce-specversion": "1.0",
        "ce-id": context["id"],
        "ce-source": context["source"],
        "ce-type": context["type"],
        "ce-time": context["timestamp"],
    }


class TestModes:
    def test_binary_mode_body_is_the_cdevent(self) -> None:
        body = fixture("cdevents_service_deployed_v05.json")
        received = receive(CDEVENTS_CONTENT_TYPE, binary_headers(body), body)
        assert received.kind == "service.deployed"
        assert received.loc == ("body",)

    def test_structured_mode_data_is_the_cdevent(self) -> None:
        cdevent = fixture("cdevents_service_deployed_v05.json")
        envelope = {
            "specversion": "1.0",
            "id": cdevent["context"]["id"],
            "source": cdevent["context"]["source"],
            "type": cdevent["context"]["type"],
            "datacontenttype": "application/json",
            "data": cdevent,
        }
        received = receive(STRUCTURED, {}, envelope)
        assert received.cdevent.context.id == cdevent["context"]["id"]
        assert received.loc == ("body", "data")

    def test_structured_mode_with_base64_data(self) -> None:
        cdevent = fixture("cdevents_incident_reported_v05.json")
        envelope = {
            "specversion": "1.0",
            "id": cdevent["context"]["id"],
            "source": cdevent["context"]["source"],
            "type": cdevent["context"]["type"],
            "data_base64": base64.b64encode(json.dumps(cdevent).encode()).decode(),
        }
        assert receive(STRUCTURED, {}, envelope).kind == "incident.reported"

    def test_headers_that_disagree_with_the_context_are_refused(self) -> None:
        body = fixture("cdevents_service_deployed_v05.json")
        headers = {**binary_headers(body), "ce-type": "dev.cdevents.service.removed.0.3.0"}
        with pytest.raises(PayloadRejected) as caught:
            receive("application/json", headers, body)
        assert caught.value.errors[0]["loc"] == ["header", "ce-type"]

    def test_an_invalid_structured_envelope_is_refused(self) -> None:
        envelope = {"specversion": "0.3", "id": "x", "source": "y", "type": "z", "data": {}}
        with pytest.raises(PayloadRejected, match="not a valid CloudEvent"):
            receive(STRUCTURED, {}, envelope)

    def test_v04_names_its_spec_version_context_version(self) -> None:
        received = bare("cdevents_service_rolledback_v04.json")
        assert received.cdevent.context.spec_version == "0.4.1"

    @pytest.mark.parametrize("version", ["0.3.0", "1.0.0", "draft", None])
    def test_unsupported_spec_versions_are_refused(self, version: str | None) -> None:
        body = fixture("cdevents_service_deployed_v05.json")
        body["context"]["specversion"] = version
        with pytest.raises(PayloadRejected, match="spec version") as caught:
            receive("application/json", {}, body)
        assert caught.value.errors[0]["loc"][:2] == ["body", "context"]

    def test_a_non_cdevents_type_is_refused_at_its_path(self) -> None:
        body = fixture("cdevents_service_deployed_v05.json")
        body["context"]["type"] = "com.example.deployed"
        with pytest.raises(PayloadRejected) as caught:
            receive("application/json", {}, body)
        assert caught.value.errors[0]["loc"] == ["body", "context", "type"]


class TestDeployments:
    def test_service_deployed(self) -> None:
        received = bare("cdevents_service_deployed_v05.json")
        assert cdevents.named_systems(received) == ["loan-scorer"]
        [draft] = cdevents.to_outcome(received, system_id="loan-scorer").drafts
        payload = draft.payload
        assert isinstance(payload, DeploymentCompleted)
        assert payload.version == "3.2.0"  # the purl's tag qualifier
        assert payload.environment == "production_eu"
        assert payload.region == "eu-west-1"
        assert payload.pipeline is not None
        assert payload.pipeline.id == "release-train-88"
        assert payload.outcome.value == "succeeded"
        # The CDEvent's identity is kept: a redelivery is a duplicate.
        assert draft.event_id == "e3b6a0f4-2c55-4f0e-8a9d-1b2c3d4e5f60"
        assert draft.source == "https://argocd.example.com/applications/loan-scorer"
        assert draft.time == received.cdevent.context.timestamp

    def test_region_from_the_url_when_custom_data_has_none(self) -> None:
        body = fixture("cdevents_service_deployed_v05.json")
        del body["customData"]["ai_region"]
        received = receive("application/json", {}, body)
        with pytest.raises(PayloadRejected) as caught:
            cdevents.to_outcome(received, system_id="loan-scorer")
        assert caught.value.errors[0]["loc"] == ["body", "customData", "ai_region"]
        [draft] = cdevents.to_outcome(received, system_id="loan-scorer", region="EU").drafts
        assert draft.payload.region == "EU"  # type: ignore[attr-defined]

    def test_rollback_is_a_completed_deployment_plus_a_rollback(self) -> None:
        outcome = cdevents.to_outcome(
            bare("cdevents_service_rolledback_v04.json"), system_id="loan-scorer", region="EU"
        )
        completed, rolled_back = outcome.drafts
        assert isinstance(completed.payload, DeploymentCompleted)
        assert completed.payload.version == "3.1.4"
        assert isinstance(rolled_back.payload, DeploymentRolledBack)
        assert (rolled_back.payload.from_version, rolled_back.payload.to_version) == (
            "3.2.0",
            "3.1.4",
        )
        assert rolled_back.event_id == "rollback-2026-03-02-0001:rolled_back"

    def test_rollback_without_the_replaced_release_is_only_the_deployment(self) -> None:
        body = fixture("cdevents_service_rolledback_v04.json")
        del body["customData"]["ai_rollback_from"]
        outcome = cdevents.to_outcome(
            receive("application/json", {}, body), system_id="loan-scorer", region="EU"
        )
        [draft] = outcome.drafts
        assert isinstance(draft.payload, DeploymentCompleted)
        assert draft.payload.detail is not None
        assert "rollback" in draft.payload.detail

    def test_a_deployment_needs_a_release(self) -> None:
        body = fixture("cdevents_service_deployed_v05.json")
        del body["subject"]["content"]["artifactId"]
        with pytest.raises(PayloadRejected, match="which release") as caught:
            cdevents.to_outcome(receive("application/json", {}, body), system_id="loan-scorer")
        assert caught.value.errors[0]["loc"] == ["body", "customData", "ai_release"]


class TestIncidents:
    def test_incident_reported(self) -> None:
        [draft] = cdevents.to_outcome(
            bare("cdevents_incident_reported_v05.json"), system_id="loan-scorer"
        ).drafts
        payload = draft.payload
        assert isinstance(payload, IncidentReported)
        assert payload.incident_id == "incidents/INC-7781"
        assert payload.severity is IncidentSeverity.HIGH  # SEV2
        assert payload.category == "fairness"
        assert payload.serious is True
        assert payload.reported_by == "credit ops analyst"
        assert payload.version == "3.2.0"
        assert payload.summary.startswith("Applicants in one postcode")

    def test_detected_is_reported_with_defaults_for_what_is_missing(self) -> None:
        body = fixture("cdevents_incident_reported_v05.json")
        body["context"]["type"] = "dev.cdevents.incident.detected.0.3.0"
        body["customData"] = {"ai_system": "loan-scorer"}
        [draft] = cdevents.to_outcome(
            receive("application/json", {}, body), system_id="loan-scorer"
        ).drafts
        payload = draft.payload
        assert isinstance(payload, IncidentReported)
        assert payload.severity is IncidentSeverity.HIGH  # untriaged
        assert payload.category == "other"
        assert payload.serious is False
        assert payload.reported_by == "https://oncall.example.com"

    def test_incident_resolved_closes_the_same_incident_id(self) -> None:
        [draft] = cdevents.to_outcome(
            bare("cdevents_incident_resolved_v05.json"), system_id="loan-scorer"
        ).drafts
        payload = draft.payload
        assert isinstance(payload, IncidentResolved)
        assert payload.incident_id == "incidents/INC-7781"
        assert payload.root_cause == "A postcode-derived feature leaked into the model"


class TestEvaluationsAndIgnoredTypes:
    def test_test_suite_with_results_is_an_evaluation(self) -> None:
        received = bare("cdevents_testsuiterun_finished_with_metrics.json")
        assert cdevents.is_mapped(received)
        [draft] = cdevents.to_outcome(received, system_id="loan-scorer").drafts
        payload = draft.payload
        assert isinstance(payload, EvaluationCompleted)
        assert payload.suite == "Fairness evaluation"
        assert [m.name for m in payload.metrics] == ["demographic_parity_gap", "auc"]
        assert payload.run.id == "fairness-suite-run-512"

    def test_test_suite_without_results_is_ignored_with_advice(self) -> None:
        body = fixture("cdevents_testsuiterun_finished_with_metrics.json")
        del body["customData"]["metrics"]
        received = receive("application/json", {}, body)
        assert not cdevents.is_mapped(received)
        [note] = cdevents.ignore(received).ignored
        assert "metrics" in note.reason

    def test_bad_metrics_are_located_in_custom_data(self) -> None:
        body = fixture("cdevents_testsuiterun_finished_with_metrics.json")
        body["customData"]["metrics"][0]["value"] = "low"
        with pytest.raises(PayloadRejected) as caught:
            cdevents.to_outcome(receive("application/json", {}, body), system_id="loan-scorer")
        assert caught.value.errors[0]["loc"] == ["body", "customData"]
        assert "metrics.0.value" in caught.value.errors[0]["msg"]

    @pytest.mark.parametrize(
        "kind", ["service.removed", "artifact.published", "change.merged", "build.finished"]
    )
    def test_types_without_counterpart_are_ignored(self, kind: str) -> None:
        body = fixture("cdevents_pipelinerun_finished_v04.json")
        body["context"]["type"] = f"dev.cdevents.{kind}.0.2.0"
        received = receive("application/json", {}, body)
        assert not cdevents.is_mapped(received)
        [note] = cdevents.ignore(received).ignored
        assert note.ref == body["context"]["type"]
        assert note.reason

    def test_pipeline_run_is_ignored(self) -> None:
        received = bare("cdevents_pipelinerun_finished_v04.json")
        assert not cdevents.is_mapped(received)
        assert cdevents.ignore(received).drafts == []


class TestValues:
    @pytest.mark.parametrize(
        ("purl", "release"),
        [
            ("pkg:oci/app@sha256%3A" + "ab" * 32, "sha256-" + "ab" * 32),
            ("pkg:oci/app@sha256%3A" + "ab" * 32 + "?tag=2.0.1", "2.0.1"),
            ("pkg:oci/app@sha256%3A" + "ab" * 32 + "?tag=latest", "sha256-" + "ab" * 32),
            ("pkg:pypi/scorer@1.4.0", "1.4.0"),
            ("pkg:golang/example.com/app@v0.3.1#cmd/app", "v0.3.1"),
            ("pkg:npm/app", None),
            ("https://example.com/app.tar.gz", None),
            (None, None),
        ],
    )
    def test_release_from_a_purl(self, purl: str | None, release: str | None) -> None:
        assert purl_release(purl) == release

    @pytest.mark.parametrize(
        ("subject_id", "expected"),
        [("incident-1", "incident-1"), ("/ns/incident-1", "ns/incident-1")],
    )
    def test_incident_ids(self, subject_id: str, expected: str) -> None:
        assert incident_id(subject_id) == expected

    def test_incident_ids_that_are_not_identifiers_are_hashed_stably(self) -> None:
        assert incident_id("incident with spaces") == incident_id("incident with spaces")
        assert incident_id("incident with spaces").startswith("cdevents-")

    @pytest.mark.parametrize(
        ("word", "severity"),
        [
            ("critical", IncidentSeverity.CRITICAL),
            ("SEV2", IncidentSeverity.HIGH),
            ("medium", IncidentSeverity.MEDIUM),
            ("p4", IncidentSeverity.LOW),
            ("whatever", IncidentSeverity.HIGH),
            (None, IncidentSeverity.HIGH),
        ],
    )
    def test_incident_severity(self, word: str | None, severity: IncidentSeverity) -> None:
        assert incident_severity(word) is severity
