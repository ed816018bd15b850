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
    EvidenceKind,
    GateDecided,
    MissingControl,
    PolicyRef,
    Tier,
    WaivedControl,
)
from aigov_events.message import new_event
from aigov_events.producer import Publisher
from aigov_evidence import guidance
from aigov_evidence.controls import PendingChange, Waiver, pending_waivers
from aigov_evidence.service import assess_release, monitoring_trouble

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
    steps.extend(guidance.change_steps(status.pending_changes, system_id, version))
    waiting = pending_waivers(assessment.waivers, now=now)
    kinds = guidance.missing_kinds(decision, missing)
    steps.extend(guidance.waiver_steps(waiting, set(kinds)))
    steps.extend(guidance.evidence_steps(kinds, waiting, system_id, version))
    # Only read the router's records when a monitoring control is what blocks the release.
    trouble = (
        await monitoring_trouble(session, system_id)
        if any(EvidenceKind.MONITORING.value in ks for ks in kinds.values())
        else None
    )
    # Before the closing "ask the gate again" step: fixing the receiver comes first.
    steps[-1:-1] = guidance.monitoring_steps(missing, kinds, trouble, system_id)
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
