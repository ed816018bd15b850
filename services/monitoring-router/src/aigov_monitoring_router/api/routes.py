"""`/v1/routes`: the effective routing tree, route testing, configuration reload."""

from __future__ import annotations

from fastapi import APIRouter

from aigov_monitoring_router import service
from aigov_monitoring_router.api.deps import Admin, Reader, RouterDep, Session
from aigov_monitoring_router.routing_config import ConfigError
from aigov_monitoring_router.schemas import RouteTestRequest, RouteTestResult, RoutingTree
from aigov_runtime.errors import ProblemError, problem_responses
from aigov_runtime.tags import Tag

router = APIRouter(prefix="/routes", tags=[Tag.ROUTING])


@router.get(
    "",
    response_model=RoutingTree,
    response_model_by_alias=True,
    summary="The effective routing tree",
    responses=problem_responses(401, 403),
)
async def get_routes(_: Reader, routing: RouterDep, session: Session) -> RoutingTree:
    """The tree with inherited settings resolved, the receivers (secrets masked) with their
    last delivery status (time, outcome, error, failures since the last success), inhibit rules."""
    return await service.routing_tree(session, routing)


@router.post(
    "/test",
    response_model=RouteTestResult,
    response_model_by_alias=True,
    summary="Which routes and receivers a label set reaches",
    # 400: a body that cannot be decoded at all; 422: one that is not the schema's shape.
    responses=problem_responses(400, 401, 403, 413, 422),
)
async def route_test(body: RouteTestRequest, _: Reader, routing: RouterDep) -> RouteTestResult:
    """Run a label set through the tree (for operators and for CI of the routing config)."""
    return service.route_test(routing, body.labels)


@router.post(
    "/reload",
    response_model=RoutingTree,
    response_model_by_alias=True,
    summary="Re-read the routing configuration file",
    responses=problem_responses(401, 403, 422),
)
async def reload_routes(_: Admin, routing: RouterDep, session: Session) -> RoutingTree:
    """Load and validate the file again; on errors (422) the configuration in force stays."""
    try:
        routing.reload()
    except ConfigError as exc:
        raise ProblemError(422, str(exc)) from None
    return await service.routing_tree(session, routing)
