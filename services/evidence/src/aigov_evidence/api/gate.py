"""The release gate: `GET /v1/gate` reads a decision, `POST /v1/gate/decisions` records one.

Reading is safe (RFC 9110): a dashboard polling or a person looking changes nothing. Recording
is what CI does before acting on the answer: the same decision, published as `gate.decided`.
(Whether an event is recorded yet: `api.events`.)
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from aigov_events.catalog.primitives import SYSTEM_ID_PATTERN
from aigov_events.producer import Publisher
from aigov_evidence import gate
from aigov_evidence.api.bodies import JsonBodyRoute
from aigov_evidence.api.convert import pending, pending_requests
from aigov_evidence.api.deps import (
    VERSION_PATTERN,
    GateCaller,
    Now,
    Session,
    SystemQuery,
    VersionQuery,
    publisher,
)
from aigov_evidence.schemas import (
    GateOut,
    MissingControlOut,
    PolicyOut,
    WaivedControlOut,
)
from aigov_runtime.auth import Role, require_roles
from aigov_runtime.errors import ProblemError, problem_responses
from aigov_runtime.ratelimit import LimitedPrincipal
from aigov_runtime.tags import Tag

router = APIRouter(tags=[Tag.RELEASES], route_class=JsonBodyRoute)

_READ_ERRORS: Final = problem_responses(401, 403, 422)
_RECORD_ERRORS: Final = problem_responses(401, 403, 422, 429, 503)

_RULES: Final = (
    "`allow` iff the system is registered and tiered, its tier is not prohibited, every "
    "control its latest tier decision requires is satisfied by evidence for this release "
    "or covered by an unexpired waiver, and no material change awaits approval. "
    '"Latest" and "after" follow the ledger\'s order, never an event\'s own `time`; '
    "probe results count only from the monitoring router; approvals count only from "
    "principals who submitted nothing for the release, each toward one required role. A "
    "deny lists what is missing and what to do next."
)


class GateDecisionIn(BaseModel):
    """The release to decide on and record the decision of."""

    model_config = ConfigDict(extra="forbid", strict=True)

    system: str = Field(
        pattern=SYSTEM_ID_PATTERN, description="AI system id.", examples=["support-summarizer"]
    )
    version: str = Field(
        pattern=VERSION_PATTERN, description="Release version.", examples=["2026.11.3"]
    )


def _answer(result: gate.GateResult) -> GateOut:
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
        pending_waivers=pending_requests(result.pending_waivers),
        reasons=result.reasons,
        next_steps=result.next_steps,
        evidence_ids=result.evidence_ids,
        decided_at=result.decided_at,
        gate_event_id=result.event_id,
    )


@router.get(
    "/gate",
    summary="Read whether a release may ship (records nothing)",
    response_model=GateOut,
    responses=_READ_ERRORS,
    description=_RULES
    + " Reading is safe: nothing is published or recorded and the inventory's `last_gate` "
    "does not change, so `gate_event_id` is null. To record the decision as evidence (what "
    "CI does before it deploys), `POST /v1/gate/decisions`.",
)
async def read_decision(
    system: SystemQuery, version: VersionQuery, _caller: GateCaller, session: Session, now: Now
) -> GateOut:
    """The release gate's answer for (system, version), without recording it."""
    return _answer(await gate.evaluate(session, system, version, now=now))


@router.post(
    "/gate/decisions",
    summary="Decide whether a release may ship and record the decision",
    response_model=GateOut,
    responses=_RECORD_ERRORS,
    dependencies=[Depends(require_roles(Role.PUBLISHER))],
    description=_RULES
    + " The decision is published as `gate.decided` (actor = the caller) before the answer, "
    "which is `GET /v1/gate`'s body with `gate_event_id` set: a decision CI acts on is always "
    "evidence, and the inventory's `last_gate` follows it. A system the inventory has never "
    "seen is denied and not recorded (`gate_event_id` null: it would start a ledger chain "
    "for a typo). 200 (the answer is the decision, not a new resource); 403 without the "
    "publisher role; 422 for a body that is not exactly `{system, version}` (unknown fields "
    "refused); 429 with Retry-After over the caller's rate; 503 with Retry-After when the "
    "event broker does not acknowledge the record (nothing was decided for CI: retry).",
)
async def record_decision(
    request: GateDecisionIn,
    caller: LimitedPrincipal,
    session: Session,
    now: Now,
    pub: Annotated[Publisher, Depends(publisher)],
) -> GateOut:
    """Answer the release gate for (system, version) and record the answer as evidence."""
    result = await gate.evaluate(session, request.system, request.version, now=now)
    if result.known_system:
        try:
            result = await gate.publish_decision(result, publisher=pub, actor=caller.name)
        except Exception as exc:
            raise ProblemError(
                503,
                "the gate decision could not be recorded (event broker unavailable); retry later",
                headers={"Retry-After": "5"},
            ) from exc
    return _answer(result)
