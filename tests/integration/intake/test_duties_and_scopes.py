"""Separation of duties that cannot be sidestepped, and team scopes (issue 12, item 4).

| attack                                                            | answer |
|-------------------------------------------------------------------|--------|
| Q adds the model card after P's evaluation, then Q approves       | 403    |
| an evidence submitter decides a waiver of the release             | 403    |
| approver claims `role: risk-officer` without that capacity        | 403    |
| one person approves one release in two capacities                 | 403    |
| scoped approver approves another team's release                   | 403    |
| scoped owner registers a system for another team                  | 403    |
| scoped owner updates (or re-teams) another team's system          | 403    |
| scoped owner takes an incident step of another team's system      | 403    |
| scoped publisher sends evidence for a system outside its scope    | 403    |
| an admin's `waiver.expired` makes the admin a submitter           | no     |
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from pydantic import SecretStr

from aigov_events.catalog import IncidentReported, WaiverExpired
from aigov_events.topics import LIFECYCLE
from aigov_intake.app import create_app
from aigov_runtime.testing import app_client
from tests.integration.intake import requests
from tests.integration.intake.conftest import Intake, auth, intake_settings

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

#: token -> grant (AIGOV_AUTH_TOKENS entries with scopes and capacities).
GRANTS: dict[str, dict[str, Any]] = {
    "tok-p-evaluator-0123456789": {"principal": "p-evaluator", "roles": ["publisher"]},
    "tok-q-pub-approver-0123456": {"principal": "q-author", "roles": ["publisher", "approver"]},
    "tok-r-approver-0123456789a": {"principal": "r-approver", "roles": ["approver"]},
    "tok-s-two-capacities-01234": {
        "principal": "s-risk",
        "roles": ["approver"],
        "capacities": ["approver", "risk-officer"],
    },
    "tok-admin-0123456789abcdef": {"principal": "root", "roles": ["admin"]},
    "tok-owner-unscoped-0123456": {"principal": "any-owner", "roles": ["owner", "publisher"]},
    "tok-owner-team-a-012345678": {"principal": "a-owner", "roles": ["owner"], "teams": ["team-a"]},
    "tok-approver-team-a-012345": {
        "principal": "a-approver",
        "roles": ["approver"],
        "teams": ["team-a"],
    },
    "tok-publisher-one-system-0": {
        "principal": "one-system-ci",
        "roles": ["publisher"],
        "systems": ["sys-only-this-one"],
    },
}
P, Q, R, S, ADMIN, OWNER, A_OWNER, A_APPROVER, ONE_SYSTEM = GRANTS


@pytest_asyncio.fixture
async def intake(local_stack: Any) -> AsyncIterator[Intake]:
    """An intake whose tokens carry teams, systems and capacities."""
    settings = intake_settings(local_stack, auth_tokens=SecretStr(json.dumps(GRANTS)))
    async with app_client(create_app(settings)) as client:
        yield Intake(client=client, settings=settings, kafka_bootstrap=local_stack.kafka_bootstrap)


async def post(intake: Intake, path: str, body: Any, token: str, **headers: str) -> Any:
    """POST a JSON body as `token`."""
    return await intake.client.post(
        path,
        content=json.dumps(body),
        headers={"Content-Type": "application/json", **auth(token), **headers},
    )


async def register(intake: Intake, team: str, token: str = OWNER) -> str:
    """A fresh system of `team`, registered through /v1/systems."""
    system = requests.fresh_system()
    response = await post(intake, "/v1/systems", requests.manifest(system, team=team), token)
    assert response.status_code == 202, response.text
    return system


class TestEverySubmitterIsBarred:
    async def test_a_later_submitter_may_not_approve(self, intake: Intake) -> None:
        system = requests.fresh_system()
        evaluated = await post(intake, "/v1/evaluations", requests.evaluation(system), P)
        assert evaluated.status_code == 202, evaluated.text
        carded = await post(intake, "/v1/artifacts", requests.artifact(system), Q)
        assert carded.status_code == 202, carded.text
        own = await post(intake, "/v1/approvals", requests.approval(system), Q)
        assert own.status_code == 403, own.text
        assert "'q-author' submitted evidence for release" in own.json()["detail"]
        independent = await post(intake, "/v1/approvals", requests.approval(system), R)
        assert independent.status_code == 202, independent.text

    async def test_a_submitter_may_not_decide_the_releases_waivers(self, intake: Intake) -> None:
        system = requests.fresh_system()
        assert (
            await post(intake, "/v1/artifacts", requests.artifact(system), Q)
        ).status_code == 202
        requested = await post(intake, "/v1/waivers", requests.waiver_request(system), P)
        assert requested.status_code == 202, requested.text
        path = f"/v1/waivers/{requested.json()['waiver_id']}/grant"
        own = await post(intake, path, {"rationale": "Fine by me."}, Q)
        assert own.status_code == 403, own.text
        assert "may not decide its waivers" in own.json()["detail"]
        assert (await post(intake, path, {"rationale": "Adequate."}, R)).status_code == 202

    async def test_the_same_holds_through_v1_events_in_one_batch(self, intake: Intake) -> None:
        system = requests.fresh_system()
        evidence = requests.artifact(system)
        approval = requests.approval(system)
        del evidence["system"], approval["system"], approval["decision"]
        batch = [
            {
                "specversion": "1.0",
                "id": str(uuid.uuid4()),
                "source": "https://ci.example.com/q",
                "type": event_type,
                "data": {"system_id": system, **data},
            }
            for event_type, data in (
                ("io.aigov.artifact.submitted.v1", evidence),
                ("io.aigov.approval.granted.v1", approval),
            )
        ]
        response = await intake.client.post(
            "/v1/events",
            content=json.dumps(batch),
            headers={"Content-Type": "application/cloudevents-batch+json", **auth(Q)},
        )
        assert response.status_code == 403, response.text
        assert await intake.records(LIFECYCLE, 1, max_wait=2) == []

    async def test_an_expiry_does_not_make_the_admin_a_submitter(self, intake: Intake) -> None:
        system = requests.fresh_system()
        expired = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "https://ops.example.com/expiry",
            "type": WaiverExpired.event_type,
            "data": {**copy.deepcopy(dict(WaiverExpired.example)), "system_id": system},
        }
        response = await intake.client.post(
            "/v1/events",
            content=json.dumps(expired),
            headers={"Content-Type": "application/cloudevents+json", **auth(ADMIN)},
        )
        assert response.status_code == 202, response.text
        approved = await post(intake, "/v1/approvals", requests.approval(system), ADMIN)
        assert approved.status_code == 202, approved.text


class TestCapacities:
    async def test_a_capacity_is_the_tokens_not_the_requests(self, intake: Intake) -> None:
        system = requests.fresh_system()
        claimed = await post(
            intake, "/v1/approvals", requests.approval(system, role="risk-officer"), R
        )
        assert claimed.status_code == 403, claimed.text
        assert claimed.json()["detail"] == (
            "principal 'r-approver' may approve as: approver; not risk-officer"
        )
        configured = await post(
            intake, "/v1/approvals", requests.approval(system, role="risk-officer"), S
        )
        assert configured.status_code == 202, configured.text

    async def test_one_person_fills_one_capacity_per_release(self, intake: Intake) -> None:
        system = requests.fresh_system()
        first = await post(
            intake, "/v1/approvals", requests.approval(system, role="risk-officer"), S
        )
        assert first.status_code == 202, first.text
        second = await post(intake, "/v1/approvals", requests.approval(system, role="approver"), S)
        assert second.status_code == 403, second.text
        assert "one person fills one capacity" in second.json()["detail"]
        again = await post(
            intake, "/v1/approvals", requests.approval(system, role="risk-officer"), S
        )
        assert again.status_code == 202, again.text
        other = await post(intake, "/v1/approvals", requests.approval(system, role="approver"), R)
        assert other.status_code == 202, other.text

    async def test_a_denial_needs_the_capacity_too(self, intake: Intake) -> None:
        body = requests.approval(requests.fresh_system(), role="risk-officer", decision="denied")
        assert (await post(intake, "/v1/approvals", body, R)).status_code == 403


class TestScopes:
    async def test_a_scoped_approver_may_not_approve_another_teams_release(
        self, intake: Intake
    ) -> None:
        theirs = await register(intake, "team-b")
        response = await post(intake, "/v1/approvals", requests.approval(theirs), A_APPROVER)
        assert response.status_code == 403, response.text
        assert "team 'team-b'" in response.json()["detail"]
        ours = await register(intake, "team-a")
        response = await post(intake, "/v1/approvals", requests.approval(ours), A_APPROVER)
        assert response.status_code == 202, response.text

    async def test_a_system_intake_does_not_know_is_out_of_a_team_scope(
        self, intake: Intake
    ) -> None:
        unknown = requests.fresh_system()
        response = await post(intake, "/v1/approvals", requests.approval(unknown), A_APPROVER)
        assert response.status_code == 403, response.text

    async def test_a_scoped_owner_may_not_register_for_another_team(self, intake: Intake) -> None:
        system = requests.fresh_system()
        response = await post(
            intake, "/v1/systems", requests.manifest(system, team="team-b"), A_OWNER
        )
        assert response.status_code == 403, response.text
        assert await intake.records(LIFECYCLE, 1, max_wait=2) == []
        assert (
            await post(intake, "/v1/systems", requests.manifest(system, team="team-a"), A_OWNER)
        ).status_code == 202

    async def test_a_scoped_owner_may_not_update_another_teams_system(self, intake: Intake) -> None:
        theirs = await register(intake, "team-b")
        for team in ("team-b", "team-a"):  # nor move it into its own team
            changed = requests.manifest(theirs, team=team, purpose="Taken over.")
            response = await post(intake, "/v1/systems", changed, A_OWNER)
            assert response.status_code == 403, response.text

    async def test_a_scoped_owner_may_not_hand_its_system_to_another_team(
        self, intake: Intake
    ) -> None:
        ours = await register(intake, "team-a", token=A_OWNER)
        moved = requests.manifest(ours, team="team-b")
        assert (await post(intake, "/v1/systems", moved, A_OWNER)).status_code == 403

    async def test_a_scoped_owner_may_not_step_another_teams_incident(self, intake: Intake) -> None:
        theirs = await register(intake, "team-b")
        incident = {**copy.deepcopy(dict(IncidentReported.example)), "system": theirs}
        for field in ("system_id", "incident_id"):
            incident.pop(field, None)
        reported = await post(intake, "/v1/incidents", incident, OWNER)
        assert reported.status_code == 202, reported.text
        path = f"/v1/incidents/{reported.json()['incident_id']}/acknowledge"
        assert (await post(intake, path, {}, A_OWNER)).status_code == 403
        assert (await post(intake, path, {}, OWNER)).status_code == 202

    async def test_a_scoped_publisher_sends_evidence_only_for_its_systems(
        self, intake: Intake
    ) -> None:
        other = requests.fresh_system()
        response = await post(intake, "/v1/evaluations", requests.evaluation(other), ONE_SYSTEM)
        assert response.status_code == 403, response.text
        assert "sys-only-this-one" in response.json()["detail"]
        own = requests.evaluation("sys-only-this-one")
        assert (await post(intake, "/v1/evaluations", own, ONE_SYSTEM)).status_code == 202

    async def test_unscoped_principals_keep_todays_behaviour(self, intake: Intake) -> None:
        theirs = await register(intake, "team-b")
        assert (
            await post(intake, "/v1/approvals", requests.approval(theirs), R)
        ).status_code == 202
