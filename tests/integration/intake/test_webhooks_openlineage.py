"""`/v1/webhooks/openlineage` on the real broker: lineage records, attribution, dedup."""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from aigov_events.catalog import LineageRecorded
from aigov_events.envelope import from_kafka_record
from aigov_events.topics import LIFECYCLE
from tests.integration.intake.conftest import PUBLISHER, Intake, auth

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

FIXTURES = Path(__file__).resolve().parents[2] / "unit" / "intake" / "fixtures"
PATH = "/v1/webhooks/openlineage"
JSON = {"Content-Type": "application/json"}


def run_event(system_id: str | None) -> dict[str, Any]:
    """The fixture training run with a fresh run id, tagged with `system_id` (or untagged)."""
    body: dict[str, Any] = json.loads(
        (FIXTURES / "openlineage_training_run_complete.json").read_text()
    )
    body["run"]["runId"] = str(uuid.uuid4())  # intake remembers ids across test runs
    tags = body["job"]["facets"]["tags"]["tags"]
    tags[:] = [t for t in tags if t["key"] != "ai_system"]
    if system_id is not None:
        tags.append({"key": "ai_system", "value": system_id, "source": "USER"})
    return body


def fresh_system() -> str:
    """An AI system id no earlier run used."""
    return f"sys-{uuid.uuid4().hex[:10]}"


async def post(intake: Intake, body: Any, *, query: str = "") -> httpx.Response:
    """POST an OpenLineage event as the HTTP transport does (api_key -> Bearer)."""
    return await intake.client.post(
        f"{PATH}{query}", content=json.dumps(body), headers={**JSON, **auth(PUBLISHER)}
    )


class TestLineage:
    async def test_tagged_run_is_recorded_on_lifecycle(self, intake: Intake) -> None:
        system_id = fresh_system()
        body = run_event(system_id)
        response = await post(intake, body)
        assert response.status_code == 202, response.text
        assert len(response.json()["accepted"]) == 1

        [record] = await intake.records(LIFECYCLE, 1)
        assert record.key == system_id.encode()
        event = from_kafka_record(record.value, record.headers)
        assert event.type == LineageRecorded.event_type
        assert event.source == "urn:aigov:webhook:openlineage"
        assert isinstance(event.data, dict)
        assert event.data["run_id"] == body["run"]["runId"]
        assert event.data["run_state"] == "COMPLETE"
        assert event.data["version"] == "3.2.0"
        data: Any = event.data
        assert data["inputs"][0]["facets"]["dataQualityAssertions"] == "1/2 passed"

    async def test_eventbridge_envelope(self, intake: Intake) -> None:
        system_id = fresh_system()
        envelope = json.loads((FIXTURES / "openlineage_eventbridge_running.json").read_text())
        envelope["detail"] = run_event(system_id)
        response = await post(intake, envelope)
        assert response.status_code == 202, response.text
        [record] = await intake.records(LIFECYCLE, 1)
        assert record.key == system_id.encode()

    async def test_redelivery_is_a_duplicate(self, intake: Intake) -> None:
        body = run_event(fresh_system())
        first = await post(intake, body)
        again = await post(intake, body)
        assert again.status_code == 202
        assert again.json()["duplicates"] == first.json()["accepted"]
        assert len(await intake.records(LIFECYCLE, 2, max_wait=3)) == 1


class TestAttribution:
    async def test_query_parameter_names_the_system_of_an_untagged_job(
        self, intake: Intake
    ) -> None:
        system_id = fresh_system()
        response = await post(intake, run_event(None), query=f"?system={system_id}")
        assert response.status_code == 202, response.text
        [record] = await intake.records(LIFECYCLE, 1)
        assert record.key == system_id.encode()

    async def test_an_untagged_job_without_query_parameter_is_refused(self, intake: Intake) -> None:
        response = await post(intake, run_event(None))
        assert response.status_code == 422
        assert "tags facet" in response.json()["detail"]
        assert await intake.records(LIFECYCLE, 1, max_wait=3) == []

    async def test_unattributed_events_may_be_acknowledged_instead(self, intake: Intake) -> None:
        response = await post(intake, run_event(None), query="?unattributed=ignore")
        assert response.status_code == 202, response.text
        assert response.json()["accepted"] == []
        assert "no ai_system tag" in response.json()["ignored"][0]["reason"]
        assert await intake.records(LIFECYCLE, 1, max_wait=3) == []


class TestIgnoredAndRefused:
    async def test_dataset_event_is_acknowledged_not_published(self, intake: Intake) -> None:
        body = json.loads((FIXTURES / "openlineage_dataset_event.json").read_text())
        response = await post(intake, body)
        assert response.status_code == 202, response.text
        assert response.json()["ignored"][0]["ref"].startswith("DatasetEvent")
        assert await intake.records(LIFECYCLE, 1, max_wait=3) == []

    async def test_compressed_bodies_are_refused_with_advice(self, intake: Intake) -> None:
        response = await intake.client.post(
            PATH,
            content=gzip.compress(json.dumps(run_event(fresh_system())).encode()),
            headers={**JSON, "Content-Encoding": "gzip", **auth(PUBLISHER)},
        )
        assert response.status_code == 415
        assert "compression" in response.json()["detail"]

    async def test_field_errors_name_their_json_path(self, intake: Intake) -> None:
        body = run_event(fresh_system())
        body["eventType"] = "DONE"
        del body["run"]["runId"]
        response = await post(intake, body)
        assert response.status_code == 422
        locations = [e["loc"] for e in response.json()["errors"]]
        assert ["body", "eventType"] in locations
        assert ["body", "run", "runId"] in locations
