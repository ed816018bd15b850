"""`GET /v1/incidents` and `GET /v1/incidents/{incident_id}`: the incidents intake knows.

Intake knows every incident it can act on: those reported through it and those the
monitoring router opened from alerts (`aigov_intake.consumers`). Any role may read them
(readers, owners, on-call publishers, approvers); a scoped principal sees only its scope.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from pydantic import StringConstraints

from aigov_events.catalog.primitives import SYSTEM_ID_PATTERN
from aigov_intake import incidents
from aigov_intake.api.deps import Caller, sessionmaker
from aigov_intake.api.typed_common import known_id
from aigov_intake.models import IncidentRecord
from aigov_intake.schemas import IncidentList, IncidentOut
from aigov_runtime.auth import Principal, Role
from aigov_runtime.errors import ProblemError, problem_responses
from aigov_runtime.tags import Tag

router = APIRouter(prefix="/v1", tags=[Tag.INCIDENTS])

MAX_LIMIT: Final = 500
READ_ROLES: Final = frozenset({Role.READER, Role.OWNER, Role.PUBLISHER, Role.APPROVER})

_ONE_STATUS: Final = "|".join(incidents.STATUSES)
#: One status, or several separated by commas (`reported,acknowledged`).
StatusList = Annotated[str, StringConstraints(pattern=rf"^({_ONE_STATUS})(,({_ONE_STATUS}))*$")]

EXAMPLE: Final[dict[str, Any]] = {
    "incident_id": "alert-611af193d3a26350-1796172094",
    "system_id": "support-summarizer",
    "status": "reported",
    "severity": "critical",
    "category": "safety",
    "summary": "Safety classifier flagged 4% of summaries in the last hour",
    "serious": False,
    "opened_by": "alert",
    "reported_by": "monitoring route high-safety-incident",
    "version": "2026.11.3",
    "reported_at": "2026-11-20T09:42:00Z",
    "updated_at": "2026-11-20T09:42:00Z",
}


def not_known(incident_id: str) -> ProblemError:
    """The 404 of an incident id intake has no record of (or the caller may not see)."""
    return ProblemError(
        404,
        f"no incident {incident_id!r} is known (neither reported through intake nor opened "
        "by the monitoring router)",
    )


async def reader(principal: Caller) -> Principal:
    """A rate-limited principal holding a role that may read incidents (403 otherwise)."""
    if not principal.has_any_role(READ_ROLES):
        names = ", ".join(sorted(role.value for role in READ_ROLES))
        raise ProblemError(
            403, f"principal {principal.name!r} lacks a required role (one of: {names})"
        )
    return principal


Reader = Annotated[Principal, Depends(reader)]


def incident_out(record: IncidentRecord) -> IncidentOut:
    """The public form of an incident record."""
    return IncidentOut.model_validate(record, from_attributes=True)


def _statuses(values: list[str] | None) -> list[str]:
    return [status for value in values or () for status in value.split(",")]


@router.get(
    "/incidents",
    summary="List incidents (reported through intake or opened from alerts)",
    response_model=IncidentList,
    responses={
        200: {"content": {"application/json": {"example": {"incidents": [EXAMPLE]}}}},
        **problem_responses(401, 403, 422, 429),
    },
)
async def list_incidents(
    request: Request,
    principal: Reader,
    system: Annotated[
        str | None,
        Query(
            pattern=SYSTEM_ID_PATTERN, description="AI system id.", examples=["support-summarizer"]
        ),
    ] = None,
    status: Annotated[
        list[StatusList] | None,
        Query(
            description="Status (`reported`, `acknowledged`, `contained`, `resolved`): "
            "repeatable, or a comma list (`reported,acknowledged`).",
        ),
    ] = None,
    opened_by: Annotated[
        incidents.OpenedBy | None,
        Query(description="`report` (through intake) or `alert` (by the monitoring router)."),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"At most this many (1 to {MAX_LIMIT}).")
    ] = 100,
) -> IncidentList:
    """The incidents the caller may see, newest report first, filtered by system, status
    and who opened them. Unknown query parameters are refused (422)."""
    wanted = incidents.IncidentFilter(
        system_id=system, statuses=_statuses(status), opened_by=opened_by, limit=limit
    )
    found = await incidents.list_incidents(sessionmaker(request), principal, wanted)
    return IncidentList(incidents=[incident_out(record) for record in found])


@router.get(
    "/incidents/{incident_id}",
    summary="One incident",
    response_model=IncidentOut,
    responses={
        200: {"content": {"application/json": {"example": EXAMPLE}}},
        **problem_responses(401, 403, 404, 422, 429),
    },
)
async def get_incident(request: Request, incident_id: str, principal: Reader) -> IncidentOut:
    """The incident, or 404 when intake knows no such incident (or it is outside the
    caller's scope)."""
    record = None
    if known_id(incident_id):
        record = await incidents.get_incident(sessionmaker(request), principal, incident_id)
    if record is None:
        raise not_known(incident_id)
    return incident_out(record)
