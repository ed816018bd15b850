"""Attack scenarios on a running evidence service: run on the embedded one (unit tests) and on
Kafka + PostgreSQL (integration tests), through the real consumer, ledger, gate and API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aigov_events.actors import MONITORING_ROUTER, TIERING
from aigov_events.catalog import RequiredApproval, RequiredControl
from aigov_events.message import DomainEvent, new_event
from tests.unit.evidence import events as ev
from tests.unit.evidence.harness import READER, Harness, auth

#: A client clock a century ahead: what intake now refuses, and what evidence must not trust.
CENTURY = timedelta(days=36525)
EVALUATOR = "eval-bot"
DOCUMENTER = "doc-writer"

INJECTION: dict[str, Any] = {
    "control_id": "evaluation.prompt_injection",
    "evidence": [
        {
            "kind": "evaluation",
            "metrics": [{"metric": "prompt_injection_success_rate", "op": "<=", "threshold": 0.05}],
        }
    ],
}
DRIFT: dict[str, Any] = {
    "control_id": "monitoring.drift",
    "evidence": [{"kind": "monitoring", "signals": ["drift"]}],
}


def approval_control(*requirements: tuple[str, int]) -> dict[str, Any]:
    """An approval control as tiering derives it: one spec per required (role, count)."""
    return {
        "control_id": "approval.release",
        "evidence": [{"kind": "approval", "role": r, "count": c} for r, c in requirements],
    }


def tier_event(
    system: str, *controls: dict[str, Any], approvals: list[dict[str, Any]]
) -> DomainEvent[Any]:
    """tiering's high-tier decision for `system`, requiring exactly `controls` and `approvals`."""
    payload = ev.high_tier(system).payload.model_copy(
        update={
            "required_controls": [RequiredControl.model_validate(c) for c in controls],
            "required_approvals": [RequiredApproval.model_validate(a) for a in approvals],
        }
    )
    return new_event(payload, source="/aigov/tiering", actor=TIERING)


def as_actor(
    event: DomainEvent[Any], actor: str, *, time: datetime | None = None
) -> DomainEvent[Any]:
    """The same payload sent by `actor`, claiming `time`."""
    return new_event(event.payload, source=ev.SOURCE, actor=actor, time=time)


def missing(gate: dict[str, Any]) -> dict[str, str]:
    """The gate's missing controls by id, with their reasons."""
    return {m["control_id"]: m["reason"] for m in gate["missing_controls"]}


async def controls(evidence: Harness, system: str) -> dict[str, Any]:
    """The release's control status by control id."""
    response = await evidence.client.get(
        f"/v1/systems/{system}/controls", params={"version": ev.VERSION}, headers=auth(READER)
    )
    assert response.status_code == 200, response.text
    return {c["control_id"]: c for c in response.json()["controls"]}


def _passing(body: dict[str, Any]) -> dict[str, Any]:
    body["metrics"] = [
        {**m, "value": 0.0} if m["name"] == "prompt_injection_success_rate" else m
        for m in body["metrics"]
    ]
    return body


async def client_clocks_decide_nothing(evidence: Harness) -> None:
    """A passing run and an approval dated a century ahead lose to a later failing run and a
    later material change."""
    system = "clock-summarizer"
    future = datetime.now(UTC) + CENTURY
    await evidence.publish(
        ev.registered(system),
        tier_event(
            system,
            INJECTION,
            approval_control(("approver", 1)),
            approvals=[{"role": "approver", "count": 1}],
        ),
        as_actor(
            ev.evaluation(system, _passing(ev.request_body("evaluation.json"))),
            ev.SUBMITTER,
            time=future,
        ),
        as_actor(ev.approval(system), ev.APPROVER, time=future),
    )
    gate = await evidence.gate(system, ev.VERSION)
    assert gate["decision"] == "allow", gate
    await evidence.publish(
        ev.evaluation(system, ev.request_body("evaluation.json")),
        ev.material_change(system, change_id=f"mc-{system}-2"),
    )
    gate = await evidence.gate(system, ev.VERSION)
    assert gate["decision"] == "deny"
    assert set(missing(gate)) == {"evaluation.prompt_injection", "approval.release"}
    assert "prompt_injection_success_rate = 0.09" in missing(gate)["evaluation.prompt_injection"]
    assert "after the last material change" in missing(gate)["approval.release"]
    assert [c["change_id"] for c in gate["pending_material_changes"]] == [f"mc-{system}-2"]


async def only_the_routers_probes_count(evidence: Harness) -> None:
    """A publisher's probe result is recorded but satisfies nothing; the router's does."""
    system = "probed-summarizer"
    forged = as_actor(ev.probe(system), ev.SUBMITTER)
    await evidence.publish(ev.registered(system), tier_event(system, DRIFT, approvals=[]), forged)
    drift = (await controls(evidence, system))["monitoring.drift"]
    assert drift["state"] == "missing"
    assert f"not published by {MONITORING_ROUTER} (from {ev.SUBMITTER})" in drift["reason"]
    assert (await evidence.wait_recorded(forged.id))["type"] == forged.type, "still recorded"
    genuine = ev.probe(system)
    await evidence.publish(genuine)
    drift = (await controls(evidence, system))["monitoring.drift"]
    assert drift["state"] == "satisfied"
    assert drift["evidence_ids"] == [genuine.id]


async def no_submitter_approves_and_capacities_need_distinct_people(evidence: Harness) -> None:
    """P evaluates, Q documents, Q approves: no. One person in two capacities: no. Two: yes."""
    system = "approved-summarizer"
    await evidence.publish(
        ev.registered(system),
        tier_event(
            system,
            approval_control(("risk-officer", 1), ("approver", 1)),
            approvals=[{"role": "risk-officer", "count": 1}, {"role": "approver", "count": 1}],
        ),
        as_actor(ev.evaluation(system, ev.request_body("evaluation.json")), EVALUATOR),
        as_actor(ev.artifact(system, ev.request_body("artifact.json")), DOCUMENTER),
        ev.approval(system, actor=DOCUMENTER, role="approver"),
        ev.approval(system, actor=ev.APPROVER, role="risk-officer"),
        ev.approval(system, actor=ev.APPROVER, role="approver"),
    )
    gate = await evidence.gate(system, ev.VERSION)
    assert gate["decision"] == "deny"
    reason = missing(gate)["approval.release"]
    assert (
        f"approval by {DOCUMENTER} does not count: {DOCUMENTER} submitted evidence for this release"
    ) in reason
    assert "one principal counts toward one requirement" in reason
    release = (
        await evidence.client.get(f"/v1/releases/{system}/{ev.VERSION}", headers=auth(READER))
    ).json()
    assert release["submitter"] == EVALUATOR, "the first submitter, as before"
    assert release["submitters"] == [EVALUATOR, DOCUMENTER]
    # A submission the control rules never read (a deployment request) bars its sender too.
    await evidence.publish(
        as_actor(ev.deployment_requested(system), "deployer"),
        ev.approval(system, actor="deployer", role="approver"),
    )
    gate = await evidence.gate(system, ev.VERSION)
    assert gate["decision"] == "deny"
    assert "approval by deployer does not count" in missing(gate)["approval.release"]
    await evidence.publish(ev.approval(system, actor="second-approver", role="approver"))
    assert (await evidence.gate(system, ev.VERSION))["decision"] == "allow"
