"""`POST /v1/events` on the real broker: modes, atomic batches, duplicates, roles, errors."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest

from aigov_events.catalog import ApprovalGranted, EvaluationCompleted, SystemRetired, TierAssigned
from aigov_events.envelope import from_kafka_record
from aigov_events.topics import LIFECYCLE
from tests.integration.intake.conftest import (
    APPROVER,
    APPROVER_PUBLISHER,
    PUBLISHER,
    READER,
    Intake,
    auth,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

STRUCTURED = {"Content-Type": "application/cloudevents+json"}
BATCH = {"Content-Type": "application/cloudevents-batch+json"}


def cloudevent(payload: dict[str, Any], event_type: str, **attrs: Any) -> dict[str, Any]:
    """A structured-mode CloudEvent around `payload`."""
    event = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "https://ci.example.com/tests",
        "type": event_type,
        "time": "2026-11-20T10:00:00Z",
        "datacontenttype": "application/json",
        "data": payload,
    }
    event.update(attrs)
    return event


def evaluation(**overrides: Any) -> dict[str, Any]:
    """The catalog's evaluation example for a fresh system id."""
    payload = {
        **copy.deepcopy(EvaluationCompleted.example),
        "system_id": f"sys-{uuid.uuid4().hex[:8]}",
    }
    payload.update(overrides)
    return cloudevent(payload, EvaluationCompleted.event_type)


class TestModes:
    async def test_structured_event_lands_on_its_topic_with_key_headers_and_actor(
        self, intake: Intake
    ) -> None:
        event = {**evaluation(), "actor": "someone-else"}
        response = await intake.client.post(
            "/v1/events", content=json.dumps(event), headers={**STRUCTURED, **auth(PUBLISHER)}
        )
        assert response.status_code == 202, response.text
        assert response.json() == {
            "accepted": [event["id"]],
            "duplicates": [],
            "accepted_events": [{"id": event["id"], "source": event["source"]}],
            "duplicate_events": [],
        }

        [record] = await intake.records(LIFECYCLE, 1)
        system_id = event["data"]["system_id"]
        assert record.key == system_id.encode()
        headers = dict(record.headers)
        assert headers["ce_type"] == EvaluationCompleted.event_type.encode()
        assert headers["ce_partitionkey"] == system_id.encode()
        assert headers["ce_actor"] == b"ci-bot"  # the token's principal, not the client's claim
        assert "traceparent" in headers
        assert from_kafka_record(record.value, record.headers).data == event["data"]

    async def test_binary_mode(self, intake: Intake) -> None:
        event = evaluation()
        headers = {
            "ce-specversion": "1.0",
            "ce-id": event["id"],
            "ce-source": event["source"],
            "ce-type": event["type"],
            "ce-time": event["time"],
            "Content-Type": "application/json",
            **auth(PUBLISHER),
        }
        response = await intake.client.post(
            "/v1/events", content=json.dumps(event["data"]), headers=headers
        )
        assert response.status_code == 202, response.text
        [record] = await intake.records(LIFECYCLE, 1)
        assert dict(record.headers)["ce_id"] == event["id"].encode()

    async def test_batch_is_published_in_order(self, intake: Intake) -> None:
        system_id = f"sys-{uuid.uuid4().hex[:8]}"
        batch = [evaluation(system_id=system_id, version=f"1.0.{n}") for n in range(5)]
        response = await intake.client.post(
            "/v1/events", content=json.dumps(batch), headers={**BATCH, **auth(PUBLISHER)}
        )
        assert response.status_code == 202, response.text
        assert response.json()["accepted"] == [e["id"] for e in batch]
        records = await intake.records(LIFECYCLE, 5)
        assert [dict(r.headers)["ce_id"].decode() for r in records] == [e["id"] for e in batch]


class TestAllOrNothing:
    async def test_one_invalid_event_rejects_the_whole_batch_naming_every_field(
        self, intake: Intake
    ) -> None:
        good = evaluation()
        bad = evaluation()
        bad["data"]["metrics"][0]["value"] = "high"
        unknown = cloudevent({"system_id": "x"}, "io.aigov.nothing.happened.v1")
        response = await intake.client.post(
            "/v1/events",
            content=json.dumps([good, bad, unknown]),
            headers={**BATCH, **auth(PUBLISHER)},
        )
        assert response.status_code == 422
        problem = response.json()
        locations = [e["loc"] for e in problem["errors"]]
        assert ["body", 1, "data", "metrics", 0, "value"] in locations
        assert ["body", 2, "type"] in locations
        assert await intake.records(LIFECYCLE, 1, max_wait=3) == []


class TestDuplicates:
    async def test_same_source_and_id_is_accepted_once(self, intake: Intake) -> None:
        event = evaluation()
        ref = {"id": event["id"], "source": event["source"]}
        for expected in (
            {"accepted": [event["id"]], "duplicates": [], "accepted_events": [ref]},
            {"accepted": [], "duplicates": [event["id"]], "duplicate_events": [ref]},
        ):
            response = await intake.client.post(
                "/v1/events", content=json.dumps(event), headers={**STRUCTURED, **auth(PUBLISHER)}
            )
            assert response.status_code == 202
            assert response.json() == {"accepted_events": [], "duplicate_events": [], **expected}
        assert len(await intake.records(LIFECYCLE, 2, max_wait=3)) == 1

    async def test_a_batch_repeating_an_event_is_rejected(self, intake: Intake) -> None:
        event = evaluation()
        response = await intake.client.post(
            "/v1/events", content=json.dumps([event, event]), headers={**BATCH, **auth(PUBLISHER)}
        )
        assert response.status_code == 422


class TestRoles:
    async def test_reader_may_not_publish(self, intake: Intake) -> None:
        response = await intake.client.post(
            "/v1/events", content=json.dumps(evaluation()), headers={**STRUCTURED, **auth(READER)}
        )
        assert response.status_code == 403

    async def test_no_token_is_401(self, intake: Intake) -> None:
        response = await intake.client.post(
            "/v1/events", content=json.dumps(evaluation()), headers=STRUCTURED
        )
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")

    async def test_publisher_may_not_send_an_approval(self, intake: Intake) -> None:
        approval = cloudevent(dict(ApprovalGranted.example), ApprovalGranted.event_type)
        response = await intake.client.post(
            "/v1/events", content=json.dumps(approval), headers={**STRUCTURED, **auth(PUBLISHER)}
        )
        assert response.status_code == 403
        assert "approver" in response.json()["detail"]

    async def test_decisions_are_never_accepted_from_clients(self, intake: Intake) -> None:
        tier = cloudevent(dict(TierAssigned.example), TierAssigned.event_type)
        response = await intake.client.post(
            "/v1/events", content=json.dumps(tier), headers={**STRUCTURED, **auth(APPROVER)}
        )
        assert response.status_code == 422

    async def test_an_approver_may_not_approve_a_release_they_submitted(
        self, intake: Intake
    ) -> None:
        submitted = evaluation()
        system_id, version = submitted["data"]["system_id"], submitted["data"]["version"]
        response = await intake.client.post(
            "/v1/events",
            content=json.dumps(submitted),
            headers={**STRUCTURED, **auth(APPROVER_PUBLISHER)},
        )
        assert response.status_code == 202
        approval = cloudevent(
            {**ApprovalGranted.example, "system_id": system_id, "version": version},
            ApprovalGranted.event_type,
        )
        own = await intake.client.post(
            "/v1/events",
            content=json.dumps(approval),
            headers={**STRUCTURED, **auth(APPROVER_PUBLISHER)},
        )
        assert own.status_code == 403
        assert "submitted" in own.json()["detail"]
        other = await intake.client.post(
            "/v1/events", content=json.dumps(approval), headers={**STRUCTURED, **auth(APPROVER)}
        )
        assert other.status_code == 202, other.text


class TestBadInput:
    async def test_malformed_json_is_400_with_position(self, intake: Intake) -> None:
        response = await intake.client.post(
            "/v1/events",
            content=b'{"specversion": "1.0",\n "id": }',
            headers={**STRUCTURED, **auth(PUBLISHER)},
        )
        assert response.status_code == 400
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["line"] == 2

    async def test_unknown_content_type_is_415(self, intake: Intake) -> None:
        response = await intake.client.post(
            "/v1/events",
            content=b"<xml/>",
            headers={"Content-Type": "application/xml", **auth(PUBLISHER)},
        )
        assert response.status_code == 415

    async def test_invalid_envelope_is_422(self, intake: Intake) -> None:
        event = {**evaluation(), "Actor": "upper-case extension"}
        response = await intake.client.post(
            "/v1/events", content=json.dumps(event), headers={**STRUCTURED, **auth(PUBLISHER)}
        )
        assert response.status_code == 422
        assert "lower-case" in response.text

    async def test_oversized_body_is_413(self, intake: Intake) -> None:
        response = await intake.client.post(
            "/v1/events",
            content=b"[" + b" " * (6 * 1024 * 1024) + b"]",
            headers={**BATCH, **auth(PUBLISHER)},
        )
        assert response.status_code == 413

    async def test_retire_via_events_works_for_owners(self, intake: Intake) -> None:
        retire = cloudevent(
            {"system_id": f"sys-{uuid.uuid4().hex[:8]}", "reason": "replaced"},
            SystemRetired.event_type,
        )
        response = await intake.client.post(
            "/v1/events", content=json.dumps(retire), headers={**STRUCTURED, **auth(PUBLISHER)}
        )
        assert response.status_code == 202


class TestEmptyBatch:
    async def test_an_empty_batch_is_accepted_and_publishes_nothing(self, intake: Intake) -> None:
        response = await intake.client.post(
            "/v1/events", content=b"[]", headers={**BATCH, **auth(PUBLISHER)}
        )
        assert response.status_code == 202, response.text
        assert response.json() == {
            "accepted": [],
            "duplicates": [],
            "accepted_events": [],
            "duplicate_events": [],
        }
        assert await intake.records(LIFECYCLE, 1, max_wait=2) == []

    async def test_it_still_needs_a_token(self, intake: Intake) -> None:
        response = await intake.client.post("/v1/events", content=b"[]", headers=BATCH)
        assert response.status_code == 401
