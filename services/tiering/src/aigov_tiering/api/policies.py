"""`GET /v1/policies`, `GET /v1/controls`, `GET /v1/controls/{control_id}`: the active pack, read-only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from aigov_runtime.auth import Role, require_roles
from aigov_runtime.errors import ProblemError, problem_responses
from aigov_runtime.ratelimit import limited_principal
from aigov_runtime.tags import Tag
from aigov_tiering.api.deps import ActivePack
from aigov_tiering.library import Framework, control_library, control_view, policy_view
from aigov_tiering.schemas import ControlLibrary, ControlView, PolicyView

router = APIRouter(
    prefix="/v1",
    tags=[Tag.POLICIES],
    dependencies=[Depends(require_roles(Role.READER)), Depends(limited_principal)],
    responses=problem_responses(401, 403, 429),
)


@router.get("/policies", summary="The active policy pack", response_model=PolicyView)
async def get_policy(pack: ActivePack) -> PolicyView:
    """The active policy pack: name, version and hash, tier rules, tier requirements, metrics."""
    return policy_view(pack)


@router.get(
    "/controls",
    summary="The control library with its framework mappings",
    response_model=ControlLibrary,
    response_model_exclude_none=True,
    responses=problem_responses(422),
)
async def list_controls(
    pack: ActivePack,
    framework: Annotated[
        Framework | None,
        Query(description="List the controls mapped to this framework, by its references."),
    ] = None,
) -> ControlLibrary:
    """Every control; with `framework`, the controls mapped to it indexed by article/subcategory/control."""
    return control_library(pack, framework)


@router.get(
    "/controls/{control_id}",
    summary="One control",
    response_model=ControlView,
    response_model_exclude_none=True,
    responses=problem_responses(404, 422),
)
async def get_control(
    pack: ActivePack,
    control_id: Annotated[
        str, Path(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$", examples=["approval.release"])
    ],
) -> ControlView:
    """A control: objective, what evidence satisfies it, framework mappings, tiers requiring it."""
    view = control_view(pack, control_id)
    if view is None:
        raise ProblemError(404, f"no control {control_id!r} in policy {pack.version_label}")
    return view
