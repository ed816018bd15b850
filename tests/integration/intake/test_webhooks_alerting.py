"""`/v1/webhooks/alertmanager` and `/grafana` on the real broker: records, attribution, dedup."""

from __future__ import annotations

import json
import secrets
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from aigov_events.catalog import AlertRaised, AlertResolved
from aigov_events.envelope import from_kafka_record
from aigov_events.topics import SIGNALS
from tests.integration.intake.conftest import PUBLISHER, READER, Intake, auth

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

FIXTURES = Path(__file__).resolve().parents[2] / "unit" / "intake" / "fixtures"
JSON = {"Content-Type": "application/json"}


def group(name: str, system_id: str | None) -> dict[str, Any]:
    """A fixture alert group with fresh fingerprints, labelled with `system_id` (or unlabelled)."""
    body: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    for labels in [body.get("commonLabels", {}), *(a["labels"] for a in body["alerts"])]:
        labels.pop("ai_system", None)
        if system_id is not None:
            labels["ai_system"] = system_id
    for alert in body["alerts"]:
        # Intake remembers accepted ids across test runs: every run needs its own alerts.
        alert["fingerprint"] = secrets.token_hex(8)
    return body


def fresh_system() -> str:
    """An AI system id no earlier run used."""
    return f"sys-{uuid.uuid4().hex[:10]}"


async def post(
    intake: Intake, path: str, body: Any, *, query: str = "", token: str = PUBLISHER
) -> httpx.Response:
    """POST a JSON body to a webhook as `token`."""
    return await intake.client.post(
        f"{path}{query}", content=json.dumps(body), headers={**JSON, **auth(token)}
    )


class TestAlertmanager:
    async def test_each_alert_is_a_record_keyed_by_the_labelled_system(
        self, intake: Intake
    ) -> None:
        system_id = fresh_system()
        body = group("alertmanager_mixed_group.json", system_id)
        response = await post(intake, "/v1/webhooks/alertmanager", body)
        assert response.status_code == 202, response.text
        receipt = response.json()
        assert len(receipt["accepted"]) == 2
        assert receipt["duplicates"] == []
        assert receipt["ignored"] == []

        records = await intake.records(SIGNALS, 2)
        assert [r.key for r in records] == [system_id.encode()] * 2
        types = [dict(r.headers)["ce_type"].decode() for r in records]
        assert types == [AlertRaised.event_type, AlertResolved.event_type]
        raised = from_kafka_record(records[0].value, records[0].headers)
        assert isinstance(raised.data, dict)
        assert raised.data["fingerprint"] == body["alerts"][0]["fingerprint"]
        assert raised.data["severity"] == "critical"
        assert raised.data["signal"] == "drift"
        assert raised.data["value"] == 0.42
        assert dict(records[0].headers)["ce_actor"] == b"ci-bot"
        assert dict(records[0].headers)["ce_source"] == b"urn:aigov:webhook:alertmanager"

    async def test_redelivery_is_a_duplicate(self, intake: Intake) -> None:
        body = group("alertmanager_mixed_group.json", fresh_system())
        first = await post(intake, "/v1/webhooks/alertmanager", body)
        again = await post(intake, "/v1/webhooks/alertmanager", body)
        assert first.status_code == again.status_code == 202
        assert again.json()["accepted"] == []
        assert sorted(again.json()["duplicates"]) == sorted(first.json()["accepted"])
        assert len(await intake.records(SIGNALS, 3, max_wait=3)) == 2

    async def test_query_parameter_names_the_system_of_unlabelled_alerts(
        self, intake: Intake
    ) -> None:
        system_id = fresh_system()
        body = group("alertmanager_relay_without_status_or_fingerprint.json", None)
        response = await post(
            intake, "/v1/webhooks/alertmanager", body, query=f"?system={system_id}"
        )
        assert response.status_code == 202, response.text
        [record] = await intake.records(SIGNALS, 1)
        assert record.key == system_id.encode()
        assert dict(record.headers)["ce_type"] == AlertResolved.event_type.encode()

    async def test_without_label_or_query_parameter_nothing_is_published(
        self, intake: Intake
    ) -> None:
        body = group("alertmanager_relay_without_status_or_fingerprint.json", None)
        response = await post(intake, "/v1/webhooks/alertmanager", body)
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "ai_system" in response.json()["detail"]
        assert await intake.records(SIGNALS, 1, max_wait=3) == []

    async def test_a_partly_labelled_group_is_refused_as_a_whole(self, intake: Intake) -> None:
        body = group("alertmanager_partially_labelled.json", None)
        body["alerts"][0]["labels"]["ai_system"] = fresh_system()
        response = await post(intake, "/v1/webhooks/alertmanager", body)
        assert response.status_code == 422
        assert "1 of 2 alerts" in response.json()["detail"]
        assert await intake.records(SIGNALS, 1, max_wait=3) == []

    async def test_field_errors_name_their_json_path(self, intake: Intake) -> None:
        body = group("alertmanager_mixed_group.json", fresh_system())
        body["alerts"][1]["startsAt"] = "yesterday"
        del body["status"]
        response = await post(intake, "/v1/webhooks/alertmanager", body)
        assert response.status_code == 422
        locations = [e["loc"] for e in response.json()["errors"]]
        assert ["body", "status"] in locations
        assert ["body", "alerts", 1, "startsAt"] in locations

    async def test_malformed_json_and_wrong_content_type(self, intake: Intake) -> None:
        broken = await intake.client.post(
            "/v1/webhooks/alertmanager",
            content=b'{"status": }',
            headers={**JSON, **auth(PUBLISHER)},
        )
        assert broken.status_code == 400
        assert "column" in broken.json()["detail"]
        text = await intake.client.post(
            "/v1/webhooks/alertmanager",
            content=b"status=firing",
            headers={"Content-Type": "text/plain", **auth(PUBLISHER)},
        )
        assert text.status_code == 415

    async def test_a_reader_may_not_post_alerts(self, intake: Intake) -> None:
        body = group("alertmanager_mixed_group.json", fresh_system())
        response = await post(intake, "/v1/webhooks/alertmanager", body, token=READER)
        assert response.status_code == 403


class TestGrafana:
    async def test_unified_alerting_notification(self, intake: Intake) -> None:
        system_id = fresh_system()
        body = group("grafana_firing_with_values.json", system_id)
        response = await post(intake, "/v1/webhooks/grafana", body)
        assert response.status_code == 202, response.text
        assert [i["ref"] for i in response.json()["ignored"]] == ["truncatedAlerts"]
        records = await intake.records(SIGNALS, 2)
        assert {r.key for r in records} == {system_id.encode()}
        first = from_kafka_record(records[0].value, records[0].headers)
        assert first.type == AlertRaised.event_type
        assert isinstance(first.data, dict)
        assert first.data["value"] == 0.071
        assert first.source == "urn:aigov:webhook:grafana"

    async def test_redelivery_is_a_duplicate(self, intake: Intake) -> None:
        body = group("grafana_firing_with_values.json", fresh_system())
        first = await post(intake, "/v1/webhooks/grafana", body)
        again = await post(intake, "/v1/webhooks/grafana", body)
        assert again.status_code == 202
        assert sorted(again.json()["duplicates"]) == sorted(first.json()["accepted"])
        assert len(await intake.records(SIGNALS, 3, max_wait=3)) == 2

    async def test_query_parameter_and_its_absence(self, intake: Intake) -> None:
        system_id = fresh_system()
        body = group("grafana_firing_with_values.json", None)
        refused = await post(intake, "/v1/webhooks/grafana", body)
        assert refused.status_code == 422
        accepted = await post(intake, "/v1/webhooks/grafana", body, query=f"?system={system_id}")
        assert accepted.status_code == 202, accepted.text
        assert {r.key for r in await intake.records(SIGNALS, 2)} == {system_id.encode()}

    async def test_legacy_format_is_refused_with_advice(self, intake: Intake) -> None:
        body = json.loads((FIXTURES / "grafana_legacy_alert.json").read_text())
        response = await post(intake, "/v1/webhooks/grafana", body)
        assert response.status_code == 422
        assert "unified alerting" in response.json()["detail"]

    async def test_contact_point_test_is_acknowledged_not_published(self, intake: Intake) -> None:
        body = json.loads((FIXTURES / "grafana_contact_point_test.json").read_text())
        response = await post(intake, "/v1/webhooks/grafana", body)
        assert response.status_code == 202, response.text
        assert response.json()["accepted"] == []
        assert response.json()["ignored"][0]["ref"] == "TestAlert"
        assert await intake.records(SIGNALS, 1, max_wait=3) == []
