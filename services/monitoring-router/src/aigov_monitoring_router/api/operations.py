"""The router's operational views: incidents with SLA timers, probes, the delivery log."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, status

from aigov_events.catalog.primitives import SYSTEM_ID_PATTERN
from aigov_monitoring_router import probes, service
from aigov_monitoring_router.api.deps import Owner, Reader, RouterDep, Session
from aigov_monitoring_router.models import Probe
from aigov_monitoring_router.schemas import DeliveryOut, IncidentOut, ProbeOut
from aigov_runtime.errors import ProblemError, problem_responses
from aigov_runtime.tags import Tag

router = APIRouter()

Limit = Annotated[int, Query(ge=1, le=1000)]
SystemFilter = Annotated[str | None, Query(max_length=63)]
SystemIdPath = Annotated[
    str, Path(pattern=SYSTEM_ID_PATTERN, description="AI system id (lower-case slug).")
]


@router.get(
    "/escalations",
    tags=[Tag.INCIDENTS],
    response_model=list[IncidentOut],
    summary="Incidents as the router tracks them: deadlines and escalation",
    responses=problem_responses(401, 403, 422),
)
async def list_incidents(
    _: Reader,
    session: Session,
    system: SystemFilter = None,
    status: Literal["open", "acknowledged", "contained", "resolved"] | None = None,
    limit: Limit = 100,
) -> list[IncidentOut]:
    """Incidents newest first with their SLA deadlines (met / breached) and escalation step."""
    return await service.incidents(session, system_id=system, status=status, limit=limit)


@router.post(
    "/probes/{system_id}",
    tags=[Tag.ROUTING],
    status_code=status.HTTP_202_ACCEPTED,
    response_model=list[ProbeOut],
    summary="Probe a system's alert routes now",
    responses=problem_responses(401, 403, 422),
)
async def run_probe(
    system_id: SystemIdPath, _: Owner, routing: RouterDep, session: Session
) -> list[ProbeOut]:
    """One synthetic alert per monitored signal through the system's routes; poll for outcomes."""
    started = await probes.start_probes(session, routing, system_id)
    routing.wake()
    return [ProbeOut.model_validate(probe) for probe in started]


@router.get(
    "/probes/{system_id}",
    tags=[Tag.ROUTING],
    response_model=list[ProbeOut],
    summary="Recent probe runs of a system",
    responses=problem_responses(401, 403, 422),
)
async def list_probes(
    system_id: SystemIdPath, _: Reader, session: Session, limit: Limit = 20
) -> list[ProbeOut]:
    """The system's probe runs, newest first."""
    return [
        ProbeOut.model_validate(p)
        for p in await service.probes(session, system_id=system_id, limit=limit)
    ]


@router.get(
    "/probes/{system_id}/{probe_id}",
    tags=[Tag.ROUTING],
    response_model=ProbeOut,
    summary="Read a probe's outcome",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_probe(
    system_id: SystemIdPath,
    probe_id: Annotated[str, Path(max_length=64)],
    _: Reader,
    session: Session,
) -> ProbeOut:
    """A probe run; `ok` is null until every delivery reached a final outcome."""
    probe = await session.get(Probe, probe_id)
    if probe is None or probe.system_id != system_id:
        raise ProblemError(404, f"no probe {probe_id!r} of system {system_id!r}")
    return ProbeOut.model_validate(probe)


@router.get(
    "/deliveries",
    tags=[Tag.ROUTING],
    response_model=list[DeliveryOut],
    summary="The delivery log",
    responses=problem_responses(401, 403, 422),
)
async def list_deliveries(
    _: Reader,
    session: Session,
    system: SystemFilter = None,
    notification_id: Annotated[str | None, Query(max_length=64)] = None,
    receiver: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = 100,
) -> list[DeliveryOut]:
    """Every delivery attempt, newest first."""
    return await service.deliveries(
        session, system_id=system, notification_id=notification_id, receiver=receiver, limit=limit
    )
