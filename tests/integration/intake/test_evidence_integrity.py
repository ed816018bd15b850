"""Attacks on the evidence itself: future times, shared Idempotency-Keys, forged probes and
manifest revisions, mail-header injection through a manifest's contacts (issue 12, item 3/5).

| attack                                              | answer                                  |
|-----------------------------------------------------|-----------------------------------------|
| event dated 100 years ahead (any endpoint)          | 422 naming the event and how far ahead  |
| event 1 minute ahead                                | 202 (within the default 5 minute skew)  |
| second principal reuses another's Idempotency-Key   | its own event, not "duplicate"          |
| client sends monitoring.probe.completed             | 422: produced by aigov's own services   |
| system.updated with revision 2^31 / a forged hash   | published with intake's revision & hash |
| owner `victim@x, attacker@evil`, CRLF in on-call    | 422 at the field's path                 |
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aigov_events.catalog import (
    AISystemManifest,
    EvaluationCompleted,
    MonitoringProbeCompleted,
    SystemRegistered,
    SystemUpdated,
)
from aigov_events.envelope import from_kafka_record
from aigov_events.topics import LIFECYCLE, SIGNALS
from tests.integration.intake import requests
from tests.integration.intake.conftest import (
    ADMIN,
    OWNER,
    PUBLISHER,
    PUBLISHER_2,
    READER,
    Intake,
    auth,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

STRUCTURED = {"Content-Type": "application/cloudevents+json"}
BATCH = {"Content-Type": "application/cloudevents-batch+json"}
FIXTURES = Path(__file__).resolve().parents[2] / "unit" / "intake" / "fixtures"


fresh_system = requests.fresh_system


def at(delta: timedelta) -> str:
    """A CloudEvents `time` `delta` from now."""
    return (datetime.now(UTC) + delta).isoformat().replace("+00:00", "Z")


def cloudevent(data: dict[str, Any], event_type: str, **attrs: Any) -> dict[str, Any]:
    """A structured-mode CloudEvent with a fresh id."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "https://ci.example.com/attacks",
        "type": event_type,
        "datacontenttype": "application/json",
        "data": data,
        **attrs,
    }


def evaluation(**attrs: Any) -> dict[str, Any]:
    """An evaluation.completed event for a fresh system."""
    data = {**copy.deepcopy(EvaluationCompleted.example), "system_id": fresh_system()}
    return cloudevent(data, EvaluationCompleted.event_type, **attrs)


async def post_events(intake: Intake, body: Any, token: str, headers: dict[str, str]) -> Any:
    """POST to /v1/events."""
    return await intake.client.post(
        "/v1/events", content=json.dumps(body), headers={**headers, **auth(token)}
    )


class TestFutureTime:
    async def test_an_event_dated_100_years_ahead_is_refused(self, intake: Intake) -> None:
        event = evaluation(time=at(timedelta(days=36525)))
        response = await post_events(intake, event, PUBLISHER, STRUCTURED)
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]
        assert event["id"] in detail
        assert "36525 days" in detail
        assert "ahead" in detail
        assert await intake.records(LIFECYCLE, 1, max_wait=2) == []

    async def test_an_event_one_minute_ahead_is_accepted(self, intake: Intake) -> None:
        response = await post_events(
            intake, evaluation(time=at(timedelta(minutes=1))), PUBLISHER, STRUCTURED
        )
        assert response.status_code == 202, response.text

    async def test_one_future_event_refuses_the_whole_batch(self, intake: Intake) -> None:
        batch = [evaluation(), evaluation(time=at(timedelta(hours=1)))]
        response = await post_events(intake, batch, PUBLISHER, BATCH)
        assert response.status_code == 422, response.text
        assert batch[1]["id"] in response.json()["detail"]
        assert "item 1" in response.json()["detail"]
        assert await intake.records(LIFECYCLE, 1, max_wait=2) == []

    async def test_binary_mode_ce_time_is_checked(self, intake: Intake) -> None:
        event = evaluation()
        headers = {
            "ce-specversion": "1.0",
            "ce-id": event["id"],
            "ce-source": event["source"],
            "ce-type": event["type"],
            "ce-time": at(timedelta(days=365)),
            "Content-Type": "application/json",
            **auth(PUBLISHER),
        }
        response = await intake.client.post(
            "/v1/events", content=json.dumps(event["data"]), headers=headers
        )
        assert response.status_code == 422, response.text
        assert "ahead" in response.json()["detail"]

    async def test_a_webhook_timestamp_far_ahead_is_refused(self, intake: Intake) -> None:
        body = json.loads((FIXTURES / "cdevents_incident_reported_v05.json").read_text())
        body["context"]["id"] = str(uuid.uuid4())
        body["context"]["timestamp"] = at(timedelta(days=3650))
        body.setdefault("customData", {})["ai_system"] = fresh_system()
        response = await intake.client.post(
            "/v1/webhooks/cdevents",
            content=json.dumps(body),
            headers={"Content-Type": "application/json", **auth(PUBLISHER)},
        )
        assert response.status_code == 422, response.text
        assert "ahead" in response.json()["detail"]
        assert await intake.records(SIGNALS, 1, max_wait=2) == []


async def post_typed(intake: Intake, path: str, body: Any, token: str, key: str) -> Any:
    """POST a typed request with an Idempotency-Key."""
    headers = {"Content-Type": "application/json", "Idempotency-Key": key, **auth(token)}
    return await intake.client.post(path, content=json.dumps(body), headers=headers)


class TestIdempotencyKeysPerPrincipal:
    async def test_two_principals_with_one_key_get_two_events(self, intake: Intake) -> None:
        key = f"release-{uuid.uuid4().hex[:8]}-evaluation"  # one key, sent by both
        body = requests.evaluation(fresh_system())
        first = await post_typed(intake, "/v1/evaluations", body, PUBLISHER, key)
        other = await post_typed(intake, "/v1/evaluations", body, PUBLISHER_2, key)
        assert first.status_code == other.status_code == 202, other.text
        assert other.json()["duplicate"] is False
        assert other.json()["event_id"] != first.json()["event_id"]
        records = await intake.records(LIFECYCLE, 2)
        assert {dict(r.headers)["ce_id"].decode() for r in records} == {
            first.json()["event_id"],
            other.json()["event_id"],
        }

    async def test_the_same_principal_retrying_gets_the_duplicate_answer(
        self, intake: Intake
    ) -> None:
        key = str(uuid.uuid4())
        body = requests.evaluation(fresh_system())
        first = await post_typed(intake, "/v1/evaluations", body, PUBLISHER, key)
        retry = await post_typed(intake, "/v1/evaluations", body, PUBLISHER, key)
        assert retry.json()["duplicate"] is True
        assert retry.json()["event_id"] == first.json()["event_id"]
        assert len(await intake.records(LIFECYCLE, 2, max_wait=3)) == 1

    async def test_issued_ids_are_per_principal_too(self, intake: Intake) -> None:
        key = str(uuid.uuid4())
        body = requests.waiver_request(fresh_system())
        first = await post_typed(intake, "/v1/waivers", body, PUBLISHER, key)
        other = await post_typed(intake, "/v1/waivers", body, PUBLISHER_2, key)
        assert first.status_code == other.status_code == 202, other.text
        assert first.json()["waiver_id"] != other.json()["waiver_id"]


class TestProbes:
    @pytest.mark.parametrize("token", [PUBLISHER, OWNER, ADMIN])
    async def test_no_client_may_send_a_monitoring_probe_result(
        self, intake: Intake, token: str
    ) -> None:
        probe = cloudevent(
            {**copy.deepcopy(MonitoringProbeCompleted.example), "system_id": fresh_system()},
            MonitoringProbeCompleted.event_type,
        )
        response = await post_events(intake, probe, token, STRUCTURED)
        assert response.status_code == 422, response.text
        assert "produced by aigov's own services" in response.json()["detail"]
        assert await intake.records(SIGNALS, 1, max_wait=2) == []


def manifest_document(system_id: str, **spec_changes: Any) -> dict[str, Any]:
    """The catalog's example manifest for `system_id`."""
    return requests.manifest(system_id, **spec_changes)


def manifest_event(event_type: str, document: dict[str, Any], **data: Any) -> dict[str, Any]:
    """A system.* CloudEvent carrying `document` with whatever revision and hash the client likes."""
    return cloudevent(
        {"system_id": document["metadata"]["id"], "manifest": document, **data}, event_type
    )


def published(record: Any) -> tuple[str, dict[str, Any]]:
    """(type, data) of a published record."""
    envelope = from_kafka_record(record.value, record.headers)
    assert isinstance(envelope.data, dict)
    return envelope.type, envelope.data


class TestManifestsThroughEvents:
    async def test_intake_numbers_and_hashes_what_the_client_claims(self, intake: Intake) -> None:
        system_id = fresh_system()
        document = manifest_document(system_id)
        digest = AISystemManifest.model_validate(document).content_sha256()
        forged = manifest_event(
            SystemUpdated.event_type,
            document,
            revision=2**31,
            manifest_sha256="0" * 64,
            previous_manifest_sha256="1" * 64,
        )
        response = await post_events(intake, forged, OWNER, STRUCTURED)
        assert response.status_code == 202, response.text
        assert response.json()["accepted"] == [forged["id"]]
        [record] = await intake.records(LIFECYCLE, 1)
        event_type, data = published(record)
        # An unknown system's first manifest is its registration, revision 1, intake's hash.
        assert event_type == SystemRegistered.event_type
        assert (data["revision"], data["manifest_sha256"]) == (1, digest)
        assert "previous_manifest_sha256" not in data

        changed = manifest_document(system_id, purpose="Summarise support cases, EU only.")
        changed_digest = AISystemManifest.model_validate(changed).content_sha256()
        update = manifest_event(
            SystemRegistered.event_type, changed, revision=1, manifest_sha256="f" * 64
        )
        response = await post_events(intake, update, OWNER, STRUCTURED)
        assert response.status_code == 202, response.text
        records = await intake.records(LIFECYCLE, 2)
        event_type, data = published(records[1])
        assert event_type == SystemUpdated.event_type
        assert data["revision"] == 2
        assert data["manifest_sha256"] == changed_digest
        assert data["previous_manifest_sha256"] == digest

        # The typed endpoint numbers on from what /v1/events recorded.
        typed = await intake.client.post(
            "/v1/systems",
            content=json.dumps(manifest_document(system_id, purpose="Third revision.")),
            headers={"Content-Type": "application/json", **auth(OWNER)},
        )
        assert typed.status_code == 202, typed.text
        assert typed.json()["revision"] == 3

    async def test_an_unchanged_manifest_publishes_nothing(self, intake: Intake) -> None:
        document = manifest_document(fresh_system())
        first = manifest_event(SystemRegistered.event_type, document, revision=1)
        first["data"]["manifest_sha256"] = "a" * 64
        assert (await post_events(intake, first, OWNER, STRUCTURED)).status_code == 202
        again = manifest_event(
            SystemUpdated.event_type,
            document,
            revision=7,
            manifest_sha256="b" * 64,
            previous_manifest_sha256="c" * 64,
        )
        response = await post_events(intake, again, OWNER, STRUCTURED)
        assert response.status_code == 202, response.text
        assert response.json() == {
            "accepted": [],
            "duplicates": [again["id"]],
            "accepted_events": [],
            "duplicate_events": [{"id": again["id"], "source": again["source"]}],
        }
        assert len(await intake.records(LIFECYCLE, 2, max_wait=3)) == 1

    async def test_a_batch_revising_one_system_twice_is_numbered_in_order(
        self, intake: Intake
    ) -> None:
        system_id = fresh_system()
        one = manifest_document(system_id)
        two = manifest_document(system_id, purpose="Second.")
        batch = [
            manifest_event(SystemRegistered.event_type, one, revision=9, manifest_sha256="a" * 64),
            manifest_event(SystemRegistered.event_type, two, revision=9, manifest_sha256="a" * 64),
        ]
        response = await post_events(intake, batch, OWNER, BATCH)
        assert response.status_code == 202, response.text
        records = await intake.records(LIFECYCLE, 2)
        assert [published(r)[1]["revision"] for r in records] == [1, 2]

    async def test_a_reader_learns_nothing_from_an_unchanged_manifest(self, intake: Intake) -> None:
        document = manifest_document(fresh_system())
        event = manifest_event(SystemRegistered.event_type, document, revision=1)
        event["data"]["manifest_sha256"] = "a" * 64
        assert (await post_events(intake, event, OWNER, STRUCTURED)).status_code == 202
        again = manifest_event(SystemRegistered.event_type, document, revision=1)
        again["data"]["manifest_sha256"] = "a" * 64
        assert (await post_events(intake, again, READER, STRUCTURED)).status_code == 403


class TestContacts:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("owner", "victim@x, attacker@evil"),
            ("owner", "dana.kim@example.com\r\nBcc: attacker@evil"),
            ("owner", "Dana Kim <dana.kim@example.com>"),
            ("oncall", "support-oncall\r\nBcc: attacker@evil"),
            ("oncall", "oncall@example.com, attacker@evil"),
        ],
    )
    async def test_a_contact_is_one_address(self, intake: Intake, field: str, value: str) -> None:
        document = manifest_document(fresh_system())
        document["metadata"][field] = value
        typed = await intake.client.post(
            "/v1/systems",
            content=json.dumps(document),
            headers={"Content-Type": "application/json", **auth(OWNER)},
        )
        assert typed.status_code == 422, typed.text
        assert ["body", "metadata", field] in [e["loc"] for e in typed.json()["errors"]]
        event = manifest_event(
            SystemRegistered.event_type, document, revision=1, manifest_sha256="a" * 64
        )
        generic = await post_events(intake, event, OWNER, STRUCTURED)
        assert generic.status_code == 422, generic.text
        assert ["body", "data", "manifest", "metadata", field] in [
            e["loc"] for e in generic.json()["errors"]
        ]
        assert await intake.records(LIFECYCLE, 1, max_wait=2) == []
