"""Waivers: request (the public example), grant/reject, 404, separation of duties, 409, expiry."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio

from aigov_events.catalog import WaiverGranted, WaiverRejected, WaiverRequested
from aigov_events.envelope import from_kafka_record
from aigov_events.topics import LIFECYCLE
from aigov_intake.api.typed_common import clock
from aigov_intake.app import create_app
from aigov_runtime.testing import app_client
from tests.fixtures import REQUESTS
from tests.integration.intake.conftest import (
    APPROVER,
    APPROVER_PUBLISHER,
    PUBLISHER,
    Intake,
    auth,
    intake_settings,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


#: The day the examples were written: the example waiver expires a month later, and intake
#: refuses expiries in the past, so these tests run at this date whatever the real one is.
EXAMPLE_DAY = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
JSON = {"Content-Type": "application/json"}


@pytest_asyncio.fixture
async def intake_on_example_day(local_stack: Any) -> AsyncIterator[Intake]:
    """A started intake whose clock says EXAMPLE_DAY."""
    settings = intake_settings(local_stack)
    app = create_app(settings)
    app.dependency_overrides[clock] = lambda: EXAMPLE_DAY
    async with app_client(app) as client:
        yield Intake(client=client, settings=settings, kafka_bootstrap=local_stack.kafka_bootstrap)


def waiver_request(**changes: Any) -> dict[str, Any]:
    """The public waiver request example, with `changes` applied."""
    body: dict[str, Any] = json.loads((REQUESTS / "waiver-request.json").read_text())
    body.update(changes)
    return body


def fresh_release() -> dict[str, str]:
    """A release no earlier run used."""
    return {"system": f"sys-{uuid.uuid4().hex[:10]}", "version": "1.0.0"}


async def post(intake: Intake, path: str, body: Any, token: str) -> Any:
    """POST a JSON body as `token`."""
    return await intake.client.post(path, content=json.dumps(body), headers={**JSON, **auth(token)})


async def request_waiver(intake: Intake, token: str = PUBLISHER, **changes: Any) -> str:
    """Request a waiver; its id."""
    response = await post(intake, "/v1/waivers", waiver_request(**changes), token)
    assert response.status_code == 202, response.text
    waiver_id: str = response.json()["waiver_id"]
    return waiver_id


class TestRequest:
    async def test_the_example_is_published_under_a_new_waiver_id(
        self, intake_on_example_day: Intake
    ) -> None:
        intake = intake_on_example_day
        body = waiver_request()
        response = await post(intake, "/v1/waivers", body, PUBLISHER)
        assert response.status_code == 202, response.text
        answer = response.json()
        waiver_id = answer["waiver_id"]
        assert waiver_id.startswith("W-")
        assert answer["status"] == "requested"
        assert answer["event_type"] == WaiverRequested.event_type

        [record] = await intake.records(LIFECYCLE, 1)
        assert record.key == b"support-summarizer"
        event = from_kafka_record(record.value, record.headers)
        assert event.type == WaiverRequested.event_type
        assert event.time == EXAMPLE_DAY
        assert event.data == {
            "system_id": "support-summarizer",
            "version": "2026.11.3",
            "waiver_id": waiver_id,
            "controls": body["controls"],
            "justification": body["justification"],
            "compensating_controls": body["compensating_controls"],
            "expires_at": "2026-12-26T00:00:00Z",
        }

    async def test_an_expiry_in_the_past_is_422(self, intake_on_example_day: Intake) -> None:
        body = waiver_request(expires_at="2026-11-01T00:00:00Z")
        response = await post(intake_on_example_day, "/v1/waivers", body, PUBLISHER)
        assert response.status_code == 422
        [error] = response.json()["errors"]
        assert error["loc"] == ["body", "expires_at"]

    async def test_controls_must_be_control_ids_and_unique(
        self, intake_on_example_day: Intake
    ) -> None:
        body = waiver_request(controls=["Prompt Injection", "approval.release", "approval.release"])
        response = await post(intake_on_example_day, "/v1/waivers", body, PUBLISHER)
        assert response.status_code == 422
        assert [e["loc"] for e in response.json()["errors"]] == [["body", "controls", 0]]
        body["controls"] = ["approval.release", "approval.release"]
        response = await post(intake_on_example_day, "/v1/waivers", body, PUBLISHER)
        assert response.status_code == 422
        assert [e["loc"] for e in response.json()["errors"]] == [["body", "controls"]]


class TestDecisions:
    async def test_request_then_grant(self, intake_on_example_day: Intake) -> None:
        intake = intake_on_example_day
        release = fresh_release()
        waiver_id = await request_waiver(intake, **release)
        rationale = {"rationale": "Compensating controls suffice until the next release."}
        response = await post(intake, f"/v1/waivers/{waiver_id}/grant", rationale, APPROVER)
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "granted"

        records = await intake.records(LIFECYCLE, 2)
        event = from_kafka_record(records[1].value, records[1].headers)
        assert event.type == WaiverGranted.event_type
        assert records[1].key == release["system"].encode()
        assert dict(records[1].headers)["ce_actor"] == b"risk-officer"
        assert event.data == {
            "system_id": release["system"],
            "version": release["version"],
            "waiver_id": waiver_id,
            "rationale": rationale["rationale"],
        }

    async def test_request_then_reject(self, intake_on_example_day: Intake) -> None:
        intake = intake_on_example_day
        waiver_id = await request_waiver(intake, **fresh_release())
        response = await post(
            intake, f"/v1/waivers/{waiver_id}/reject", {"rationale": "No mitigation."}, APPROVER
        )
        assert response.status_code == 202, response.text
        records = await intake.records(LIFECYCLE, 2)
        assert dict(records[1].headers)["ce_type"] == WaiverRejected.event_type.encode()

    async def test_unknown_waiver_is_404(self, intake: Intake) -> None:
        response = await post(
            intake, "/v1/waivers/W-NOSUCHWAIVER/grant", {"rationale": "Fine."}, APPROVER
        )
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")

    async def test_the_requester_may_not_decide(self, intake_on_example_day: Intake) -> None:
        intake = intake_on_example_day
        waiver_id = await request_waiver(intake, token=APPROVER_PUBLISHER, **fresh_release())
        own = await post(
            intake, f"/v1/waivers/{waiver_id}/grant", {"rationale": "Mine."}, APPROVER_PUBLISHER
        )
        assert own.status_code == 403
        assert "requested" in own.json()["detail"]
        assert len(await intake.records(LIFECYCLE, 2, max_wait=3)) == 1

    async def test_a_publisher_may_not_decide(self, intake_on_example_day: Intake) -> None:
        waiver_id = await request_waiver(intake_on_example_day, **fresh_release())
        response = await post(
            intake_on_example_day, f"/v1/waivers/{waiver_id}/grant", {"rationale": "x"}, PUBLISHER
        )
        assert response.status_code == 403

    async def test_a_decided_waiver_is_not_decided_again(
        self, intake_on_example_day: Intake
    ) -> None:
        intake = intake_on_example_day
        waiver_id = await request_waiver(intake, **fresh_release())
        body = {"rationale": "Adequate."}
        assert (
            await post(intake, f"/v1/waivers/{waiver_id}/grant", body, APPROVER)
        ).status_code == 202
        again = await post(intake, f"/v1/waivers/{waiver_id}/reject", body, APPROVER_PUBLISHER)
        assert again.status_code == 409
        assert again.json()["current_status"] == "granted"

    async def test_a_decision_needs_a_rationale(self, intake_on_example_day: Intake) -> None:
        waiver_id = await request_waiver(intake_on_example_day, **fresh_release())
        response = await post(
            intake_on_example_day, f"/v1/waivers/{waiver_id}/grant", {"rationale": " "}, APPROVER
        )
        assert response.status_code == 422
        assert [e["loc"] for e in response.json()["errors"]] == [["body", "rationale"]]
