"""Unknown query parameters of a read are refused (422), not silently ignored.

A misspelt filter (`?sytem=x`) that is ignored answers with everything, which a person or a
dashboard then takes for the filtered answer. Every `GET` route of every service declares its
query parameters (FastAPI `Query`), so the names it accepts are known from the route itself;
this app-level dependency compares them with what the request carries.

Only reads are checked: webhook `POST`s read tool-specific parameters (`?system=`,
`?region=`) themselves, and a tool's extra parameters must not break its delivery.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from aigov_runtime.errors import FieldError, ProblemError

__all__ = ["reject_unknown_query_parameters"]

_CHECKED_METHODS = frozenset({"GET", "HEAD"})


def _declared(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _declared(sub)
    return names


async def reject_unknown_query_parameters(request: Request) -> None:
    """422 naming every query parameter the matched read route does not declare."""
    if request.method not in _CHECKED_METHODS or not request.query_params:
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    allowed = _declared(route.dependant)
    unknown = sorted({name for name in request.query_params if name not in allowed})
    if not unknown:
        return
    accepted = ", ".join(sorted(allowed)) or "none"
    raise ProblemError(
        422,
        f"unknown query parameter{'s' if len(unknown) != 1 else ''} "
        f"{', '.join(repr(name) for name in unknown)}; this endpoint accepts: {accepted}",
        errors=[
            FieldError(
                loc=["query", name], msg="unknown query parameter", type="extra_forbidden"
            ).model_dump()
            for name in unknown
        ],
    )
