"""Who owns an event id and an approval, on the real broker and PostgreSQL (issue 12 follow-ups).

| attack or case                                                     | answer                      |
|--------------------------------------------------------------------|-----------------------------|
| Q sends P's upcoming (source, id) first; then P sends its event    | 409 for P, not "duplicate"  |
| the same, inside a batch of otherwise fresh events                 | 409, nothing published      |
| Q guesses the event id a typed endpoint derives for P's retry key  | 409 for P's typed request   |
| P retries its own (source, id)                                     | 202 duplicate               |
| approver R revokes approver P's approval                           | 403 naming the granter      |
| the granter, or an admin, revokes it                               | 202                         |
| approval.revoked naming an id intake never accepted as a grant     | 422 naming the id           |
| accept answers say each event's `source`                           | yes                         |
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest

from aigov_events.catalog import ApprovalRevoked, EvaluationCompleted
from aigov_events.topics import LIFECYCLE
from aigov_intake.api.typed_common import keyed_event_id, source
from aigov_runtime.auth import Principal
from tests.integration.intake import requests
from tests.integration.intake.conftest import (
    ADMIN,
    APPROVER,
    APPROVER_PUBLISHER,
    PUBLISHER,
    PUBLISHER_2,
    Intake,
    auth,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

STRUCTURED = {"Content-Type": "application/cloudevents+json"}
BATCH = {"Content-Type": "application/cloudevents-batch+json"}
SOURCE = "https://ci.example.com/support-ml"


def cloudevent(data: dict[str, Any], event_type: str, **attrs: Any) -> dict[str, Any]:
    """A structured-mode CloudEvent with a fresh id."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": SOURCE,
        "type": event_type,
        "time": "2026-11-20T10:00:00Z",
        "datacontenttype": "application/json",
        "data": data,
        **attrs,
    }


def evaluation_event(system_id: str, **attrs: Any) -> dict[str, Any]:
    """An evaluation.completed CloudEvent for `system_id`."""
    data = {**copy.deepcopy(dict(EvaluationCompleted.example)), "system_id": system_id}
    return cloudevent(data, EvaluationCompleted.event_type, **attrs)


def revocation(system_id: str, revokes: str, version: str = "2026.11.3") -> dict[str, Any]:
    """An approval.revoked CloudEvent withdrawing the approval with CloudEvents id `revokes`."""
    data = {
        "system_id": system_id,
        "version": version,
        "revokes": revokes,
        "reason": "Approved before the incident review; re-approval needed.",
    }
    return cloudevent(data, ApprovalRevoked.event_type)


async def post_events(intake: Intake, body: Any, token: str, headers: dict[str, str]) -> Any:
    """POST /v1/events as `token`."""
    return await intake.client.post(
        "/v1/events", content=json.dumps(body), headers={**headers, **auth(token)}
    )


async def post_typed(intake: Intake, path: str, body: Any, token: str, **headers: str) -> Any:
    """POST a typed JSON request as `token`."""
    return await intake.client.post(
        path,
        content=json.dumps(body),
        headers={"Content-Type": "application/json", **auth(token), **headers},
    )


def assert_used_by_another(response: Any) -> None:
    """A 409 problem saying the (source, id) belongs to another principal."""
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    detail = response.json()["detail"]
    assert "already used by another principal" in detail
    assert "choose a unique id" in detail


class TestSourceAndIdBelongToTheirFirstSender:
    async def test_another_principals_source_and_id_is_409_not_a_duplicate(
        self, intake: Intake
    ) -> None:
        system_id = requests.fresh_system()
        squatted = evaluation_event(system_id)
        squatter = await post_events(intake, squatted, PUBLISHER_2, STRUCTURED)
        assert squatter.status_code == 202, squatter.text

        real = {**evaluation_event(system_id), "id": squatted["id"], "source": SOURCE}
        response = await post_events(intake, real, PUBLISHER, STRUCTURED)
        assert_used_by_another(response)
        assert squatted["id"] in response.json()["detail"]
        # Only the squatter's event went out; the real sender knows its event did not.
        assert len(await intake.records(LIFECYCLE, 2, max_wait=3)) == 1

    async def test_one_squatted_event_refuses_the_whole_batch(self, intake: Intake) -> None:
        system_id = requests.fresh_system()
        squatted = evaluation_event(system_id)
        assert (await post_events(intake, squatted, PUBLISHER_2, STRUCTURED)).status_code == 202
        batch = [evaluation_event(system_id), {**evaluation_event(system_id), "id": squatted["id"]}]
        response = await post_events(intake, batch, PUBLISHER, BATCH)
        assert_used_by_another(response)
        assert "item 1" in response.json()["detail"]
        assert len(await intake.records(LIFECYCLE, 2, max_wait=3)) == 1

    async def test_a_typed_retry_key_guessed_by_another_principal_is_409(
        self, intake: Intake
    ) -> None:
        # The ids typed endpoints derive are public (UUIDv5 of endpoint, principal, key):
        # whoever guesses a key can compute the id and send it through /v1/events first.
        key = f"release-{uuid.uuid4().hex[:8]}-evaluation"
        endpoint = source("evaluations")
        victim = Principal(name="ci-bot", roles=frozenset())
        event_id = keyed_event_id(endpoint_source=endpoint, principal=victim, idempotency_key=key)
        body = requests.evaluation(requests.fresh_system())
        forged = {**evaluation_event(body["system"]), "id": event_id, "source": endpoint}
        assert (await post_events(intake, forged, PUBLISHER_2, STRUCTURED)).status_code == 202

        response = await post_typed(
            intake, "/v1/evaluations", body, PUBLISHER, **{"Idempotency-Key": key}
        )
        assert_used_by_another(response)

    async def test_the_same_principal_retrying_is_still_a_duplicate(self, intake: Intake) -> None:
        event = evaluation_event(requests.fresh_system())
        first = await post_events(intake, event, PUBLISHER, STRUCTURED)
        retry = await post_events(intake, event, PUBLISHER, STRUCTURED)
        assert first.status_code == retry.status_code == 202, retry.text
        assert retry.json()["duplicates"] == [event["id"]]
        assert retry.json()["duplicate_events"] == [{"id": event["id"], "source": SOURCE}]
        assert len(await intake.records(LIFECYCLE, 2, max_wait=3)) == 1


class TestRevokingAnApproval:
    async def grant(self, intake: Intake, system_id: str, token: str = APPROVER) -> str:
        """Approve release 2026.11.3 of `system_id` as `token`; the approval's event id."""
        response = await post_typed(intake, "/v1/approvals", requests.approval(system_id), token)
        assert response.status_code == 202, response.text
        event_id: str = response.json()["event_id"]
        return event_id

    async def test_another_approver_may_not_revoke_it(self, intake: Intake) -> None:
        system_id = requests.fresh_system()
        approval_id = await self.grant(intake, system_id)
        revoke = revocation(system_id, approval_id)
        response = await post_events(intake, revoke, APPROVER_PUBLISHER, STRUCTURED)
        assert response.status_code == 403, response.text
        detail = response.json()["detail"]
        assert approval_id in detail
        assert "'risk-officer'" in detail  # who granted it
        assert "or an admin" in detail
        assert len(await intake.records(LIFECYCLE, 2, max_wait=3)) == 1

    async def test_the_granter_may_revoke_it(self, intake: Intake) -> None:
        system_id = requests.fresh_system()
        approval_id = await self.grant(intake, system_id)
        response = await post_events(
            intake, revocation(system_id, approval_id), APPROVER, STRUCTURED
        )
        assert response.status_code == 202, response.text
        assert len(await intake.records(LIFECYCLE, 2)) == 2

    async def test_an_admin_may_revoke_it(self, intake: Intake) -> None:
        system_id = requests.fresh_system()
        approval_id = await self.grant(intake, system_id)
        response = await post_events(intake, revocation(system_id, approval_id), ADMIN, STRUCTURED)
        assert response.status_code == 202, response.text

    async def test_an_unknown_approval_is_422_naming_it(self, intake: Intake) -> None:
        system_id = requests.fresh_system()
        unknown = str(uuid.uuid4())
        response = await post_events(intake, revocation(system_id, unknown), ADMIN, STRUCTURED)
        assert response.status_code == 422, response.text
        assert unknown in response.json()["detail"]
        assert await intake.records(LIFECYCLE, 1, max_wait=2) == []

    async def test_an_approval_of_another_system_is_not_revoked_through_this_one(
        self, intake: Intake
    ) -> None:
        approval_id = await self.grant(intake, requests.fresh_system())
        other = requests.fresh_system()
        response = await post_events(intake, revocation(other, approval_id), APPROVER, STRUCTURED)
        assert response.status_code == 422, response.text
        assert approval_id in response.json()["detail"]

    async def test_a_non_approval_event_id_is_not_an_approval(self, intake: Intake) -> None:
        system_id = requests.fresh_system()
        evaluation = evaluation_event(system_id)
        assert (await post_events(intake, evaluation, PUBLISHER, STRUCTURED)).status_code == 202
        response = await post_events(
            intake, revocation(system_id, evaluation["id"]), ADMIN, STRUCTURED
        )
        assert response.status_code == 422, response.text


class TestAnswersNameTheSource:
    async def test_events_answer_lists_sources(self, intake: Intake) -> None:
        event = evaluation_event(requests.fresh_system())
        response = await post_events(intake, [event], PUBLISHER, BATCH)
        assert response.status_code == 202, response.text
        answer = response.json()
        assert answer["accepted"] == [event["id"]]
        assert answer["accepted_events"] == [{"id": event["id"], "source": SOURCE}]
        assert answer["duplicate_events"] == []

    async def test_typed_answer_has_the_source(self, intake: Intake) -> None:
        body = requests.evaluation(requests.fresh_system())
        response = await post_typed(intake, "/v1/evaluations", body, PUBLISHER)
        assert response.status_code == 202, response.text
        assert response.json()["source"] == "/aigov/intake/evaluations"

    async def test_system_answer_has_the_source(self, intake: Intake) -> None:
        response = await post_typed(
            intake, "/v1/systems", requests.manifest(requests.fresh_system()), PUBLISHER_2
        )
        assert response.status_code == 202, response.text
        assert response.json()["source"] == "/aigov/intake/systems"
