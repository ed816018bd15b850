"""The inventory: `/v1/systems`, a system, its evidence and its controls (its chain: `verify`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal

from fastapi import APIRouter, Query

from aigov_events.catalog import payload_model
from aigov_events.errors import EventError
from aigov_evidence import service
from aigov_evidence.api.convert import (
    control,
    evidence,
    pending,
    system_detail,
    system_summary,
)
from aigov_evidence.api.deps import (
    NO_NUL_PATTERN,
    Cursor,
    Limit,
    Now,
    Reader,
    Session,
    SystemPath,
    VersionQuery,
    cursor_key,
)
from aigov_evidence.schemas import (
    ControlsOut,
    EvidencePage,
    PolicyOut,
    SystemOut,
    SystemPage,
)
from aigov_runtime.errors import ProblemError, problem_responses
from aigov_runtime.tags import Tag

router = APIRouter()

_ERRORS: Final = problem_responses(401, 403, 404, 422)


@router.get(
    "/systems",
    tags=[Tag.SYSTEMS],
    summary="List AI systems",
    response_model=SystemPage,
    responses=problem_responses(401, 403, 422),
)
async def list_systems(
    _reader: Reader,
    session: Session,
    tier: Annotated[Literal["prohibited", "high", "medium", "low"] | None, Query()] = None,
    team: Annotated[str | None, Query(max_length=200, pattern=NO_NUL_PATTERN)] = None,
    status: Annotated[Literal["active", "retired", "unregistered"] | None, Query()] = None,
    gate: Annotated[
        Literal["allow", "deny"] | None, Query(description="Last gate decision.")
    ] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> SystemPage:
    """The inventory, ordered by id, filtered by tier, team, lifecycle status and last gate result."""
    after = cursor_key("systems", cursor)
    rows, last = await service.list_systems(
        session,
        tier=tier,
        team=team,
        status=status,
        gate=gate,
        limit=limit,
        after=str(after[0]) if after else None,
    )
    return SystemPage(
        items=[system_summary(row) for row in rows],
        next=service.encode_cursor("systems", [last]) if last is not None else None,
    )


async def _system_or_404(session: Session, system_id: str) -> service.SystemRow:
    row = await service.get_system(session, system_id)
    if row is None:
        raise ProblemError(404, f"no AI system {system_id!r} in the inventory")
    return row


@router.get(
    "/systems/{system_id}",
    tags=[Tag.SYSTEMS],
    summary="One AI system",
    response_model=SystemOut,
    responses=_ERRORS,
)
async def get_system(system_id: SystemPath, _reader: Reader, session: Session) -> SystemOut:
    """Owner, team, tier, manifest revision, surfaces, data classes, models, incidents, last gate."""
    return system_detail(await _system_or_404(session, system_id))


@router.get(
    "/systems/{system_id}/evidence",
    tags=[Tag.EVIDENCE],
    summary="A system's ledger records",
    response_model=EvidencePage,
    responses=_ERRORS,
)
async def list_evidence(
    system_id: SystemPath,
    _reader: Reader,
    session: Session,
    type: Annotated[
        list[str] | None,
        Query(description="Event types (`io.aigov.evaluation.completed.v1`); repeatable."),
    ] = None,
    version: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")] = None,
    since: Annotated[datetime | None, Query(description="Events at or after this time.")] = None,
    until: Annotated[datetime | None, Query(description="Events before this time.")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> EvidencePage:
    """The system's records in chain order, filtered by type, release and time."""
    for event_type in type or []:
        try:
            payload_model(event_type)
        except (EventError, KeyError):
            raise ProblemError(422, f"type: unknown event type {event_type!r}") from None
    after = cursor_key("evidence", cursor)
    rows, last = await service.list_evidence(
        session,
        system_id,
        types=type or [],
        version=version,
        since=since,
        until=until,
        limit=limit,
        after=int(str(after[0])) if after else None,
    )
    return EvidencePage(
        items=[evidence(row) for row in rows],
        next=service.encode_cursor("evidence", [last]) if last is not None else None,
    )


@router.get(
    "/systems/{system_id}/controls",
    tags=[Tag.SYSTEMS],
    summary="Control status of a release",
    response_model=ControlsOut,
    responses=_ERRORS,
)
async def release_controls(
    system_id: SystemPath, version: VersionQuery, _reader: Reader, session: Session, now: Now
) -> ControlsOut:
    """Each control the latest tier decision requires: satisfied (by which records), waived, or missing."""
    await _system_or_404(session, system_id)
    assessment = await service.assess_release(session, system_id, version, now=now)
    decision, status = assessment.decision, assessment.status
    if decision is None or status is None:
        raise ProblemError(404, f"AI system {system_id!r} has no tier decision yet")
    return ControlsOut(
        system=system_id,
        version=version,
        tier=decision.tier.value,
        policy=PolicyOut.model_validate(decision.policy.model_dump()),
        tier_event_id=assessment.tier_event_id,
        submitter=assessment.submitter,
        submitters=list(assessment.submitters),
        controls=[control(c) for c in status.controls],
        pending_material_changes=[pending(c) for c in status.pending_changes],
    )
