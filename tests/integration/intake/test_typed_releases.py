"""`/v1/evaluations`, `/artifacts`, `/deployments`, `/approvals`: examples, mapping, roles, rules."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from aigov_events.bus import IncomingRecord
from aigov_events.catalog import (
    ApprovalDenied,
    ApprovalGranted,
    ArtifactSubmitted,
    DeploymentCompleted,
    DeploymentRequested,
    DeploymentRolledBack,
    EvaluationCompleted,
)
from aigov_events.envelope import from_kafka_record
from aigov_events.topics import LIFECYCLE
from tests.fixtures import REQUESTS
from tests.integration.intake.conftest import (
    APPROVER,
    APPROVER_PUBLISHER,
    PUBLISHER,
    Intake,
    auth,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


JSON = {"Content-Type": "application/json"}


def example(name: str, **changes: Any) -> dict[str, Any]:
    """A request example from examples/requests, with `changes` applied."""
    body: dict[str, Any] = json.loads((REQUESTS / name).read_text())
    body.update(changes)
    return body


def fresh_release() -> dict[str, str]:
    """A system id and version no earlier run used (intake remembers release submitters)."""
    return {"system": f"sys-{uuid.uuid4().hex[:10]}", "version": "1.0.0"}


async def post(intake: Intake, path: str, body: Any, token: str = PUBLISHER) -> Any:
    """POST a JSON body as `token`."""
    return await intake.client.post(path, content=json.dumps(body), headers={**JSON, **auth(token)})


def event_of(record: IncomingRecord) -> tuple[str, dict[str, Any]]:
    """The record's CloudEvents type and data."""
    event = from_kafka_record(record.value, record.headers)
    assert isinstance(event.data, dict)
    return event.type, event.data


def without_system(body: dict[str, Any]) -> dict[str, Any]:
    """The request body as a payload: `system` becomes `system_id`."""
    payload = {k: v for k, v in body.items() if k != "system"}
    return {"system_id": body["system"], **payload}


class TestExamples:
    async def test_evaluation_example(self, intake: Intake) -> None:
        body = example("evaluation.json")
        response = await post(intake, "/v1/evaluations", body)
        assert response.status_code == 202, response.text
        answer = response.json()
        assert answer["event_type"] == EvaluationCompleted.event_type
        assert answer["system_id"] == "support-summarizer"
        assert answer["duplicate"] is False

        [record] = await intake.records(LIFECYCLE, 1)
        assert record.key == b"support-summarizer"
        assert dict(record.headers)["ce_id"] == answer["event_id"].encode()
        event_type, data = event_of(record)
        assert event_type == EvaluationCompleted.event_type
        assert data == {
            "system_id": "support-summarizer",
            "version": "2026.11.3",
            "suite": "release-evaluation",
            "metrics": body["metrics"],
            "datasets": [body["dataset"]],
            "raw_outputs_uri": body["raw_outputs_uri"],
            "run": body["run"],
        }

    async def test_artifact_example(self, intake: Intake) -> None:
        body = example("artifact.json")
        response = await post(intake, "/v1/artifacts", body)
        assert response.status_code == 202, response.text
        [record] = await intake.records(LIFECYCLE, 1)
        assert record.key == b"support-summarizer"
        assert event_of(record) == (ArtifactSubmitted.event_type, without_system(body))

    async def test_deployment_example(self, intake: Intake) -> None:
        body = example("deployment.json")
        response = await post(intake, "/v1/deployments", body)
        assert response.status_code == 202, response.text
        [record] = await intake.records(LIFECYCLE, 1)
        assert record.key == b"support-summarizer"
        payload = {k: v for k, v in without_system(body).items() if k != "status"}
        assert event_of(record) == (DeploymentRequested.event_type, payload)

    async def test_approval_example(self, intake: Intake) -> None:
        body = example("approval.json")
        response = await post(intake, "/v1/approvals", body, token=APPROVER)
        assert response.status_code == 202, response.text
        [record] = await intake.records(LIFECYCLE, 1)
        assert record.key == b"support-summarizer"
        assert dict(record.headers)["ce_actor"] == b"risk-officer"
        event_type, data = event_of(record)
        assert event_type == ApprovalGranted.event_type
        assert data == {
            "system_id": "support-summarizer",
            "version": "2026.11.3",
            "role": "approver",
            "scope": "release",
            "rationale": body["rationale"],
            "evidence": body["evidence"],
            "evidence_event_ids": [],
            "evidence_links": [],
        }


class TestDeployments:
    async def test_completed_needs_and_carries_an_outcome(self, intake: Intake) -> None:
        body = example("deployment.json", **fresh_release(), status="completed")
        missing = await post(intake, "/v1/deployments", body)
        assert missing.status_code == 422
        assert [e["loc"] for e in missing.json()["errors"]] == [["body", "outcome"]]

        body.update(outcome="failed", detail="Health checks failed in EU.")
        response = await post(intake, "/v1/deployments", body)
        assert response.status_code == 202, response.text
        [record] = await intake.records(LIFECYCLE, 1)
        event_type, data = event_of(record)
        assert event_type == DeploymentCompleted.event_type
        assert data["outcome"] == "failed"
        assert data["detail"] == "Health checks failed in EU."
        assert data["version"] == body["version"]

    async def test_rolled_back_maps_version_to_from_version(self, intake: Intake) -> None:
        release = fresh_release()
        body = example(
            "deployment.json",
            **release,
            status="rolled_back",
            to_version="0.9.0",
            reason="Latency doubled after the release.",
        )
        response = await post(intake, "/v1/deployments", body)
        assert response.status_code == 202, response.text
        [record] = await intake.records(LIFECYCLE, 1)
        event_type, data = event_of(record)
        assert event_type == DeploymentRolledBack.event_type
        assert data == {
            "system_id": release["system"],
            "from_version": "1.0.0",
            "to_version": "0.9.0",
            "environment": "production",
            "region": "EU",
            "reason": "Latency doubled after the release.",
            "pipeline": body["pipeline"],
        }

    async def test_rollback_rules_are_reported_at_request_fields(self, intake: Intake) -> None:
        body = example("deployment.json", **fresh_release(), status="rolled_back")
        missing = await post(intake, "/v1/deployments", body)
        assert missing.status_code == 422
        locations = sorted(e["loc"][1] for e in missing.json()["errors"])
        assert locations == ["reason", "to_version"]

        body.update(to_version=body["version"], reason="No change.")
        same = await post(intake, "/v1/deployments", body)
        assert same.status_code == 422
        assert [e["loc"] for e in same.json()["errors"]] == [["body", "to_version"]]

    async def test_fields_of_another_status_are_refused(self, intake: Intake) -> None:
        body = example("deployment.json", **fresh_release(), outcome="succeeded")
        response = await post(intake, "/v1/deployments", body)
        assert response.status_code == 422
        [error] = response.json()["errors"]
        assert error["loc"] == ["body", "outcome"]
        assert "completed" in error["msg"]

    async def test_unknown_status_is_422(self, intake: Intake) -> None:
        body = example("deployment.json", **fresh_release(), status="started")
        response = await post(intake, "/v1/deployments", body)
        assert response.status_code == 422
        assert [e["loc"] for e in response.json()["errors"]] == [["body", "status"]]


class TestEvaluations:
    async def test_catalog_rules_are_reported_at_request_fields(self, intake: Intake) -> None:
        body = example("evaluation.json", **fresh_release())
        body["metrics"] = [body["metrics"][0], body["metrics"][0]]
        response = await post(intake, "/v1/evaluations", body)
        assert response.status_code == 422
        [error] = response.json()["errors"]
        assert error["loc"] == ["body", "metrics"]
        assert "more than once" in error["msg"]

    async def test_dataset_fields_are_located_in_the_request(self, intake: Intake) -> None:
        body = example("evaluation.json", **fresh_release())
        del body["dataset"]["version"]
        body["metrics"][1]["value"] = "low"
        response = await post(intake, "/v1/evaluations", body)
        assert response.status_code == 422
        locations = [e["loc"] for e in response.json()["errors"]]
        assert ["body", "dataset", "version"] in locations
        assert ["body", "metrics", 1, "value"] in locations


class TestApprovals:
    async def test_denied_is_an_approval_denied(self, intake: Intake) -> None:
        body = example("approval.json", **fresh_release(), decision="denied")
        response = await post(intake, "/v1/approvals", body, token=APPROVER)
        assert response.status_code == 202, response.text
        assert response.json()["event_type"] == ApprovalDenied.event_type
        [record] = await intake.records(LIFECYCLE, 1)
        assert event_of(record)[0] == ApprovalDenied.event_type

    async def test_a_publisher_may_not_approve(self, intake: Intake) -> None:
        response = await post(intake, "/v1/approvals", example("approval.json"), token=PUBLISHER)
        assert response.status_code == 403
        assert "approver" in response.json()["detail"]
        assert await intake.records(LIFECYCLE, 1, max_wait=2) == []

    async def test_the_submitter_of_a_release_may_not_approve_it(self, intake: Intake) -> None:
        release = fresh_release()
        evaluation = example("evaluation.json", **release)
        submitted = await post(intake, "/v1/evaluations", evaluation, token=APPROVER_PUBLISHER)
        assert submitted.status_code == 202, submitted.text
        approval = example("approval.json", **release)
        own = await post(intake, "/v1/approvals", approval, token=APPROVER_PUBLISHER)
        assert own.status_code == 403
        assert "submitted" in own.json()["detail"]
        other = await post(intake, "/v1/approvals", approval, token=APPROVER)
        assert other.status_code == 202, other.text

    async def test_material_change_scope_needs_its_id(self, intake: Intake) -> None:
        body = example("approval.json", **fresh_release(), scope="material_change")
        response = await post(intake, "/v1/approvals", body, token=APPROVER)
        assert response.status_code == 422
        assert [e["loc"] for e in response.json()["errors"]] == [["body", "material_change_id"]]
        body["material_change_id"] = "mc-1"
        response = await post(intake, "/v1/approvals", body, token=APPROVER)
        assert response.status_code == 202, response.text


class TestApprovalEvidenceReferences:
    """Approvals name the records they relied on by event id, and link documents (https)."""

    async def test_ids_of_accepted_events_and_links_are_carried(self, intake: Intake) -> None:
        release = fresh_release()
        evaluation = await post(intake, "/v1/evaluations", example("evaluation.json", **release))
        artifact = await post(intake, "/v1/artifacts", example("artifact.json", **release))
        ids = [evaluation.json()["event_id"], artifact.json()["event_id"]]
        links = ["https://docs.example.com/model-cards/1.0.0", "https://ci.example.com/runs/8812"]
        body = example("approval.json", **release, evidence_event_ids=ids, evidence_links=links)
        response = await post(intake, "/v1/approvals", body, token=APPROVER)
        assert response.status_code == 202, response.text
        records = await intake.records(LIFECYCLE, 3)
        [approval] = [
            data for kind, data in map(event_of, records) if kind == ApprovalGranted.event_type
        ]
        assert (approval["evidence_event_ids"], approval["evidence_links"]) == (ids, links)

    async def test_ids_intake_never_accepted_are_422_naming_them(self, intake: Intake) -> None:
        release = fresh_release()
        known = (
            await post(intake, "/v1/evaluations", example("evaluation.json", **release))
        ).json()
        other_system = fresh_release()
        elsewhere = await post(
            intake, "/v1/evaluations", example("evaluation.json", **other_system)
        )
        ids = [known["event_id"], "no-such-event", elsewhere.json()["event_id"]]
        body = example("approval.json", **release, evidence_event_ids=ids)
        response = await post(intake, "/v1/approvals", body, token=APPROVER)
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]
        assert f"'no-such-event', '{elsewhere.json()['event_id']}'" in detail
        assert known["event_id"] not in detail
        assert release["system"] in detail
        records = await intake.records(LIFECYCLE, 3, max_wait=3)
        assert ApprovalGranted.event_type not in {event_of(r)[0] for r in records}

    async def test_the_same_rule_holds_through_v1_events(self, intake: Intake) -> None:
        release = fresh_release()
        data = {
            **example("approval.json", **release),
            "system_id": release["system"],
            "evidence_event_ids": ["invented"],
        }
        for key in ("system", "decision"):
            del data[key]
        event = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "https://approvals.example.com",
            "type": ApprovalGranted.event_type,
            "data": data,
        }
        response = await intake.client.post(
            "/v1/events",
            content=json.dumps(event),
            headers={"Content-Type": "application/cloudevents+json", **auth(APPROVER)},
        )
        assert response.status_code == 422, response.text
        assert "'invented'" in response.json()["detail"]

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("evidence_links", ["http://docs.example.com/card"]),
            ("evidence_links", ["ftp://docs.example.com/card"]),
            ("evidence_links", [f"https://docs.example.com/{i}" for i in range(21)]),
            ("evidence_event_ids", [f"id-{i}" for i in range(51)]),
            ("evidence_event_ids", ["not an id"]),
        ],
    )
    async def test_bounds_and_shapes_are_422_at_the_field(
        self, intake: Intake, field: str, value: list[str]
    ) -> None:
        body = example("approval.json", **fresh_release(), **{field: value})
        response = await post(intake, "/v1/approvals", body, token=APPROVER)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"][:2] == ["body", field]
