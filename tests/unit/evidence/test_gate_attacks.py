"""Attacks on the release gate's rules: client clocks, forged probes, self-approval, one person
filling several approval requirements. Pure rules first, then through the embedded service."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aigov_events.actors import MONITORING_ROUTER
from aigov_events.catalog import (
    ApprovalGranted,
    EventPayload,
    MonitoringProbeCompleted,
    RequiredApproval,
    RequiredControl,
    TierAssigned,
)
from aigov_evidence.controls import Evidence, ReleaseEvidence, Waiver, release_status
from tests.unit.evidence import events as ev
from tests.unit.evidence import gate_scenarios as scenario
from tests.unit.evidence.gate_scenarios import (
    CENTURY,
    DOCUMENTER,
    DRIFT,
    EVALUATOR,
    INJECTION,
    approval_control,
)
from tests.unit.evidence.harness import Harness

SYSTEM = "support-summarizer"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


class Ledger:
    """Records in the order the ledger appended them, each with the time its client claimed."""

    def __init__(self) -> None:
        self.records: list[Evidence] = []

    def add(
        self, payload: EventPayload, *, actor: str = ev.SUBMITTER, time: datetime | None = None
    ) -> Evidence:
        sequence = len(self.records) + 1
        record = Evidence(
            event_id=f"e{sequence}",
            sequence=sequence,
            version=getattr(payload, "version", None),
            time=time or T0 + timedelta(minutes=sequence),
            actor=actor,
            payload=payload,
        )
        self.records.append(record)
        return record

    def status(self, tier: TierAssigned, waivers: list[Waiver] | None = None) -> dict[str, Any]:
        evidence = ReleaseEvidence(version=ev.VERSION, submitter=None, records=self.records)
        status = release_status(tier, evidence, waivers or [], now=T0 + timedelta(days=1))
        return {c.control_id: c for c in status.controls} | {"_pending": status.pending_changes}


def tier_with(*controls: dict[str, Any], approvals: list[dict[str, Any]] | None = None) -> Any:
    base = ev.high_tier(SYSTEM).payload
    return base.model_copy(
        update={
            "required_controls": [RequiredControl.model_validate(c) for c in controls],
            "required_approvals": [RequiredApproval.model_validate(a) for a in approvals or []],
        }
    )


def evaluation_payload(injection: float) -> EventPayload:
    body = ev.request_body("evaluation.json")
    body["metrics"] = [
        {**m, "value": injection} if m["name"] == "prompt_injection_success_rate" else m
        for m in body["metrics"]
    ]
    return ev.evaluation(SYSTEM, body).payload


def approval_payload(role: str = "approver") -> ApprovalGranted:
    return ev.approval(SYSTEM, role=role).payload


def probe_payload(
    ok: bool = True, name: str = "drift-alert-rule-present", detail: str | None = None
) -> EventPayload:
    return MonitoringProbeCompleted(
        system_id=SYSTEM, probe=name, ok=ok, observed_at=T0, detail=detail
    )


class TestLedgerOrderDecides:
    def test_a_future_dated_passing_run_does_not_outlive_a_later_failing_run(self) -> None:
        ledger = Ledger()
        ledger.add(evaluation_payload(0.01), time=T0 + CENTURY)
        ledger.add(evaluation_payload(0.09))
        control = ledger.status(tier_with(INJECTION))["evaluation.prompt_injection"]
        assert control.state == "missing"
        assert "prompt_injection_success_rate = 0.09" in (control.reason or "")

    def test_a_back_dated_fix_still_counts_as_the_latest_run(self) -> None:
        ledger = Ledger()
        ledger.add(evaluation_payload(0.09))
        ledger.add(evaluation_payload(0.01), time=T0 - CENTURY)
        assert ledger.status(tier_with(INJECTION))["evaluation.prompt_injection"].state == (
            "satisfied"
        )

    def test_a_future_dated_artifact_does_not_outlive_a_later_one(self) -> None:
        card = {
            "control_id": "artifact.model_card",
            "evidence": [
                {
                    "kind": "artifact",
                    "artifact_kind": "model_card",
                    "required_sections": ["limitations"],
                }
            ],
        }
        body = ev.request_body("artifact.json")
        ledger = Ledger()
        ledger.add(ev.artifact(SYSTEM, body).payload, time=T0 + CENTURY)
        ledger.add(ev.artifact(SYSTEM, body | {"sections": {"intended_use": "x"}}).payload)
        control = ledger.status(tier_with(card))["artifact.model_card"]
        assert control.state == "missing"
        assert "limitations" in (control.reason or "")

    def test_a_future_dated_approval_does_not_survive_a_later_material_change(self) -> None:
        ledger = Ledger()
        ledger.add(approval_payload(), actor=ev.APPROVER, time=T0 + CENTURY)
        ledger.add(ev.material_change(SYSTEM, change_id="mc-1").payload, actor="aigov-tiering")
        result = ledger.status(tier_with(approval_control(("approver", 1))))
        assert result["approval.release"].state == "missing"
        assert "after the last material change" in (result["approval.release"].reason or "")
        assert [c.change_id for c in result["_pending"]] == ["mc-1"]

    def test_a_back_dated_change_still_voids_earlier_approvals(self) -> None:
        ledger = Ledger()
        ledger.add(approval_payload(), actor=ev.APPROVER)
        ledger.add(
            ev.material_change(SYSTEM, change_id="mc-1").payload,
            actor="aigov-tiering",
            time=T0 - CENTURY,
        )
        result = ledger.status(tier_with(approval_control(("approver", 1))))
        assert result["approval.release"].state == "missing"

    def test_a_change_approved_before_it_was_detected_stays_pending(self) -> None:
        # Change ids are predictable (`mc-<system>-<revision>`): approving one in advance
        # must not clear the change once it happens.
        early = ApprovalGranted.model_validate(
            {
                "system_id": SYSTEM,
                "version": ev.VERSION,
                "scope": "material_change",
                "material_change_id": "mc-1",
                "rationale": "pre-approved",
            }
        )
        ledger = Ledger()
        ledger.add(early, actor=ev.APPROVER, time=T0 + CENTURY)
        ledger.add(ev.material_change(SYSTEM, change_id="mc-1").payload, actor="aigov-tiering")
        assert [c.change_id for c in ledger.status(tier_with())["_pending"]] == ["mc-1"]
        ledger.add(early, actor=ev.APPROVER)
        assert ledger.status(tier_with())["_pending"] == []


class TestProbesOnlyFromTheRouter:
    def test_a_publishers_probe_result_does_not_satisfy_monitoring(self) -> None:
        ledger = Ledger()
        ledger.add(probe_payload(), actor=ev.SUBMITTER)
        control = ledger.status(tier_with(DRIFT))["monitoring.drift"]
        assert control.state == "missing"
        assert f"not published by {MONITORING_ROUTER}" in (control.reason or "")
        assert ev.SUBMITTER in (control.reason or "")
        assert control.evidence_ids == ()

    def test_the_routers_probe_result_does(self) -> None:
        ledger = Ledger()
        ledger.add(probe_payload(), actor=MONITORING_ROUTER)
        assert ledger.status(tier_with(DRIFT))["monitoring.drift"].state == "satisfied"

    def test_a_forged_ok_does_not_mask_the_routers_failing_result(self) -> None:
        ledger = Ledger()
        ledger.add(probe_payload(ok=False), actor=MONITORING_ROUTER)
        ledger.add(probe_payload(ok=True), actor=ev.SUBMITTER)
        control = ledger.status(tier_with(DRIFT))["monitoring.drift"]
        assert control.state == "missing"
        assert "latest result not ok for probes: drift-alert-rule-present" in (control.reason or "")

    def test_a_failing_probe_says_which_receiver_failed(self) -> None:
        ledger = Ledger()
        detail = "not delivered to pd (pagerduty) after 1 attempt(s): HTTP 400 from 127.0.0.1"
        ledger.add(probe_payload(ok=False, detail=detail), actor=MONITORING_ROUTER)
        control = ledger.status(tier_with(DRIFT))["monitoring.drift"]
        assert f"drift-alert-rule-present: {detail}" in (control.reason or "")


class TestEverySubmitterIsBarred:
    def test_a_later_submitter_cannot_approve(self) -> None:
        ledger = Ledger()
        ledger.add(evaluation_payload(0.01), actor=EVALUATOR)
        ledger.add(ev.artifact(SYSTEM, ev.request_body("artifact.json")).payload, actor=DOCUMENTER)
        ledger.add(approval_payload(), actor=DOCUMENTER)
        control = ledger.status(tier_with(approval_control(("approver", 1))))["approval.release"]
        assert control.state == "missing"
        assert (
            f"approval by {DOCUMENTER} does not count: {DOCUMENTER} submitted evidence "
            "for this release"
        ) in (control.reason or "")

    def test_submitters_known_only_to_the_ledger_are_barred_too(self) -> None:
        # E.g. the deployment requester: not an evidence record the rules read.
        ledger = Ledger()
        ledger.add(approval_payload(), actor=ev.APPROVER)
        evidence = ReleaseEvidence(
            version=ev.VERSION,
            submitter=ev.SUBMITTER,
            submitters=[ev.SUBMITTER, ev.APPROVER],
            records=ledger.records,
        )
        status = release_status(tier_with(approval_control(("approver", 1))), evidence, [], now=T0)
        assert status.controls[0].state == "missing"

    def test_a_non_submitter_still_can(self) -> None:
        ledger = Ledger()
        ledger.add(evaluation_payload(0.01), actor=EVALUATOR)
        ledger.add(ev.artifact(SYSTEM, ev.request_body("artifact.json")).payload, actor=DOCUMENTER)
        ledger.add(approval_payload(), actor=ev.APPROVER)
        control = ledger.status(tier_with(approval_control(("approver", 1))))["approval.release"]
        assert control.state == "satisfied"

    def test_a_waiver_decided_by_another_submitter_does_not_cover(self) -> None:
        ledger = Ledger()
        ledger.add(evaluation_payload(0.09), actor=EVALUATOR)
        ledger.add(ev.artifact(SYSTEM, ev.request_body("artifact.json")).payload, actor=DOCUMENTER)
        waiver = Waiver(
            waiver_id="W-1",
            version=ev.VERSION,
            controls=["evaluation.prompt_injection"],
            status="granted",
            expires_at=T0 + timedelta(days=30),
            requested_by=EVALUATOR,
            decided_by=DOCUMENTER,
        )
        control = ledger.status(tier_with(INJECTION), [waiver])["evaluation.prompt_injection"]
        assert control.state == "missing"
        independent = replace(waiver, decided_by=ev.APPROVER)
        control = ledger.status(tier_with(INJECTION), [independent])["evaluation.prompt_injection"]
        assert control.state == "waived"


class TestDistinctPeopleForDistinctRequirements:
    TWO_ROLES = approval_control(("risk-officer", 1), ("approver", 1))

    def test_one_principal_cannot_fill_two_requirements(self) -> None:
        ledger = Ledger()
        ledger.add(approval_payload("risk-officer"), actor=ev.APPROVER)
        ledger.add(approval_payload("approver"), actor=ev.APPROVER)
        control = ledger.status(tier_with(self.TWO_ROLES))["approval.release"]
        assert control.state == "missing"
        reason = control.reason or ""
        assert "; has none" in reason, reason
        assert "one principal counts toward one requirement" in reason
        assert len(control.evidence_ids) == 1

    def test_two_principals_fill_them(self) -> None:
        ledger = Ledger()
        ledger.add(approval_payload("risk-officer"), actor=ev.APPROVER)
        ledger.add(approval_payload("approver"), actor="second-approver")
        assert ledger.status(tier_with(self.TWO_ROLES))["approval.release"].state == "satisfied"

    def test_the_assignment_meets_as_many_requirements_as_possible(self) -> None:
        # x can fill approver or risk-officer, y only approver: x must take risk-officer.
        ledger = Ledger()
        ledger.add(approval_payload("approver"), actor="x")
        ledger.add(approval_payload("risk-officer"), actor="x")
        ledger.add(approval_payload("approver"), actor="y")
        assert ledger.status(tier_with(self.TWO_ROLES))["approval.release"].state == "satisfied"

    def test_counts_need_distinct_people_and_unmet_ones_are_named(self) -> None:
        control_spec = approval_control(("approver", 2), ("risk-officer", 1), ("dpo", 1))
        ledger = Ledger()
        ledger.add(approval_payload("approver"), actor="x")
        ledger.add(approval_payload("risk-officer"), actor="x")
        ledger.add(approval_payload("approver"), actor="y")
        ledger.add(approval_payload("dpo"), actor="y")
        control = ledger.status(tier_with(control_spec))["approval.release"]
        assert control.state == "missing"
        reason = control.reason or ""
        # Best: x as risk-officer, y as dpo; the two approvers are what is missing.
        assert "needs 2 approvals of release 2026.11.3 in role approver by 2 different" in reason
        assert "role risk-officer" not in reason
        assert "role dpo" not in reason

    def test_the_same_principal_twice_in_one_role_counts_once(self) -> None:
        ledger = Ledger()
        ledger.add(approval_payload("approver"), actor="x")
        ledger.add(approval_payload("approver"), actor="x")
        control = ledger.status(tier_with(approval_control(("approver", 2))))["approval.release"]
        assert control.state == "missing"
        assert "; has 1 (x)" in (control.reason or "")


# --- through the embedded service (the same scenarios run on Kafka + PostgreSQL) ------------


@pytest.mark.asyncio
class TestThroughTheService:
    async def test_client_clocks_decide_nothing(self, evidence: Harness) -> None:
        await scenario.client_clocks_decide_nothing(evidence)

    async def test_only_the_routers_probes_count(self, evidence: Harness) -> None:
        await scenario.only_the_routers_probes_count(evidence)

    async def test_no_submitter_approves_and_capacities_need_distinct_people(
        self, evidence: Harness
    ) -> None:
        await scenario.no_submitter_approves_and_capacities_need_distinct_people(evidence)


class TestGuidance:
    """What the gate says must read as a whole sentence and name what is waiting on whom."""

    def test_an_unmet_approval_reads_as_a_sentence(self) -> None:
        ledger = Ledger()
        control = ledger.status(tier_with(approval_control(("approver", 1))))["approval.release"]
        assert control.reason == (
            f"needs 1 approval of release {ev.VERSION} in role approver; has none"
        )

    def test_the_sentence_names_the_submitter_and_the_material_change(self) -> None:
        ledger = Ledger()
        ledger.add(evaluation_payload(0.01))  # by ev.SUBMITTER: it may not approve
        ledger.add(ev.material_change("s", change_id="mc-1").payload)
        control = ledger.status(tier_with(approval_control(("approver", 1))))["approval.release"]
        assert control.reason == (
            f"needs 1 approval of release {ev.VERSION} in role approver by a principal other "
            f"than the submitter {ev.SUBMITTER}, after the last material change; has none"
        )

    def test_plural_requirements_say_how_many_people_and_who_is_barred(self) -> None:
        ledger = Ledger()
        ledger.add(evaluation_payload(0.01), actor="ci-bot")
        ledger.add(evaluation_payload(0.01), actor="ml-lead")
        ledger.add(approval_payload("approver"), actor="x")
        ledger.add(approval_payload("approver"), actor="ml-lead")
        control = ledger.status(tier_with(approval_control(("approver", 2))))["approval.release"]
        assert control.reason == (
            f"needs 2 approvals of release {ev.VERSION} in role approver by 2 different "
            "principals other than the submitters ci-bot, ml-lead; has 1 (x); approval by "
            "ml-lead does not count: ml-lead submitted evidence for this release"
        )

    def test_pending_waiver_requests_are_the_undecided_unexpired_ones(self) -> None:
        from aigov_evidence.controls import pending_waivers

        def waiver(waiver_id: str, status: str, expires_in: timedelta) -> Waiver:
            return Waiver(
                waiver_id=waiver_id,
                version=ev.VERSION,
                controls=["evaluation.prompt_injection"],
                status=status,
                expires_at=T0 + expires_in,
                requested_by=ev.SUBMITTER,
                decided_by=None,
                requested_at=T0,
            )

        waivers = [
            waiver("W-2", "requested", timedelta(days=30)),
            waiver("W-1", "requested", timedelta(days=30)),
            waiver("W-3", "granted", timedelta(days=30)),
            waiver("W-4", "rejected", timedelta(days=30)),
            waiver("W-5", "requested", -timedelta(days=1)),
        ]
        assert [w.waiver_id for w in pending_waivers(waivers, now=T0)] == ["W-1", "W-2"]
