"""`/v1/silences`: create, list, read and expire silences (each change is published)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from aigov_monitoring_router import silences
from aigov_monitoring_router.api.deps import Owner, Reader, RouterDep, Session
from aigov_monitoring_router.models import Silence
from aigov_monitoring_router.router import Router
from aigov_monitoring_router.schemas import SilenceOut, SilenceRequest
from aigov_runtime.errors import ProblemError, problem_responses
from aigov_runtime.tags import Tag

router = APIRouter(prefix="/silences", tags=[Tag.ROUTING])


def _out(silence: Silence, routing: Router) -> SilenceOut:
    now = routing.clock.now()
    return SilenceOut.model_validate(silence).model_copy(
        update={"active": silence.starts_at <= now < silence.ends_at}
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SilenceOut,
    summary="Silence a system's matching alerts for a time window",
    # 400: a body that cannot be decoded at all; 422: invalid matchers, window or shape.
    responses=problem_responses(400, 401, 403, 413, 422),
)
async def create_silence(
    body: SilenceRequest, principal: Owner, routing: RouterDep, session: Session
) -> SilenceOut:
    """Create a silence (publishes `silence.created`)."""
    try:
        silence = await silences.create_silence(
            session,
            routing,
            matchers=body.matchers,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            created_by=principal.name,
            comment=body.comment,
        )
    except silences.SilenceRejected as exc:
        raise ProblemError(422, str(exc)) from None
    return _out(silence, routing)


@router.get(
    "",
    response_model=list[SilenceOut],
    summary="List silences",
    responses=problem_responses(401, 403, 422),
)
async def list_silences(
    _: Reader,
    routing: RouterDep,
    session: Session,
    system: Annotated[str | None, Query(max_length=63)] = None,
    include_expired: bool = False,
) -> list[SilenceOut]:
    """Silences newest first; only those not yet ended unless `include_expired`."""
    found = await silences.list_silences(
        session, routing, system_id=system, include_expired=include_expired
    )
    return [_out(s, routing) for s in found]


@router.get(
    "/{silence_id}",
    response_model=SilenceOut,
    summary="Read a silence",
    responses=problem_responses(401, 403, 404),
)
async def get_silence(
    silence_id: str, _: Reader, routing: RouterDep, session: Session
) -> SilenceOut:
    """One silence."""
    silence = await session.get(Silence, silence_id)
    if silence is None:
        raise ProblemError(404, f"no silence {silence_id!r}")
    return _out(silence, routing)


@router.delete(
    "/{silence_id}",
    response_model=SilenceOut,
    summary="Expire a silence now",
    responses=problem_responses(401, 403, 404),
)
async def expire_silence(
    silence_id: str, principal: Owner, routing: RouterDep, session: Session
) -> SilenceOut:
    """End the silence now (publishes `silence.expired`; expiring an ended one changes nothing)."""
    try:
        silence = await silences.expire_silence(
            session, routing, silence_id, expired_by=principal.name
        )
    except silences.SilenceNotFound:
        raise ProblemError(404, f"no silence {silence_id!r}") from None
    return _out(silence, routing)
