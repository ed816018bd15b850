"""The release gate: may (system, version) ship? A recorded answer is published as `gate.decided`.

A release may ship iff its system is registered and active, has a tier decision whose tier is
not prohibited, every required control is satisfied or covered by an unexpired waiver, and
no material change awaits approval (rules in `controls.py`: the ledger's order decides, never
a client's clock). Every deny says what to do next.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from aigov_events.catalog import (
    GateDecided,
    MissingControl,
    PolicyRef,
    Tier,
    WaivedControl,
)
from aigov_events.message import new_event
from aigov_events.producer import Publisher
from aigov_evidence.controls import PendingChange, Waiver, pending_waivers
from aigov_evidence.service import assess_release

log = logging.getLogger(__name__)

SOURCE: Final = "/aigov/evidence/gate"


@dataclass(frozen=True, slots=True)
class GateResult:
    """The gate's answer for one release."""

    system_id: str
    version: str
    decision: Literal["allow", "deny"]
    decided_at: datetime
    tier: str | None = None
    policy: PolicyRef | None = None
    missing: list[MissingControl] = field(default_factory=list)
    waived: list[WaivedControl] = field(default_factory=list)
    pending: list[PendingChange] = field(default_factory=list)
    pending_waivers: list[Waiver] = field(default_factory=list)
    """Waiver requests of the release awaiting a decision (a view: not in `gate.decided`)."""
    evidence_ids: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    known_system: bool = True
    """False for a system id no event ever named: such answers are not published."""
    event_id: str | None = None


async def evaluate(
    session: AsyncSession, system_id: str, version: str, *, now: datetime
) -> GateResult:
    """Decide whether the release may ship, reading the projections and the ledger."""
    assessment = await assess_release(session, system_id, version, now=now)
    if not assessment.known or assessment.lifecycle_status == "unregistered":
        decided = assessment.decision
        return GateResult(
            system_id,
            version,
            "deny",
            now,
            tier=decided.tier.value if decided is not None else None,
            known_system=assessment.known,
            reasons=[f"AI system {system_id!r} is not registered"],
            next_steps=[
                f"register it: POST /v1/systems with its aigov.io/v1 AISystem manifest "
                f"(metadata.id: {system_id}), then wait for its tier decision and retry",
            ],
        )
    if assessment.lifecycle_status == "retired":
        return GateResult(
            system_id,
            version,
            "deny",
            now,
            tier=assessment.decision.tier.value if assessment.decision is not None else None,
            reasons=[f"AI system {system_id!r} is retired"],
            next_steps=["a retired system cannot ship; register a new system or revision"],
        )
    decision, status = assessment.decision, assessment.status
    if decision is None or status is None:
        return GateResult(
            system_id,
            version,
            "deny",
            now,
            reasons=[f"AI system {system_id!r} has no tier decision yet"],
            next_steps=[
                "the tiering service classifies a system shortly after registration; retry in a "
                "few seconds, and if it persists check that tiering is running"
            ],
        )
    missing = [
        MissingControl(control_id=c.control_id, reason=c.reason or "not satisfied")
        for c in status.controls
        if c.state == "missing"
    ]
    waived = [
        WaivedControl(
            control_id=c.control_id, waiver_id=c.waiver_id, expires_at=c.waiver_expires_at
        )
        for c in status.controls
        if c.state == "waived" and c.waiver_id is not None and c.waiver_expires_at is not None
    ]
    reasons: list[str] = []
    steps: list[str] = []
    if decision.tier == Tier.PROHIBITED:
        reasons.append(
            f"tier prohibited under policy {decision.policy.name} {decision.policy.version}: "
            + "; ".join(rule.reason for rule in decision.rules)
        )
        steps.append(
            "a prohibited system may not ship: change the manifest so no prohibited practice "
            "applies (a new revision is re-tiered), or retire the system"
        )
    for change in status.pending_changes:
        reasons.append(f"material change {change.change_id} awaits approval: {change.reason}")
    if status.pending_changes:
        steps.append(
            "an approver who submitted nothing for the release approves each material change "
            "(POST /v1/approvals with scope material_change), then re-approves the release"
        )
    waiting = pending_waivers(assessment.waivers, now=now)
    missing_ids = {m.control_id for m in missing}
    for request in waiting:
        for control_id in request.controls:
            if control_id in missing_ids:
                steps.append(
                    f"waiver {request.waiver_id} for {control_id} awaits an approver other than "
                    f"{request.requested_by}: `aigov waiver grant {request.waiver_id}` "
                    f"(POST /v1/waivers/{request.waiver_id}/grant) or `aigov waiver reject "
                    f"{request.waiver_id}`"
                )
    if missing:
        steps.append(
            "submit the missing evidence for this release — `aigov emit evaluation` "
            "(POST /v1/evaluations), `aigov emit artifact` (POST /v1/artifacts), `aigov approve` "
            "(POST /v1/approvals) — or request a waiver for a control (`aigov waiver request`, "
            "POST /v1/waivers), then ask the gate again (`aigov gate`)"
        )
    if any(m.control_id.startswith("monitoring.") for m in missing):
        steps.append(
            f"monitoring controls need a passing probe of the system's alert routes: fix the "
            f"receiver the probe names (docs/services/monitoring-router.md), then "
            f"`aigov probe run {system_id} --wait 1m` (POST /v1/probes/{system_id} on the "
            f"monitoring router, owner role)"
        )
    allowed = not missing and not reasons
    return GateResult(
        system_id,
        version,
        "allow" if allowed else "deny",
        now,
        tier=decision.tier.value,
        policy=decision.policy,
        missing=missing,
        waived=waived,
        pending=status.pending_changes,
        pending_waivers=waiting,
        # The tier decision is evidence too: it says which controls were required.
        evidence_ids=[
            *([assessment.tier_event_id] if assessment.tier_event_id else []),
            *status.evidence_ids,
        ],
        reasons=reasons,
        next_steps=steps,
    )


async def publish_decision(result: GateResult, *, publisher: Publisher, actor: str) -> GateResult:
    """Publish the answer as `gate.decided` (the decision is itself evidence)."""
    payload = GateDecided(
        system_id=result.system_id,
        version=result.version,
        allowed=result.decision == "allow",
        tier=Tier(result.tier) if result.tier is not None else None,
        policy=result.policy,
        missing_controls=result.missing,
        waived_controls=result.waived,
        reasons=result.reasons[:50],
        decided_at=result.decided_at,
    )
    event = new_event(payload, source=SOURCE, actor=actor, time=result.decided_at)
    await publisher.publish(event)
    return replace(result, event_id=event.id)
