"""`/v1/webhooks/cdevents` on the real broker: binding modes, topics, attribution, dedup."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from aigov_events.catalog import DeploymentCompleted, DeploymentRolledBack, IncidentReported
from aigov_events.envelope import from_kafka_record
from aigov_events.topics import LIFECYCLE, SIGNALS
from tests.integration.intake.conftest import PUBLISHER, Intake, auth

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

FIXTURES = Path(__file__).resolve().parents[2] / "unit" / "intake" / "fixtures"
PATH = "/v1/webhooks/cdevents"


def cdevent(name: str, system_id: str | None) -> dict[str, Any]:
    """A fixture CDEvent with a fresh id, naming `system_id` in customData (or no system)."""
    body: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    # Intake remembers accepted (source, id) pairs across test runs.
    body["context"]["id"] = str(uuid.uuid4())
    custom = body.setdefault("customData", {})
    custom.pop("ai_system", None)
    if system_id is not None:
        custom["ai_system"] = system_id
    return body


def fresh_system() -> str:
    """An AI system id no earlier run used."""
    return f"sys-{uuid.uuid4().hex[:10]}"


async def send_binary(
    intake: Intake,
    body: dict[str, Any],
    *,
    query: str = "",
    content_type: str = "application/cdevents+json",
) -> httpx.Response:
    """Send a CDEvent as the SDKs do: CloudEvents binary mode."""
    context = body["context"]
    headers = {
        "ce-specversion": "1.0",
        "ce-id": context["id"],
        "ce-source": context["source"],
        "ce-type": context["type"],
        "ce-time": context["timestamp"],
        "Content-Type": content_type,
        **auth(PUBLISHER),
    }
    return await intake.client.post(f"{PATH}{query}", content=json.dumps(body), headers=headers)


class TestModesAndTopics:
    async def test_binary_mode_deployment_lands_on_lifecycle(self, intake: Intake) -> None:
        system_id = fresh_system()
        body = cdevent("cdevents_service_deployed_v05.json", system_id)
        response = await send_binary(intake, body)
        assert response.status_code == 202, response.text
        assert response.json()["accepted"] == [body["context"]["id"]]

        [record] = await intake.records(LIFECYCLE, 1)
        assert record.key == system_id.encode()
        event = from_kafka_record(record.value, record.headers)
        assert event.type == DeploymentCompleted.event_type
        assert (event.id, event.source) == (body["context"]["id"], body["context"]["source"])
        assert isinstance(event.data, dict)
        assert event.data["version"] == "3.2.0"
        assert event.data["environment"] == "production_eu"
        assert event.data["region"] == "eu-west-1"

    async def test_structured_mode_incident_lands_on_signals(self, intake: Intake) -> None:
        system_id = fresh_system()
        data = cdevent("cdevents_incident_reported_v05.json", system_id)
        envelope = {
            "specversion": "1.0",
            "id": data["context"]["id"],
            "source": data["context"]["source"],
            "type": data["context"]["type"],
            "datacontenttype": "application/json",
            "data": data,
        }
        response = await intake.client.post(
            PATH,
            content=json.dumps(envelope),
            headers={"Content-Type": "application/cloudevents+json", **auth(PUBLISHER)},
        )
        assert response.status_code == 202, response.text
        [record] = await intake.records(SIGNALS, 1)
        assert record.key == system_id.encode()
        event = from_kafka_record(record.value, record.headers)
        assert event.type == IncidentReported.event_type
        assert isinstance(event.data, dict)
        assert event.data["severity"] == "high"
        assert event.data["serious"] is True

    async def test_rollback_publishes_both_events_atomically(self, intake: Intake) -> None:
        system_id = fresh_system()
        body = cdevent("cdevents_service_rolledback_v04.json", system_id)
        response = await send_binary(
            intake, body, query="?region=EU", content_type="application/json"
        )
        assert response.status_code == 202, response.text
        records = await intake.records(LIFECYCLE, 2)
        types = [dict(r.headers)["ce_type"].decode() for r in records]
        assert types == [DeploymentCompleted.event_type, DeploymentRolledBack.event_type]

    async def test_types_without_counterpart_are_acknowledged_not_published(
        self, intake: Intake
    ) -> None:
        body = cdevent("cdevents_pipelinerun_finished_v04.json", None)
        response = await send_binary(intake, body)
        assert response.status_code == 202, response.text
        receipt = response.json()
        assert receipt["accepted"] == []
        assert receipt["ignored"][0]["ref"] == body["context"]["type"]
        assert await intake.records(LIFECYCLE, 1, max_wait=3) == []


class TestAttributionAndDuplicates:
    async def test_query_parameter_names_the_system(self, intake: Intake) -> None:
        system_id = fresh_system()
        body = cdevent("cdevents_incident_resolved_v05.json", None)
        response = await send_binary(intake, body, query=f"?system={system_id}")
        assert response.status_code == 202, response.text
        [record] = await intake.records(SIGNALS, 1)
        assert record.key == system_id.encode()

    async def test_without_custom_data_or_query_parameter_nothing_is_published(
        self, intake: Intake
    ) -> None:
        body = cdevent("cdevents_incident_resolved_v05.json", None)
        response = await send_binary(intake, body)
        assert response.status_code == 422
        assert "customData.ai_system" in response.json()["detail"]
        assert await intake.records(SIGNALS, 1, max_wait=3) == []

    async def test_redelivery_is_a_duplicate(self, intake: Intake) -> None:
        body = cdevent("cdevents_testsuiterun_finished_with_metrics.json", fresh_system())
        first = await send_binary(intake, body)
        again = await send_binary(intake, body)
        assert first.status_code == again.status_code == 202
        assert again.json() == {
            "accepted": [],
            "duplicates": [body["context"]["id"]],
            "accepted_events": [],
            "duplicate_events": [
                {"id": body["context"]["id"], "source": body["context"]["source"]}
            ],
            "ignored": [],
        }
        assert len(await intake.records(LIFECYCLE, 2, max_wait=3)) == 1


class TestClientMistakes:
    async def test_malformed_json_names_its_position(self, intake: Intake) -> None:
        response = await intake.client.post(
            PATH,
            content=b'{"context": {"id": "x",}}',
            headers={"Content-Type": "application/json", **auth(PUBLISHER)},
        )
        assert response.status_code == 400
        assert response.json()["line"] == 1

    async def test_unsupported_content_type(self, intake: Intake) -> None:
        response = await intake.client.post(
            PATH,
            content=b"[]",
            headers={"Content-Type": "application/cloudevents-batch+json", **auth(PUBLISHER)},
        )
        assert response.status_code == 415

    async def test_header_and_context_disagree(self, intake: Intake) -> None:
        body = cdevent("cdevents_service_deployed_v05.json", fresh_system())
        headers = {
            "ce-specversion": "1.0",
            "ce-id": "another-id",
            "ce-source": body["context"]["source"],
            "ce-type": body["context"]["type"],
            "Content-Type": "application/json",
            **auth(PUBLISHER),
        }
        response = await intake.client.post(PATH, content=json.dumps(body), headers=headers)
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["header", "ce-id"]
