"""The OSCAL exports of one release, run on the embedded service (unit tests) and on Kafka +
PostgreSQL (integration tests): assessment results and POA&M, validated with trestle's models.
"""

from __future__ import annotations

from typing import Any

from trestle.oscal.assessment_results import AssessmentResults
from trestle.oscal.poam import PlanOfActionAndMilestones

from aigov_evidence.api.deps import clock
from tests.unit.evidence import events as ev
from tests.unit.evidence.harness import READER, Harness, auth

SYSTEM = "oscal-summarizer"
RESULTS = "/v1/oscal/assessment-results"


async def seed(evidence: Harness) -> dict[str, str]:
    """A high-tier release: model card and evaluation (injection fails), W-9 waives injection."""
    card = ev.artifact(SYSTEM, ev.request_body("artifact.json"))
    evaluation = ev.evaluation(SYSTEM, ev.request_body("evaluation.json"))
    tier = ev.high_tier(SYSTEM)
    await evidence.publish(
        ev.registered(SYSTEM),
        tier,
        evaluation,
        card,
        ev.waiver_requested(
            SYSTEM,
            ev.request_body("waiver-request.json"),
            waiver_id="W-9",
            expires_at=ev.in_days(5),
        ),
        ev.waiver_granted(SYSTEM, waiver_id="W-9"),
        ev.waiver_requested(
            SYSTEM,
            {**ev.request_body("waiver-request.json"), "controls": ["approval.release"]},
            waiver_id="W-10",
            expires_at=ev.in_days(3),
        ),
    )
    return {"card": card.id, "evaluation": evaluation.id, "tier": tier.id}


async def get(evidence: Harness, path: str, **params: str) -> dict[str, Any]:
    response = await evidence.client.get(path, params=params, headers=auth(READER))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def by_target(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    [result] = body["assessment-results"]["results"]
    return {f["target"]["target-id"].removesuffix("_smt"): f for f in result["findings"]}


def values(item: dict[str, Any], name: str) -> list[str]:
    return [p["value"] for p in item.get("props", []) if p["name"] == name]


async def assessment_results_say_satisfied_missing_and_waived(evidence: Harness) -> None:
    """Each required control's finding says satisfied, missing or waived, with its evidence."""
    ids = await seed(evidence)
    body = await get(evidence, RESULTS, system=SYSTEM, version=ev.VERSION)
    AssessmentResults.parse_obj(body["assessment-results"])
    findings = by_target(body)
    # The tier decision requires exactly these four controls (events.high_tier).
    assert {k: f["target"]["status"]["state"] for k, f in findings.items()} == {
        "artifact.model_card": "satisfied",
        "evaluation.prompt_injection": "not-satisfied",
        "evaluation.minimums": "satisfied",
        "approval.release": "not-satisfied",
    }
    assert {k: values(f, "control-state") for k, f in findings.items()} == {
        "artifact.model_card": ["satisfied"],
        "evaluation.prompt_injection": ["waived"],
        "evaluation.minimums": ["satisfied"],
        "approval.release": ["missing"],
    }
    assert values(findings["evaluation.prompt_injection"], "waiver-id") == ["W-9"]
    assert "prompt_injection_success_rate" in findings["evaluation.prompt_injection"]["description"]
    # Observations: the two records the statuses name, linked to /v1/events/{id}.
    [result] = body["assessment-results"]["results"]
    observed = {values(o, "event-id")[0]: o for o in result["observations"]}
    assert set(observed) == {ids["card"], ids["evaluation"]}
    card = observed[ids["card"]]
    assert values(card, "event-type") == ["io.aigov.artifact.submitted.v1"]
    assert card["relevant-evidence"][0]["href"].startswith(f"/v1/events/{ids['card']}?source=")
    assert findings["artifact.model_card"]["related-observations"] == [
        {"observation-uuid": card["uuid"]}
    ]
    assert body["assessment-results"]["import-ap"]["href"] == f"/v1/events/{ids['tier']}"
    # The waived finding's link is the POA&M item of W-9.
    poam = await get(evidence, "/v1/oscal/poam", system=SYSTEM)
    items = {
        values(i, "waiver-id")[0]: i for i in poam["plan-of-action-and-milestones"]["poam-items"]
    }
    [link] = findings["evaluation.prompt_injection"]["links"]
    assert link["href"].endswith(f"#{items['W-9']['uuid']}")


async def the_same_state_gives_the_same_document(evidence: Harness) -> None:
    """Two reads of the same ledger state give the same bytes."""
    await seed(evidence)
    first = await evidence.client.get(
        RESULTS, params={"system": SYSTEM, "version": ev.VERSION}, headers=auth(READER)
    )
    second = await evidence.client.get(
        RESULTS, params={"system": SYSTEM, "version": ev.VERSION}, headers=auth(READER)
    )
    assert first.content == second.content


async def an_approval_satisfies_the_release_control(evidence: Harness) -> None:
    """A recorded approval turns approval.release satisfied."""
    await seed(evidence)
    before = await get(evidence, RESULTS, system=SYSTEM, version=ev.VERSION)
    approval = ev.approval(SYSTEM)
    await evidence.publish(approval)
    after = await get(evidence, RESULTS, system=SYSTEM, version=ev.VERSION)
    assert by_target(after)["approval.release"]["target"]["status"]["state"] == "satisfied"
    [result] = after["assessment-results"]["results"]
    assert approval.id in {values(o, "event-id")[0] for o in result["observations"]}
    modified = [b["assessment-results"]["metadata"]["last-modified"] for b in (before, after)]
    assert modified[0] < modified[1]


async def poam_lists_the_waivers(evidence: Harness) -> None:
    """The POA&M lists the release's waivers, ordered by expiry, with their states."""
    await seed(evidence)
    body = await get(evidence, "/v1/oscal/poam", system=SYSTEM)
    poam = body["plan-of-action-and-milestones"]
    PlanOfActionAndMilestones.parse_obj(poam)
    items = {values(i, "waiver-id")[0]: i for i in poam["poam-items"]}
    # Ordered by expiry: W-10 (3 days) before W-9 (5 days).
    assert list(items) == ["W-10", "W-9"]
    granted, requested = items["W-9"], items["W-10"]
    request = ev.request_body("waiver-request.json")
    assert granted["description"] == request["justification"]
    assert values(granted, "compensating-control") == request["compensating_controls"]
    assert values(granted, "requested-by") == [ev.SUBMITTER]
    assert values(granted, "decided-by") == [ev.APPROVER]
    assert values(granted, "waiver-status") == ["granted"]
    assert values(requested, "waiver-status") == ["requested"]
    assert values(requested, "decided-by") == []
    assert values(requested, "control-id") == ["approval.release"]
    risks = {r["uuid"]: r["status"] for r in poam["risks"]}
    assert risks[granted["related-risks"][0]["risk-uuid"]] == "deviation-approved"
    assert risks[requested["related-risks"][0]["risk-uuid"]] == "deviation-requested"
    assert poam["system-id"]["id"] == SYSTEM
    # Without `system`: every system's waivers (the same two here).
    everything = await get(evidence, "/v1/oscal/poam")
    assert len(everything["plan-of-action-and-milestones"]["poam-items"]) == 2


async def an_expired_waiver_is_expired_and_no_longer_waives(evidence: Harness) -> None:
    """Past its expiry a granted waiver is expired and waives nothing."""
    await seed(evidence)
    evidence.app.dependency_overrides[clock] = lambda: ev.in_days(6)
    try:
        poam = await get(evidence, "/v1/oscal/poam", system=SYSTEM)
        results = await get(evidence, RESULTS, system=SYSTEM, version=ev.VERSION)
    finally:
        evidence.app.dependency_overrides.clear()
    items = {
        values(i, "waiver-id")[0]: i for i in poam["plan-of-action-and-milestones"]["poam-items"]
    }
    assert values(items["W-9"], "waiver-status") == ["expired"]
    injection = by_target(results)["evaluation.prompt_injection"]
    assert values(injection, "control-state") == ["missing"]
    assert "links" not in injection
