"""Request body size limit, enforced before and while the body is read.

A declared `Content-Length` over the limit is refused without reading a byte; a body without one
(chunked) is counted as it streams and refused as soon as the count passes the limit, so nothing
past the limit is ever read or buffered.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aigov_runtime.errors import ProblemError, problem_response

__all__ = ["BodySizeLimitMiddleware", "RequestBodyTooLarge"]


# The unread rest of the body makes the connection unusable for another request.
_CLOSE = {"Connection": "close"}


def _detail(max_bytes: int) -> str:
    return f"request body exceeds the limit of {max_bytes} bytes"


class RequestBodyTooLarge(ProblemError):
    """Raised from `receive()` once the streamed body passes the limit.

    An HTTPException so FastAPI's body parsing re-raises it untouched and the problem handler
    renders it as 413, whichever layer catches it first.
    """

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, _detail(max_bytes), headers=_CLOSE, max_bytes=max_bytes)
        self.max_bytes = max_bytes


class BodySizeLimitMiddleware:
    """ASGI middleware answering 413 problem+json to request bodies over `max_bytes`."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        self.app = app
        self.max_bytes = max_bytes

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
        if declared is not None and declared > self.max_bytes:
            await _too_large(self.max_bytes)(scope, receive, send)
            return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise RequestBodyTooLarge(self.max_bytes)
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
            await _too_large(self.max_bytes)(scope, receive, send)


def _too_large(max_bytes: int) -> ASGIApp:
    return problem_response(413, detail=_detail(max_bytes), headers=_CLOSE, max_bytes=max_bytes)


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
