"""Request body size limit, enforced before and while the body is read.

A declared `Content-Length` over the limit is refused without reading a byte; a body without one
(chunked) is counted as it streams and refused as soon as the count passes the limit, so nothing
past the limit is ever read or buffered. YAML bodies (by Content-Type) get their own, lower limit:
parsing YAML costs far more CPU per byte than JSON, so a large one is refused unread.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aigov_runtime.errors import ProblemError, problem_response

__all__ = ["YAML_MEDIA_TYPES", "BodySizeLimitMiddleware", "RequestBodyTooLarge", "is_yaml"]

YAML_MEDIA_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})


# The unread rest of the body makes the connection unusable for another request.
_CLOSE = {"Connection": "close"}


def _detail(max_bytes: int, *, yaml: bool = False) -> str:
    if yaml:
        return f"YAML request body exceeds the limit of {max_bytes} bytes (AIGOV_MAX_YAML_BYTES)"
    return f"request body exceeds the limit of {max_bytes} bytes"


def is_yaml(media_type: str) -> bool:
    """True for the YAML media types (and any `+yaml` suffix), given without parameters."""
    return media_type in YAML_MEDIA_TYPES or media_type.endswith("+yaml")


class RequestBodyTooLarge(ProblemError):
    """Raised from `receive()` once the streamed body passes the limit.

    An HTTPException so FastAPI's body parsing re-raises it untouched and the problem handler
    renders it as 413, whichever layer catches it first.
    """

    def __init__(self, max_bytes: int, *, yaml: bool = False) -> None:
        super().__init__(413, _detail(max_bytes, yaml=yaml), headers=_CLOSE, max_bytes=max_bytes)
        self.max_bytes = max_bytes
        self.yaml = yaml


class BodySizeLimitMiddleware:
    """ASGI middleware answering 413 problem+json to bodies over `max_bytes` (YAML: `max_yaml_bytes`)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_yaml_bytes: int | None = None) -> None:
        if max_bytes < 0 or (max_yaml_bytes is not None and max_yaml_bytes < 0):
            raise ValueError("max_bytes and max_yaml_bytes must be >= 0")
        self.app = app
        self.max_bytes = max_bytes
        self.max_yaml_bytes = max_yaml_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with a byte-counting `receive`, or refuse it outright."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        declared = _declared_length(scope)
        if declared == -1:
            await problem_response(400, detail="invalid Content-Length header")(
                scope, receive, send
            )
            return
        yaml, limit = False, self.max_bytes
        if self.max_yaml_bytes is not None and is_yaml(_media_type(scope)):
            yaml, limit = True, min(limit, self.max_yaml_bytes)
        if declared is not None and declared > limit:
            await _too_large(limit, yaml=yaml)(scope, receive, send)
            return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise RequestBodyTooLarge(limit, yaml=yaml)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except RequestBodyTooLarge:
            if response_started:
                raise
            await _too_large(limit, yaml=yaml)(scope, receive, send)


def _too_large(max_bytes: int, *, yaml: bool = False) -> ASGIApp:
    return problem_response(
        413, detail=_detail(max_bytes, yaml=yaml), headers=_CLOSE, max_bytes=max_bytes
    )


def _media_type(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media_type: str = value.decode("latin-1").split(";", 1)[0].strip().lower()
            return media_type
    return ""


def _declared_length(scope: Scope) -> int | None:
    """The Content-Length, None when absent, -1 when malformed or ambiguous."""
    values = [value for name, value in scope.get("headers", ()) if name == b"content-length"]
    if not values:
        return None
    if len(set(values)) != 1:
        return -1
    raw = values[0].strip()
    if not raw.isdigit():
        return -1
    return int(raw)
