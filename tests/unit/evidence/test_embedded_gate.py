"""The whole service in embedded mode: consumer -> ledger -> projections -> gate."""

from __future__ import annotations

import pytest

from tests.unit.evidence import events as ev
from tests.unit.evidence import guidance_scenarios as scenario
from tests.unit.evidence.harness import PUBLISHER, READER, Harness, auth

pytestmark = pytest.mark.asyncio


class TestEmbeddedGate:
    async def test_gate_denies_failing_metric_and_missing_approval(self, evidence: Harness) -> None:
        system = "embedded-summarizer"
        await evidence.publish(
            ev.registered(system),
            ev.high_tier(system),
            ev.evaluation(system, ev.request_body("evaluation.json")),
            ev.artifact(system, ev.request_body("artifact.json")),
        )
        response = await evidence.client.post(
            "/v1/gate/decisions",
            json={"system": system, "version": ev.VERSION},
            headers=auth(PUBLISHER),
        )
        assert response.status_code == 200, response.text
        gate = response.json()
        assert gate["decision"] == "deny"
        assert gate["tier"] == "high"
        missing = {m["control_id"]: m["reason"] for m in gate["missing_controls"]}
        assert set(missing) == {"evaluation.prompt_injection", "approval.release"}
        assert "prompt_injection_success_rate = 0.09" in missing["evaluation.prompt_injection"]
        recorded = await evidence.wait_recorded(gate["gate_event_id"])
        assert recorded["type"] == "io.aigov.gate.decided.v1"

    async def test_unknown_system_is_denied_with_next_step(self, evidence: Harness) -> None:
        response = await evidence.client.get(
            "/v1/gate", params={"system": "nobody-knows", "version": "1.0"}, headers=auth(READER)
        )
        assert response.status_code == 200
        gate = response.json()
        assert gate["decision"] == "deny"
        assert gate["gate_event_id"] is None
        assert any("POST /v1/systems" in step for step in gate["next_steps"])

    async def test_a_pending_waiver_request_is_shown_with_how_to_decide_it(
        self, evidence: Harness
    ) -> None:
        from datetime import UTC, datetime, timedelta

        system = "embedded-waiting"
        body = ev.request_body("waiver-request.json")
        await evidence.publish(
            ev.registered(system),
            ev.high_tier(system),
            ev.evaluation(system, ev.request_body("evaluation.json")),
            ev.waiver_requested(
                system,
                body,
                waiver_id="W-WAITING1",
                expires_at=datetime.now(UTC) + timedelta(days=9),
            ),
        )
        response = await evidence.client.get(
            "/v1/gate", params={"system": system, "version": ev.VERSION}, headers=auth(READER)
        )
        gate = response.json()
        assert gate["decision"] == "deny"
        assert [(w["waiver_id"], w["control_id"]) for w in gate["pending_waivers"]] == [
            ("W-WAITING1", control) for control in body["controls"]
        ]
        steps = " ".join(gate["next_steps"])
        assert "aigov waiver grant W-WAITING1" in steps
        assert "POST /v1/waivers/W-WAITING1/grant" in steps
        assert f"`aigov emit artifact --system {system} --version {ev.VERSION}" in steps
        assert "(POST /v1/artifacts)" in steps
        assert f"`aigov approve --system {system} --version {ev.VERSION}" in steps
        assert f"`aigov gate --system {system} --version {ev.VERSION}`" in steps

    async def test_a_decided_waiver_request_is_no_longer_pending(self, evidence: Harness) -> None:
        await scenario.decided_waiver_requests_are_no_longer_pending(evidence)

    async def test_a_material_change_step_names_the_release(self, evidence: Harness) -> None:
        await scenario.a_material_change_step_names_the_release(evidence)

    async def test_a_failing_probe_says_which_receiver_to_fix(self, evidence: Harness) -> None:
        await scenario.a_failing_probe_says_which_receiver_to_fix(evidence)

    async def test_a_receiver_that_delivered_since_is_not_named(self, evidence: Harness) -> None:
        await scenario.a_receiver_that_delivered_since_is_not_named(evidence)

    async def test_a_probe_by_anyone_but_the_router_is_not_a_probe_run(
        self, evidence: Harness
    ) -> None:
        await scenario.a_probe_by_anyone_but_the_router_is_not_a_probe_run(evidence)
