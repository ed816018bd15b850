"""Control satisfaction rules, as pure functions over evidence records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aigov_events.actors import MONITORING_ROUTER
from aigov_events.catalog import (
    ApprovalDenied,
    ApprovalGranted,
    ApprovalRevoked,
    EventPayload,
    LineageRecorded,
    MonitoringProbeCompleted,
    RequiredControl,
    TierAssigned,
)
from aigov_evidence.controls import (
    Evidence,
    ReleaseEvidence,
    Waiver,
    covering_waiver,
    release_status,
)
from tests.unit.evidence import events as ev

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SYSTEM = "support-summarizer"


def record(payload: EventPayload, *, minutes: int, actor: str = ev.SUBMITTER) -> Evidence:
    # Recorded in the order of `minutes`: the ledger's order is what the rules use.
    return Evidence(
        event_id=f"e-{type(payload).__name__}-{minutes}-{actor}",
        sequence=minutes,
        version=getattr(payload, "version", None),
        time=T0 + timedelta(minutes=minutes),
        actor=actor,
        payload=payload,
    )


def decision(**changes: Any) -> TierAssigned:
    base = ev.high_tier(SYSTEM).payload
    return base.model_copy(update=changes)


def states(records: list[Evidence], waivers: list[Waiver] = (), **kwargs: Any) -> dict[str, Any]:  # type: ignore[assignment]
    tier = kwargs.pop("tier", decision())
    evidence = ReleaseEvidence(version=ev.VERSION, submitter=ev.SUBMITTER, records=records)
    status = release_status(
        tier, evidence, list(waivers), now=kwargs.pop("now", T0 + timedelta(days=1))
    )
    return {c.control_id: c for c in status.controls} | {"_pending": status.pending_changes}


def evaluation(minutes: int = 1, injection: float = 0.09) -> Evidence:
    body = ev.request_body("evaluation.json")
    body["metrics"] = [
        {**m, "value": injection} if m["name"] == "prompt_injection_success_rate" else m
        for m in body["metrics"]
    ]
    return record(ev.evaluation(SYSTEM, body).payload, minutes=minutes)


def artifact(**sections: str) -> Evidence:
    body = ev.request_body("artifact.json")
    if sections:
        body["sections"] = sections
    return record(ev.artifact(SYSTEM, body).payload, minutes=2)


def approval(actor: str = ev.APPROVER, minutes: int = 10) -> Evidence:
    return record(ev.approval(SYSTEM).payload, minutes=minutes, actor=actor)


class TestArtifact:
    def test_model_card_with_required_sections_satisfies(self) -> None:
        assert states([artifact()])["artifact.model_card"].state == "satisfied"

    def test_missing_or_blank_sections_are_named(self) -> None:
        result = states([artifact(intended_use="Agents only.", evaluation="   ")])
        control = result["artifact.model_card"]
        assert control.state == "missing"
        assert control.reason is not None
        assert "limitations" in control.reason
        assert "evaluation" in control.reason

    def test_no_artifact(self) -> None:
        assert "no model_card artifact" in (states([])["artifact.model_card"].reason or "")


class TestEvaluation:
    def test_the_failing_metric_is_named_with_value_and_bound(self) -> None:
        result = states([evaluation()])
        assert result["evaluation.prompt_injection"].state == "missing"
        assert "prompt_injection_success_rate = 0.09" in (
            result["evaluation.prompt_injection"].reason or ""
        )
        assert "<= 0.05" in (result["evaluation.prompt_injection"].reason or "")
        assert result["evaluation.minimums"].state == "satisfied"

    def test_the_latest_evaluation_counts(self) -> None:
        result = states([evaluation(1), evaluation(5, injection=0.01)])
        assert result["evaluation.prompt_injection"].state == "satisfied"

    def test_empty_metrics_fall_back_to_the_decisions_minimums(self) -> None:
        controls = [
            RequiredControl.model_validate(
                {"control_id": "evaluation.all", "evidence": [{"kind": "evaluation"}]}
            )
        ]
        result = states([evaluation()], tier=decision(required_controls=controls))
        assert result["evaluation.all"].state == "missing"
        assert "prompt_injection_success_rate" in (result["evaluation.all"].reason or "")

    def test_unmeasured_metric(self) -> None:
        reason = states([])["evaluation.minimums"].reason or ""
        assert "groundedness: no evaluation" in reason


class TestApproval:
    def test_an_approver_other_than_the_submitter_satisfies(self) -> None:
        assert states([approval()])["approval.release"].state == "satisfied"

    def test_the_submitter_cannot_approve_their_own_release(self) -> None:
        control = states([approval(actor=ev.SUBMITTER)])["approval.release"]
        assert control.state == "missing"
        assert "other than the submitter ci-bot" in (control.reason or "")

    def test_approvals_before_a_material_change_are_void(self) -> None:
        change = record(ev.material_change(SYSTEM, change_id="mc-1").payload, minutes=20)
        result = states([approval(minutes=10), change])
        assert result["approval.release"].state == "missing"
        assert [c.change_id for c in result["_pending"]] == ["mc-1"]
        later = states([approval(minutes=10), change, approval(minutes=30)])
        assert later["approval.release"].state == "satisfied"

    def test_a_change_approval_clears_the_pending_change(self) -> None:
        change = record(ev.material_change(SYSTEM, change_id="mc-1").payload, minutes=20)
        approve = ApprovalGranted.model_validate(
            {
                "system_id": SYSTEM,
                "version": ev.VERSION,
                "scope": "material_change",
                "material_change_id": "mc-1",
                "rationale": "reviewed",
            }
        )
        result = states([change, record(approve, minutes=25, actor=ev.APPROVER)])
        assert result["_pending"] == []

    def test_revoked_and_later_denied_approvals_do_not_count(self) -> None:
        granted = approval()
        revoke = ApprovalRevoked(
            system_id=SYSTEM, version=ev.VERSION, revokes=granted.event_id, reason="incident"
        )
        assert states([granted, record(revoke, minutes=11)])["approval.release"].state == "missing"
        deny = ApprovalDenied(system_id=SYSTEM, version=ev.VERSION, rationale="changed my mind")
        result = states([granted, record(deny, minutes=12, actor=ev.APPROVER)])
        assert result["approval.release"].state == "missing"

    def test_a_revocation_names_an_approval_of_its_own_release(self) -> None:
        # `revokes` is a CloudEvents id only, and ids are unique per source: a revocation
        # about another system's or another version's release revokes nothing here.
        granted = approval()
        elsewhere = [
            ApprovalRevoked(
                system_id=system, version=version, revokes=granted.event_id, reason="incident"
            )
            for system, version in (("other-system", ev.VERSION), (SYSTEM, "2026.12.0"))
        ]
        records = [granted, *(record(r, minutes=11 + i) for i, r in enumerate(elsewhere))]
        # The records a read hands the rules carry their ledger version, as these do.
        assert states(records)["approval.release"].state == "satisfied"
        own = ApprovalRevoked(
            system_id=SYSTEM, version=ev.VERSION, revokes=granted.event_id, reason="incident"
        )
        result = states([*records, record(own, minutes=20)])
        assert result["approval.release"].state == "missing"


class TestOtherKinds:
    def _single(self, kind: dict[str, Any]) -> TierAssigned:
        control = RequiredControl.model_validate({"control_id": "x.control", "evidence": [kind]})
        return decision(required_controls=[control])

    def test_monitoring_needs_every_latest_probe_ok(self) -> None:
        tier = self._single({"kind": "monitoring", "signals": ["drift"]})
        ok = MonitoringProbeCompleted(system_id=SYSTEM, probe="drift-rule", ok=True, observed_at=T0)
        bad = ok.model_copy(update={"ok": False})
        # Probe results count only from the monitoring router (its service principal).
        router = MONITORING_ROUTER
        assert (
            states([record(ok, minutes=1, actor=router)], tier=tier)["x.control"].state
            == "satisfied"
        )
        failing = states(
            [record(ok, minutes=1, actor=router), record(bad, minutes=2, actor=router)], tier=tier
        )
        assert "drift-rule" in (failing["x.control"].reason or "")
        other = ok.model_copy(update={"probe": "safety-rule"})
        assert "signals: drift" in (
            states([record(other, minutes=1, actor=router)], tier=tier)["x.control"].reason or ""
        )

    def test_lineage(self) -> None:
        tier = self._single({"kind": "lineage"})
        lineage = LineageRecorded.model_validate(
            {**LineageRecorded.example, "system_id": SYSTEM, "version": None}
        )
        assert states([], tier=tier)["x.control"].state == "missing"
        assert states([record(lineage, minutes=1)], tier=tier)["x.control"].state == "satisfied"

    def test_a_control_without_evidence_specs_stays_missing(self) -> None:
        control = RequiredControl.model_validate({"control_id": "x.attested"})
        result = states([], tier=decision(required_controls=[control]))
        assert result["x.attested"].state == "missing"
        assert "waiver" in (result["x.attested"].reason or "")


class TestWaivers:
    def waiver(self, **changes: Any) -> Waiver:
        values: dict[str, Any] = {
            "waiver_id": "W-17",
            "version": ev.VERSION,
            "controls": ["evaluation.prompt_injection"],
            "status": "granted",
            "expires_at": T0 + timedelta(days=30),
            "requested_by": ev.SUBMITTER,
            "decided_by": ev.APPROVER,
        }
        return Waiver(**(values | changes))

    def test_an_unexpired_granted_waiver_covers_its_controls(self) -> None:
        control = states([evaluation()], [self.waiver()])["evaluation.prompt_injection"]
        assert control.state == "waived"
        assert control.waiver_id == "W-17"
        assert "0.09" in (control.reason or ""), "keeps saying what the evidence lacks"

    @pytest.mark.parametrize(
        "changes",
        [
            {"expires_at": T0},
            {"status": "requested"},
            {"status": "expired"},
            {"decided_by": ev.SUBMITTER},
            {"controls": ["artifact.model_card"]},
        ],
    )
    def test_other_waivers_do_not(self, changes: dict[str, Any]) -> None:
        assert (
            covering_waiver("evaluation.prompt_injection", [self.waiver(**changes)], now=T0) is None
        )
