"""`GET /v1/gate`: may this release ship? (Whether an event is recorded yet: `api.events`.)"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends

from aigov_events.producer import Publisher
from aigov_evidence import gate
from aigov_evidence.api.convert import pending
from aigov_evidence.api.deps import GateCaller, Now, Session, SystemQuery, VersionQuery, publisher
from aigov_evidence.schemas import (
    GateOut,
    MissingControlOut,
    PolicyOut,
    WaivedControlOut,
)
from aigov_runtime.errors import ProblemError, problem_responses

router = APIRouter(tags=["gate"])

_ERRORS: Final = problem_responses(401, 403, 422, 503)


@router.get(
    "/gate",
    summary="Decide whether a release may ship",
    response_model=GateOut,
    responses=_ERRORS,
    description=(
        "`allow` iff the system is registered and tiered, its tier is not prohibited, every "
        "control its latest tier decision requires is satisfied by evidence for this release "
        "or covered by an unexpired waiver, and no material change awaits approval. "
        '"Latest" and "after" follow the ledger\'s order, never an event\'s own `time`; '
        "probe results count only from the monitoring router; approvals count only from "
        "principals who submitted nothing for the release, each toward one required role. A "
        "deny lists what is missing and what to do next. The decision is published as "
        "`gate.decided` (not for systems the inventory has never seen)."
    ),
)
async def decide(
    system: SystemQuery,
    version: VersionQuery,
    caller: GateCaller,
    session: Session,
    now: Now,
    pub: Annotated[Publisher, Depends(publisher)],
) -> GateOut:
    """Answer the release gate for (system, version) and record the answer as evidence."""
    result = await gate.evaluate(session, system, version, now=now)
    if result.known_system:
        try:
            result = await gate.publish_decision(result, publisher=pub, actor=caller.name)
        except Exception as exc:
            raise ProblemError(
                503,
                "the gate decision could not be recorded (event broker unavailable); retry later",
                headers={"Retry-After": "5"},
            ) from exc
    return GateOut(
        system=result.system_id,
        version=result.version,
        decision=result.decision,
        tier=result.tier,
        policy_version=result.policy.version if result.policy is not None else None,
        policy=PolicyOut.model_validate(result.policy.model_dump()) if result.policy else None,
        missing_controls=[MissingControlOut(**m.model_dump()) for m in result.missing],
        waived_controls=[WaivedControlOut(**w.model_dump()) for w in result.waived],
        pending_material_changes=[pending(c) for c in result.pending],
        reasons=result.reasons,
        next_steps=result.next_steps,
        evidence_ids=result.evidence_ids,
        decided_at=result.decided_at,
        gate_event_id=result.event_id,
    )
