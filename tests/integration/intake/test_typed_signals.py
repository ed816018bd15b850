"""`/v1/alerts` and the incident lifecycle: examples, issued ids, 404, 409, roles."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from aigov_events.catalog import (
    AlertRaised,
    IncidentAcknowledged,
    IncidentContained,
    IncidentReported,
    IncidentResolved,
)
from aigov_events.envelope import from_kafka_record
from aigov_events.topics import SIGNALS
from tests.fixtures import REQUESTS
from tests.integration.intake.conftest import APPROVER, OWNER, PUBLISHER, READER, Intake, auth

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


JSON = {"Content-Type": "application/json"}


def example(name: str, **changes: Any) -> dict[str, Any]:
    """A request example from examples/requests, with `changes` applied."""
    body: dict[str, Any] = json.loads((REQUESTS / name).read_text())
    body.update(changes)
    return body


async def post(intake: Intake, path: str, body: Any, token: str = PUBLISHER) -> Any:
    """POST a JSON body as `token`."""
    return await intake.client.post(path, content=json.dumps(body), headers={**JSON, **auth(token)})


class TestAlerts:
    async def test_the_example_is_raised_with_issued_id_fingerprint_and_start(
        self, intake: Intake
    ) -> None:
        body = example("alert.json")
        response = await post(intake, "/v1/alerts", body)
        assert response.status_code == 202, response.text
        answer = response.json()
        assert answer["alert_id"].startswith("A-")
        assert len(answer["fingerprint"]) == 16
        assert answer["event_type"] == AlertRaised.event_type

        [record] = await intake.records(SIGNALS, 1)
        assert record.key == b"support-summarizer"
        event = from_kafka_record(record.value, record.headers)
        assert event.type == AlertRaised.event_type
        assert event.time is not None
        assert event.data == {
            "system_id": "support-summarizer",
            "alert_id": answer["alert_id"],
            "fingerprint": answer["fingerprint"],
            "signal": "drift",
            "severity": "warning",
            "summary": body["summary"],
            "labels": body["labels"],
            "value": 0.31,
            "threshold": 0.2,
            "source_url": body["source_url"],
            "starts_at": event.time.isoformat().replace("+00:00", "Z"),
        }

    async def test_same_labels_same_fingerprint(self, intake: Intake) -> None:
        first = await post(intake, "/v1/alerts", example("alert.json", severity="critical"))
        second = await post(intake, "/v1/alerts", example("alert.json"))
        other = await post(intake, "/v1/alerts", example("alert.json", labels={"feature": "x"}))
        assert first.json()["fingerprint"] == second.json()["fingerprint"]
        assert first.json()["fingerprint"] != other.json()["fingerprint"]
        assert first.json()["alert_id"] != second.json()["alert_id"]

    async def test_client_ids_and_times_are_kept(self, intake: Intake) -> None:
        body = example(
            "alert.json",
            alert_id="a-20261120-0931-drift",
            fingerprint="3f2a9c1d7e6b5a40",
            starts_at="2026-11-20T09:31:00Z",
            version="2026.11.3",
        )
        response = await post(intake, "/v1/alerts", body)
        assert response.status_code == 202, response.text
        [record] = await intake.records(SIGNALS, 1)
        data = from_kafka_record(record.value, record.headers).data
        assert isinstance(data, dict)
        assert (data["alert_id"], data["fingerprint"], data["starts_at"], data["version"]) == (
            "a-20261120-0931-drift",
            "3f2a9c1d7e6b5a40",
            "2026-11-20T09:31:00Z",
            "2026.11.3",
        )

    async def test_ends_before_start_is_422(self, intake: Intake) -> None:
        body = example(
            "alert.json", starts_at="2026-11-20T09:31:00Z", ends_at="2026-11-20T09:00:00Z"
        )
        response = await post(intake, "/v1/alerts", body)
        assert response.status_code == 422
        assert [e["loc"] for e in response.json()["errors"]] == [["body", "ends_at"]]

    async def test_a_reader_may_not_raise_alerts(self, intake: Intake) -> None:
        response = await post(intake, "/v1/alerts", example("alert.json"), token=READER)
        assert response.status_code == 403


class TestIncidents:
    async def test_the_example_is_reported_under_a_new_incident_id(self, intake: Intake) -> None:
        body = example("incident.json")
        response = await post(intake, "/v1/incidents", body, token=OWNER)
        assert response.status_code == 202, response.text
        answer = response.json()
        assert answer["incident_id"].startswith("INC-")
        assert answer["status"] == "reported"

        [record] = await intake.records(SIGNALS, 1)
        assert record.key == b"support-summarizer"
        event = from_kafka_record(record.value, record.headers)
        assert event.type == IncidentReported.event_type
        assert event.data == {
            "system_id": "support-summarizer",
            "incident_id": answer["incident_id"],
            "severity": "high",
            "category": "privacy",
            "summary": body["summary"],
            "reported_by": body["reported_by"],
            "serious": False,
            "occurred_at": "2026-11-20T09:42:00Z",
            "alert_ids": [],
        }

    async def test_lifecycle(self, intake: Intake) -> None:
        system_id = f"sys-{uuid.uuid4().hex[:10]}"
        reported = await post(intake, "/v1/incidents", example("incident.json", system=system_id))
        incident_id = reported.json()["incident_id"]
        base = f"/v1/incidents/{incident_id}"

        # Acknowledge with no body at all: the note is optional.
        acknowledged = await intake.client.post(f"{base}/acknowledge", headers=auth(OWNER))
        assert acknowledged.status_code == 202, acknowledged.text
        assert acknowledged.json()["status"] == "acknowledged"
        contained = await post(intake, f"{base}/contain", {"note": "Retrieval disabled."})
        assert contained.status_code == 202, contained.text
        resolved = await post(
            intake, f"{base}/resolve", {"resolution": "Tenant filter added.", "root_cause": "Bug."}
        )
        assert resolved.status_code == 202, resolved.text

        records = await intake.records(SIGNALS, 4)
        events = [from_kafka_record(r.value, r.headers) for r in records]
        assert [e.type for e in events] == [
            IncidentReported.event_type,
            IncidentAcknowledged.event_type,
            IncidentContained.event_type,
            IncidentResolved.event_type,
        ]
        assert {r.key for r in records} == {system_id.encode()}
        assert events[1].data == {"system_id": system_id, "incident_id": incident_id}
        assert events[2].data == {
            "system_id": system_id,
            "incident_id": incident_id,
            "note": "Retrieval disabled.",
        }
        assert events[3].data == {
            "system_id": system_id,
            "incident_id": incident_id,
            "resolution": "Tenant filter added.",
            "root_cause": "Bug.",
        }

    async def test_steps_are_never_taken_back(self, intake: Intake) -> None:
        reported = await post(intake, "/v1/incidents", example("incident.json"))
        base = f"/v1/incidents/{reported.json()['incident_id']}"
        # Skipping ahead is fine: resolve straight from reported.
        resolved = await post(intake, f"{base}/resolve", {"resolution": "False alarm."})
        assert resolved.status_code == 202, resolved.text
        for step, body in (
            ("acknowledge", {}),
            ("contain", {"note": "x"}),
            ("resolve", {"resolution": "y"}),
        ):
            response = await post(intake, f"{base}/{step}", body)
            assert response.status_code == 409, step
            assert response.json()["current_status"] == "resolved"

    @pytest.mark.parametrize("step", ["acknowledge", "contain", "resolve"])
    async def test_unknown_incident_is_404(self, intake: Intake, step: str) -> None:
        body = {"note": "x", "resolution": "y"}
        body = {k: v for k, v in body.items() if (k == "note") == (step != "resolve")}
        response = await post(intake, f"/v1/incidents/INC-NOSUCHONE/{step}", body)
        assert response.status_code == 404

    async def test_a_contain_step_needs_its_note(self, intake: Intake) -> None:
        reported = await post(intake, "/v1/incidents", example("incident.json"))
        base = f"/v1/incidents/{reported.json()['incident_id']}"
        response = await post(intake, f"{base}/contain", {})
        assert response.status_code == 422
        assert [e["loc"] for e in response.json()["errors"]] == [["body", "note"]]

    async def test_an_approver_alone_may_not_report(self, intake: Intake) -> None:
        response = await post(intake, "/v1/incidents", example("incident.json"), token=APPROVER)
        assert response.status_code == 403

    async def test_naive_timestamps_are_422(self, intake: Intake) -> None:
        body = example("incident.json", occurred_at="2026-11-20T09:42:00")
        response = await post(intake, "/v1/incidents", body)
        assert response.status_code == 422
        assert [e["loc"] for e in response.json()["errors"]] == [["body", "occurred_at"]]
