"""`Idempotency-Key` on typed endpoints: a retry is a duplicate, published once, same issued ids."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from aigov_events.topics import LIFECYCLE, SIGNALS
from aigov_intake.api.typed_common import keyed_event_id, source
from aigov_runtime.auth import Principal, Role
from tests.fixtures import EXAMPLES
from tests.integration.intake.conftest import APPROVER, PUBLISHER, Intake, auth

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def example(name: str, **changes: Any) -> dict[str, Any]:
    """A request example with `changes` applied, for a fresh AI system."""
    body: dict[str, Any] = json.loads((EXAMPLES / "requests" / name).read_text())
    body.update(system=f"sys-{uuid.uuid4().hex[:10]}", **changes)
    return body


def future() -> str:
    """An expiry a month from now (intake refuses past expiries)."""
    return (datetime.now(UTC) + timedelta(days=30)).isoformat()


def keyed(endpoint: str, key: str) -> str:
    """The event id intake derives from PUBLISHER's (ci-bot's) `key` on `endpoint`."""
    principal = Principal(name="ci-bot", roles=frozenset({Role.PUBLISHER}))
    return keyed_event_id(
        endpoint_source=source(endpoint), principal=principal, idempotency_key=key
    )


async def post(
    intake: Intake, path: str, body: Any, key: str | None, token: str = PUBLISHER
) -> Any:
    """POST a JSON body, with an Idempotency-Key when `key` is set."""
    headers = {"Content-Type": "application/json", **auth(token)}
    if key is not None:
        headers["Idempotency-Key"] = key
    return await intake.client.post(path, content=json.dumps(body), headers=headers)


class TestRetries:
    async def test_a_retried_evaluation_is_a_duplicate_and_published_once(
        self, intake: Intake
    ) -> None:
        key = str(uuid.uuid4())
        body = example("evaluation.json")
        first = await post(intake, "/v1/evaluations", body, key)
        retry = await post(intake, "/v1/evaluations", body, key)
        assert first.status_code == retry.status_code == 202
        event_id = keyed("evaluations", key)
        assert (first.json()["event_id"], first.json()["duplicate"]) == (event_id, False)
        assert (retry.json()["event_id"], retry.json()["duplicate"]) == (event_id, True)
        records = await intake.records(LIFECYCLE, 2, max_wait=3)
        assert [dict(r.headers)["ce_id"] for r in records] == [event_id.encode()]

    async def test_without_a_key_every_request_is_published(self, intake: Intake) -> None:
        body = example("artifact.json")
        first = await post(intake, "/v1/artifacts", body, None)
        second = await post(intake, "/v1/artifacts", body, None)
        assert first.json()["event_id"] != second.json()["event_id"]
        assert len(await intake.records(LIFECYCLE, 2)) == 2

    @pytest.mark.parametrize(
        ("path", "name", "issued", "topic"),
        [
            ("/v1/waivers", "waiver-request.json", "waiver_id", LIFECYCLE),
            ("/v1/incidents", "incident.json", "incident_id", SIGNALS),
            ("/v1/alerts", "alert.json", "alert_id", SIGNALS),
        ],
    )
    async def test_a_retry_gets_the_id_the_first_attempt_issued(
        self, intake: Intake, path: str, name: str, issued: str, topic: str
    ) -> None:
        key = str(uuid.uuid4())
        body = example(name, **({"expires_at": future()} if issued == "waiver_id" else {}))
        first = await post(intake, path, body, key)
        retry = await post(intake, path, body, key)
        assert first.status_code == retry.status_code == 202, retry.text
        assert first.json()[issued] == retry.json()[issued]
        assert retry.json()["duplicate"] is True
        assert len(await intake.records(topic, 2, max_wait=3)) == 1

    async def test_a_retried_waiver_grant_is_a_duplicate_not_a_conflict(
        self, intake: Intake
    ) -> None:
        requested = await post(
            intake, "/v1/waivers", example("waiver-request.json", expires_at=future()), None
        )
        path = f"/v1/waivers/{requested.json()['waiver_id']}/grant"
        key = str(uuid.uuid4())
        decision = {"rationale": "Adequate."}
        first = await post(intake, path, decision, key, token=APPROVER)
        retry = await post(intake, path, decision, key, token=APPROVER)
        assert first.status_code == retry.status_code == 202, retry.text
        assert retry.json()["duplicate"] is True
        # Without the key, a second decision is a conflict.
        unkeyed = await post(intake, path, decision, None, token=APPROVER)
        assert unkeyed.status_code == 409
        assert len(await intake.records(LIFECYCLE, 3, max_wait=3)) == 2

    async def test_a_key_is_scoped_to_its_endpoint(self, intake: Intake) -> None:
        key = str(uuid.uuid4())
        evaluation = await post(intake, "/v1/evaluations", example("evaluation.json"), key)
        artifact = await post(intake, "/v1/artifacts", example("artifact.json"), key)
        assert evaluation.json()["duplicate"] is artifact.json()["duplicate"] is False
        assert len(await intake.records(LIFECYCLE, 2)) == 2

    async def test_a_retried_registration_publishes_nothing_more(self, intake: Intake) -> None:
        document = yaml.safe_load((EXAMPLES / "systems" / "code-assistant.yaml").read_text())
        document["metadata"]["id"] = f"sys-{uuid.uuid4().hex[:10]}"
        key = str(uuid.uuid4())
        first = await post(intake, "/v1/systems", document, key)
        retry = await post(intake, "/v1/systems", document, key)
        assert first.status_code == 202, first.text
        assert first.json()["event_id"] == keyed("systems", key)
        # The retry finds the manifest already recorded: unchanged, nothing published.
        assert retry.status_code == 200, retry.text
        assert retry.json()["changed"] is False
        assert len(await intake.records(LIFECYCLE, 2, max_wait=3)) == 1
