"""`GET /v1/tiering/systems/{system_id}`: a system's decision and why re-approval was or was not needed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_runtime.auth import Role, require_roles
from aigov_runtime.database import session_dependency
from aigov_runtime.errors import ProblemError, problem_responses
from aigov_runtime.ratelimit import limited_principal
from aigov_runtime.tags import Tag
from aigov_tiering.history import system_view
from aigov_tiering.schemas import SystemView

router = APIRouter(
    prefix="/v1/tiering",
    tags=[Tag.SYSTEMS],
    dependencies=[Depends(require_roles(Role.READER)), Depends(limited_principal)],
    responses=problem_responses(401, 403, 429),
)


def _sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = request.state.sessionmaker
    return maker


Session = Annotated[AsyncSession, Depends(session_dependency(_sessionmaker), scope="function")]


@router.get(
    "/systems/{system_id}",
    summary="A system's tier decision and manifest change history",
    response_model=SystemView,
    response_model_exclude_none=True,
    responses=problem_responses(404, 422),
)
async def get_system(
    session: Session,
    system_id: Annotated[
        str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", examples=["support-summarizer"])
    ],
) -> SystemView:
    """The last decision, the approved baseline, and every revision's material/non-material changes."""
    view = await system_view(session, system_id)
    if view is None:
        raise ProblemError(404, f"tiering has not seen system {system_id!r}")
    return view
