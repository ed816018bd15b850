"""Errors as RFC 9457 problem details (`application/problem+json`).

Every error a service returns has the same shape: `type`, `title`, `status`, `detail`, plus
`trace_id` (to find the request's logs and trace) and, for 422, `errors` listing each field.
Unexpected exceptions become a generic 500: logged in full server-side, never echoed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aigov_runtime.metrics import route_template

__all__ = [
    "PROBLEM_JSON",
    "FieldError",
    "ProblemDetail",
    "ProblemError",
    "UnhandledErrorMiddleware",
    "install_problem_handlers",
    "problem_response",
    "problem_responses",
]

logger = logging.getLogger(__name__)

PROBLEM_JSON: Final = "application/problem+json"

# RFC 9110 renamed these; Python's HTTPStatus still has the RFC 7231 phrases.
_TITLES: Final[Mapping[int, str]] = {413: "Content Too Large", 422: "Unprocessable Content"}


class FieldError(BaseModel):
    """One invalid input: where it is (`loc`, e.g. `["body", "manifest", "owner"]`) and why."""

    loc: list[str | int]
    msg: str
    type: str


class ProblemDetail(BaseModel):
    """An RFC 9457 problem detail; declare it in `responses=` so OpenAPI documents errors."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(default="about:blank", description="URI identifying the problem type.")
    title: str = Field(description="Short summary of the problem type.")
    status: int = Field(description="HTTP status code.")
    detail: str | None = Field(default=None, description="What went wrong with this request.")
    instance: str | None = Field(default=None, description="URI of this occurrence.")
    trace_id: str | None = Field(
        default=None, description="W3C trace id of the request, to find its logs and trace."
    )
    errors: list[FieldError] | None = Field(
        default=None, description="Each invalid field (validation errors only)."
    )


class ProblemError(HTTPException):
    """Raise to answer with a problem detail carrying a specific `type` and extension members."""

    def __init__(
        self,
        status_code: int,
        detail: str,
        *,
        type: str = "about:blank",
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(status_code=status_code, detail=detail, headers=headers)
        self.type = type
        self.title = title
        self.extensions = extensions


def _title(status: int) -> str:
    if status in _TITLES:
        return _TITLES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def problem_response(
    status: int,
    *,
    detail: str | None = None,
    title: str | None = None,
    type: str = "about:blank",
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """Build an `application/problem+json` response for `status`."""
    body = ProblemDetail(
        type=type,
        title=title or _title(status),
        status=status,
        detail=detail,
        trace_id=_current_trace_id(),
        **extensions,
    )
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=status,
        headers=dict(headers) if headers else None,
        media_type=PROBLEM_JSON,
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries documenting that a route may answer `statuses` with a problem."""
    return {
        status: {
            "description": _title(status),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}},
        }
        for status in statuses
    }


_METHODS: Final = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app serves at the request's path (for a 405's `Allow`)."""
    routes = request.app.router.routes
    # Asked of the routes themselves (FastAPI nests included routers), one method at a time.
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


async def _http_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code < 200 or exc.status_code in (204, 304):
        # These statuses cannot carry a body.
        return Response(status_code=exc.status_code, headers=exc.headers)
    if exc.status_code == 405:
        # Starlette's Allow names only the first route whose path matched; RFC 9110 §15.5.6
        # wants every method the resource supports (e.g. GET and POST on /v1/silences).
        headers = dict(exc.headers or {})
        headers["Allow"] = ", ".join(allowed_methods(request)) or headers.get("Allow", "")
        exc = HTTPException(405, detail=exc.detail, headers=headers)
    if isinstance(exc, ProblemError):
        return problem_response(
            exc.status_code,
            detail=exc.detail,
            title=exc.title,
            type=exc.type,
            headers=exc.headers,
            **exc.extensions,
        )
    if isinstance(exc.detail, str):
        detail = exc.detail
        extensions: dict[str, Any] = {}
    else:
        # Structured details (e.g. from third-party dependencies) travel as an extension.
        detail = _title(exc.status_code)
        extensions = {"context": exc.detail}
    return problem_response(exc.status_code, detail=detail, headers=exc.headers, **extensions)


async def _validation_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # `input` and `ctx` are dropped on purpose: they echo client data, which may hold secrets.
    errors = [
        FieldError(
            loc=[part if isinstance(part, int) else str(part) for part in error.get("loc", ())],
            msg=str(error.get("msg", "invalid")),
            type=str(error.get("type", "value_error")),
        )
        for error in exc.errors()
    ]
    return problem_response(
        422, detail=validation_summary(errors), errors=[error.model_dump() for error in errors]
    )


def validation_summary(errors: list[FieldError], *, shown: int = 3) -> str:
    """A one-line `detail` naming the first failing fields and why (`query.limit: …`).

    The messages are pydantic's, which state the bound (`less than or equal to 500`) without
    echoing the client's value.
    """
    count = len(errors)
    head = "; ".join(
        f"{'.'.join(str(part) for part in error.loc)}: {error.msg}" for error in errors[:shown]
    )
    more = f"; and {count - shown} more" if count > shown else ""
    summary = f"request validation failed ({count} error{'s' if count != 1 else ''})"
    return f"{summary}: {head}{more}" if head else summary


def _log_unhandled(scope: Scope, exc: BaseException) -> None:
    span = trace.get_current_span()
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
    logger.error(
        "unhandled %s while serving %s %s",
        type(exc).__name__,
        scope.get("method", "?"),
        route_template(scope),
        exc_info=exc,
    )


def _generic_500() -> JSONResponse:
    return problem_response(500, detail="internal error; quote the trace_id when reporting it")


async def _unhandled_exception_handler(request: Request, exc: Exception) -> Response:
    # Reached only for errors raised outside UnhandledErrorMiddleware (e.g. in outer middleware).
    _log_unhandled(request.scope, exc)
    return _generic_500()


class UnhandledErrorMiddleware:
    """Turns an exception escaping the app into a logged, generic problem+json 500.

    Starlette's own last-resort handler re-raises after answering, which makes the server log
    the same error a second time without our trace id; this middleware ends it here.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request; answer 500 if the app fails before starting its response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            _log_unhandled(scope, exc)
            if response_started:
                # Too late for a clean error; let the server abort the connection.
                raise
            await _generic_500()(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    """Make `app` answer HTTP and validation errors with problem details.

    Pair it with `UnhandledErrorMiddleware` (innermost) so crashes become problem details too.
    """
    app.add_exception_handler(HTTPException, _http_exception_handler)
    app.add_exception_handler(RequestValidationError, _validation_exception_handler)
    app.add_exception_handler(Exception, _unhandled_exception_handler)
