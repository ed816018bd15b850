"""The OSCAL exports of evidence, through the running app: assessment results and POA&M.

The release and the checks of its exports are in oscal_scenarios (PostgreSQL runs them too).
"""

from __future__ import annotations

import pytest

from tests.unit.evidence import events as ev
from tests.unit.evidence import oscal_scenarios as scenario
from tests.unit.evidence.harness import OWNER, READER, Harness, auth
from tests.unit.evidence.oscal_scenarios import RESULTS, SYSTEM, seed

pytestmark = pytest.mark.asyncio


async def test_assessment_results_say_satisfied_missing_and_waived(evidence: Harness) -> None:
    await scenario.assessment_results_say_satisfied_missing_and_waived(evidence)


async def test_the_same_state_gives_the_same_document(evidence: Harness) -> None:
    await scenario.the_same_state_gives_the_same_document(evidence)


async def test_an_approval_satisfies_the_release_control(evidence: Harness) -> None:
    await scenario.an_approval_satisfies_the_release_control(evidence)


async def test_poam_lists_the_waivers(evidence: Harness) -> None:
    await scenario.poam_lists_the_waivers(evidence)


async def test_an_expired_waiver_is_expired_and_no_longer_waives(evidence: Harness) -> None:
    await scenario.an_expired_waiver_is_expired_and_no_longer_waives(evidence)


async def test_unknown_things_are_404(evidence: Harness) -> None:
    await seed(evidence)
    cases = {
        (RESULTS, "system=nobody&version=1"): "no system 'nobody'",
        (RESULTS, f"system={SYSTEM}&version=9.9.9"): "no event names release '9.9.9'",
        ("/v1/oscal/poam", "system=nobody"): "no system 'nobody'",
    }
    for (path, query), detail in cases.items():
        response = await evidence.client.get(f"{path}?{query}", headers=auth(READER))
        assert response.status_code == 404, (path, query)
        assert response.headers["content-type"] == "application/problem+json"
        assert detail in response.json()["detail"]


async def test_a_system_without_waivers_has_no_poam(evidence: Harness) -> None:
    await evidence.publish(ev.registered("quiet-system"))
    response = await evidence.client.get("/v1/oscal/poam?system=quiet-system", headers=auth(READER))
    assert response.status_code == 404
    assert "at least one item" in response.json()["detail"]


async def test_a_system_without_a_tier_decision_is_409(evidence: Harness) -> None:
    await evidence.publish(ev.registered("untiered"), ev.deployment_requested("untiered"))
    response = await evidence.client.get(
        RESULTS, params={"system": "untiered", "version": ev.VERSION}, headers=auth(READER)
    )
    assert response.status_code == 409
    assert "no tier decision yet" in response.json()["detail"]


@pytest.mark.parametrize(
    "query",
    [
        "system=oscal-summarizer",  # version missing
        "version=1",  # system missing
        "system=Not_An_Id&version=1",
        f"system=oscal-summarizer&version={'9' * 200}",
        "system=oscal-summarizer&version=1&extra=1",
    ],
)
async def test_bad_input_is_422(evidence: Harness, query: str) -> None:
    response = await evidence.client.get(f"{RESULTS}?{query}", headers=auth(READER))
    assert response.status_code == 422
    assert response.json()["detail"]


@pytest.mark.parametrize(
    "path", [f"{RESULTS}?system={SYSTEM}&version={ev.VERSION}", f"/v1/oscal/poam?system={SYSTEM}"]
)
async def test_a_reader_token_is_needed(evidence: Harness, path: str) -> None:
    anonymous = await evidence.client.get(path)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    owner = await evidence.client.get(path, headers=auth(OWNER))
    assert owner.status_code == 403


async def test_documented_with_tags_and_errors(evidence: Harness) -> None:
    spec = (await evidence.client.get("/openapi.json")).json()
    results = spec["paths"][RESULTS]["get"]
    poam = spec["paths"]["/v1/oscal/poam"]["get"]
    assert results["tags"] == ["releases"]
    assert poam["tags"] == ["waivers"]
    assert {"401", "404", "409", "422"} <= set(results["responses"])
    assert "At most 500 waivers" in poam["description"]
