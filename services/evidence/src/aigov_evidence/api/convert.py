"""Turn projection rows and service results into API shapes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aigov_evidence.controls import ControlStatus, PendingChange, Waiver
from aigov_evidence.models import SystemView, WaiverView
from aigov_evidence.schemas import (
    ControlOut,
    EvidenceOut,
    LastGateOut,
    PendingChangeOut,
    PendingWaiverOut,
    PolicyOut,
    SystemOut,
    SystemSummaryOut,
    WaiverOut,
)
from aigov_evidence.service import SystemRow


def policy_of(system: SystemView) -> PolicyOut | None:
    """The policy of the system's tier decision."""
    decision = system.tier_decision
    if not decision:
        return None
    return PolicyOut.model_validate(decision["policy"])


def _last_gate(system: SystemView) -> LastGateOut | None:
    if system.last_gate_decision not in ("allow", "deny"):
        return None
    return LastGateOut(
        decision="allow" if system.last_gate_decision == "allow" else "deny",
        version=system.last_gate_version,
        decided_at=system.last_gate_at,
        event_id=system.last_gate_event_id,
    )


def system_summary(row: SystemRow) -> SystemSummaryOut:
    """An inventory list item."""
    s = row.system
    return SystemSummaryOut(
        id=s.system_id,
        name=s.name,
        owner=s.owner,
        team=s.team,
        tier=s.tier,
        lifecycle_status=s.lifecycle_status,
        latest_version=row.latest_version,
        last_gate=_last_gate(s),
    )


def system_detail(row: SystemRow) -> SystemOut:
    """An inventory entry in full."""
    s = row.system
    return SystemOut(
        **system_summary(row).model_dump(),
        oncall=s.oncall,
        manifest_revision=s.manifest_revision,
        manifest_sha256=s.manifest_sha256,
        deployment_surfaces=list(s.deployment_surfaces),
        regions=list(s.regions),
        data_classes=list(s.data_classes),
        third_party_models=list(s.third_party_models),
        policy=policy_of(s),
        tier_event_id=s.tier_event_id,
        tier_assigned_at=s.tier_assigned_at,
        open_incidents=row.open_incidents,
        registered_at=s.registered_at,
    )


def evidence(row: Any) -> EvidenceOut:
    """A ledger row."""
    return EvidenceOut(
        event_id=row.event_id,
        type=row.event_type,
        system=row.system_id,
        sequence=row.sequence,
        version=row.version,
        time=row.time,
        actor=row.actor,
        source=row.source,
        data=row.payload,
        event_hash=row.event_hash,
        prev_hash=row.prev_hash,
        hash=row.hash,
        recorded_at=row.recorded_at,
    )


def control(status: ControlStatus) -> ControlOut:
    """One control's status."""
    return ControlOut(
        control_id=status.control_id,
        title=status.title,
        state=status.state,
        reason=status.reason,
        evidence_ids=list(status.evidence_ids),
        waiver_id=status.waiver_id,
        waiver_expires_at=status.waiver_expires_at,
    )


def pending(change: PendingChange) -> PendingChangeOut:
    """A material change awaiting approval."""
    return PendingChangeOut(
        change_id=change.change_id,
        kind=change.kind,
        reason=change.reason,
        detected_at=change.detected_at,
        event_id=change.event_id,
    )


def waiver(w: WaiverView, *, now: Any) -> WaiverOut:
    """A waiver, with its status as of `now`."""
    effective = "expired" if w.status == "granted" and w.expires_at <= now else w.status
    return WaiverOut.model_validate(
        {
            "waiver_id": w.waiver_id,
            "system": w.system_id,
            "version": w.version,
            "controls": list(w.controls),
            "justification": w.justification,
            "compensating_controls": list(w.compensating_controls),
            "expires_at": w.expires_at,
            "status": w.status,
            "effective_status": effective,
            "requested_by": w.requested_by,
            "requested_at": w.requested_at,
            "decided_by": w.decided_by,
            "decided_at": w.decided_at,
        }
    )


def pending_requests(waivers: Sequence[Waiver]) -> list[PendingWaiverOut]:
    """Undecided waiver requests, one row per control they would waive."""
    return [
        PendingWaiverOut(
            waiver_id=w.waiver_id,
            control_id=control_id,
            requested_by=w.requested_by,
            requested_at=w.requested_at,
            expires_at=w.expires_at,
        )
        for w in waivers
        for control_id in w.controls
    ]
