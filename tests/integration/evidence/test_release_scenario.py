"""The issue's end-to-end scenario on real Kafka + PostgreSQL.

A high-risk system is registered and tiered, gets evaluation results (one failing minimum)
and a model card; the gate denies naming the failing metric and the missing approval; a
waiver with compensating controls and a 30-day expiry plus a valid approval flip it to
allow; a prompt-template change flips it back to deny as a material change; once that change
is approved the release is allowed again until the waiver expires, and then it is denied
again. Redelivered events leave the ledger unchanged and the chain verifies.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from aigov_events.catalog import ApprovalGranted, ApprovalScope
from aigov_events.message import DomainEvent, new_event
from aigov_evidence.api.deps import clock
from aigov_evidence.sweep import expiry_event_id, sweep_waivers
from tests.unit.evidence import events as ev
from tests.unit.evidence.harness import READER, Harness, auth

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]

SYSTEM = "support-summarizer"
VERSION = ev.VERSION
WAIVER = "W-17"


def missing(gate: dict[str, Any]) -> dict[str, str]:
    return {m["control_id"]: m["reason"] for m in gate["missing_controls"]}


async def test_release_gate_scenario(evidence: Harness) -> None:
    # Registered, tiered (tiering's decision, published here), evaluated, documented.
    history: list[DomainEvent[Any]] = [
        ev.registered(SYSTEM),
        ev.high_tier(SYSTEM),
        ev.evaluation(SYSTEM, ev.request_body("evaluation.json")),
        ev.artifact(SYSTEM, ev.request_body("artifact.json")),
        ev.deployment_requested(SYSTEM),
    ]
    await evidence.publish(*history)

    gate = await evidence.gate(SYSTEM, VERSION)
    assert gate["decision"] == "deny"
    assert gate["tier"] == "high"
    assert gate["policy_version"] == ev.POLICY["version"]
    assert set(missing(gate)) == {"evaluation.prompt_injection", "approval.release"}
    assert "prompt_injection_success_rate = 0.09" in missing(gate)["evaluation.prompt_injection"]
    assert "ci-bot" in missing(gate)["approval.release"], "names the submitter it excludes"
    assert gate["evidence_ids"], "names the evidence it relied on"

    # The submitter approving their own release does not count.
    self_approval = ev.approval(SYSTEM, actor=ev.SUBMITTER)
    await evidence.publish(self_approval)
    assert "approval.release" in missing(await evidence.gate(SYSTEM, VERSION))

    # A 30-day waiver with compensating controls, granted by an approver, plus their approval.
    expires = ev.in_days(30)
    waiver_request = ev.waiver_requested(
        SYSTEM, ev.request_body("waiver-request.json"), waiver_id=WAIVER, expires_at=expires
    )
    approval = ev.approval(SYSTEM)
    decided: list[DomainEvent[Any]] = [
        waiver_request,
        ev.waiver_granted(SYSTEM, waiver_id=WAIVER),
        approval,
    ]
    await evidence.publish(*decided)
    gate = await evidence.gate(SYSTEM, VERSION)
    assert gate["decision"] == "allow", gate
    assert gate["waived_controls"] == [
        {
            "control_id": "evaluation.prompt_injection",
            "waiver_id": WAIVER,
            "expires_at": expires.isoformat().replace("+00:00", "Z"),
        }
    ]
    assert approval.id in gate["evidence_ids"]

    # A prompt-template change is material: approvals are void and the change awaits approval.
    change = ev.material_change(SYSTEM, change_id="mc-support-summarizer-2")
    await evidence.publish(ev.prompt_template_changed(SYSTEM), change)
    gate = await evidence.gate(SYSTEM, VERSION)
    assert gate["decision"] == "deny"
    assert [c["change_id"] for c in gate["pending_material_changes"]] == ["mc-support-summarizer-2"]
    assert "approval.release" in missing(gate)
    assert "after the last material change" in missing(gate)["approval.release"]

    # The approver approves the change and the release again: allowed while the waiver lasts.
    change_approval = new_event(
        ApprovalGranted(
            system_id=SYSTEM,
            version=VERSION,
            scope=ApprovalScope.MATERIAL_CHANGE,
            material_change_id="mc-support-summarizer-2",
            rationale="New prompt template reviewed against the injection test set.",
        ),
        source=ev.SOURCE,
        actor=ev.APPROVER,
    )
    reapproval = ev.approval(SYSTEM)
    await evidence.publish(change_approval, reapproval)
    assert (await evidence.gate(SYSTEM, VERSION))["decision"] == "allow"

    # 31 days later the waiver has expired: denied again, even before the sweep ran.
    later = expires + timedelta(days=1)
    evidence.app.dependency_overrides[clock] = lambda: later
    gate = await evidence.gate(SYSTEM, VERSION)
    assert gate["decision"] == "deny"
    assert set(missing(gate)) == {"evaluation.prompt_injection"}
    assert gate["waived_controls"] == []

    # The sweep announces the expiry; the waiver projection follows.
    swept = await sweep_waivers(evidence.sessionmaker, evidence.publisher, now=later)
    assert swept == [WAIVER]
    await evidence.wait_recorded(expiry_event_id(WAIVER))
    waivers = await evidence.client.get(
        "/v1/waivers", params={"system": SYSTEM}, headers=auth(READER)
    )
    assert [(w["waiver_id"], w["status"]) for w in waivers.json()["items"]] == [(WAIVER, "expired")]

    # Redelivery: every event again, same ids. The ledger is unchanged; the chain verifies.
    before = (
        await evidence.client.get(f"/v1/systems/{SYSTEM}/ledger/verify", headers=auth(READER))
    ).json()
    assert before["ok"], before
    replayed: list[DomainEvent[Any]] = [
        *history,
        self_approval,
        *decided,
        change,
        change_approval,
        reapproval,
    ]
    for event in replayed:
        await evidence.publisher.publish(event)
    # Records of one system are ordered per topic: once these are in, the replays were handled.
    sentinels: list[DomainEvent[Any]] = [ev.probe(SYSTEM), ev.high_tier(SYSTEM)]
    await evidence.publish(*sentinels)
    after = (
        await evidence.client.get(f"/v1/systems/{SYSTEM}/ledger/verify", headers=auth(READER))
    ).json()
    assert after["ok"], after
    assert after["records"] == before["records"] + len(sentinels)
