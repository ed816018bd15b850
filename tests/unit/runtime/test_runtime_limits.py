"""Request body limit: by Content-Length up front, by counting streamed chunks, never reading past."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Request
from starlette.types import Message, Receive, Scope, Send

from aigov_runtime.limits import BodySizeLimitMiddleware
from aigov_runtime.testing import app_client

AppFactory = Callable[..., FastAPI]

LIMIT = 1000


def upload_router() -> APIRouter:
    router = APIRouter()

    @router.post("/artifacts")
    async def upload(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    @router.post("/manifests")
    async def manifest(body: dict[str, Any]) -> dict[str, int]:
        return {"keys": len(body)}

    return router


async def chunks(count: int, size: int) -> AsyncIterator[bytes]:
    """A body without Content-Length: httpx sends it with Transfer-Encoding: chunked."""
    for _ in range(count):
        yield b"x" * size


class RecordingASGI:
    """Drives an ASGI app by hand: feeds body chunks, records how many it pulled and what it sent."""

    def __init__(self, body_chunks: list[bytes], headers: list[tuple[bytes, bytes]]) -> None:
        self.pending = list(body_chunks)
        self.pulled = 0
        self.sent: list[Message] = []
        self.scope: Scope = {
            "type": "http",
            "method": "POST",
            "path": "/artifacts",
            "headers": headers,
            "query_string": b"",
        }

    async def receive(self) -> Message:
        self.pulled += 1
        body = self.pending.pop(0) if self.pending else b""
        return {"type": "http.request", "body": body, "more_body": bool(self.pending)}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(next(m for m in self.sent if m["type"] == "http.response.start")["status"])

    @property
    def body(self) -> dict[str, Any]:
        raw = b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")
        parsed: dict[str, Any] = json.loads(raw)
        return parsed


async def read_everything(scope: Scope, receive: Receive, send: Send) -> None:
    """An app that reads its whole body, then answers 200."""
    while True:
        message = await receive()
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


@pytest.mark.asyncio
class TestMiddlewareDirectly:
    async def test_declared_length_over_limit_is_refused_without_reading(self) -> None:
        driver = RecordingASGI([b"x" * 2000], [(b"content-length", b"2000")])
        await BodySizeLimitMiddleware(read_everything, max_bytes=LIMIT)(
            driver.scope, driver.receive, driver.send
        )
        assert driver.status == 413
        assert driver.pulled == 0
        assert driver.body["max_bytes"] == LIMIT

    async def test_streamed_body_stops_being_read_once_over_limit(self) -> None:
        driver = RecordingASGI([b"x" * 400] * 10, [(b"transfer-encoding", b"chunked")])
        await BodySizeLimitMiddleware(read_everything, max_bytes=LIMIT)(
            driver.scope, driver.receive, driver.send
        )
        assert driver.status == 413
        # 400 + 400 + 400 passes 1000 on the third chunk; the remaining seven are never pulled.
        assert driver.pulled == 3
        assert [m["type"] for m in driver.sent].count("http.response.start") == 1

    async def test_body_at_the_limit_passes(self) -> None:
        driver = RecordingASGI([b"x" * 500, b"x" * 500], [])
        await BodySizeLimitMiddleware(read_everything, max_bytes=LIMIT)(
            driver.scope, driver.receive, driver.send
        )
        assert driver.status == 200

    @pytest.mark.parametrize("value", [b"abc", b"-1", b"1e3"])
    async def test_malformed_content_length_is_400(self, value: bytes) -> None:
        driver = RecordingASGI([b"x"], [(b"content-length", value)])
        await BodySizeLimitMiddleware(read_everything, max_bytes=LIMIT)(
            driver.scope, driver.receive, driver.send
        )
        assert driver.status == 400
        assert driver.pulled == 0

    async def test_conflicting_content_lengths_are_400(self) -> None:
        driver = RecordingASGI([b"x"], [(b"content-length", b"1"), (b"content-length", b"2")])
        await BodySizeLimitMiddleware(read_everything, max_bytes=LIMIT)(
            driver.scope, driver.receive, driver.send
        )
        assert driver.status == 400


@pytest.mark.asyncio
class TestThroughTheApp:
    async def test_content_length_over_limit_is_413_problem(self, make_app: AppFactory) -> None:
        async with app_client(make_app(upload_router(), max_request_bytes=LIMIT)) as client:
            response = await client.post("/artifacts", content=b"x" * (LIMIT + 1))
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["title"] == "Content Too Large"
        assert response.headers["connection"] == "close"

    async def test_chunked_body_over_limit_is_413_problem(self, make_app: AppFactory) -> None:
        async with app_client(make_app(upload_router(), max_request_bytes=LIMIT)) as client:
            response = await client.post("/artifacts", content=chunks(count=5, size=300))
        assert response.status_code == 413
        assert response.json()["max_bytes"] == LIMIT

    async def test_chunked_json_over_limit_is_413_not_400(self, make_app: AppFactory) -> None:
        # FastAPI turns body-reading errors into 400 unless they are HTTP exceptions.
        async with app_client(make_app(upload_router(), max_request_bytes=LIMIT)) as client:
            response = await client.post(
                "/manifests",
                content=chunks(count=5, size=300),
                headers={"Content-Type": "application/json"},
            )
        assert response.status_code == 413

    async def test_bodies_within_the_limit_pass(self, make_app: AppFactory) -> None:
        async with app_client(make_app(upload_router(), max_request_bytes=LIMIT)) as client:
            fixed = await client.post("/artifacts", content=b"x" * LIMIT)
            streamed = await client.post("/artifacts", content=chunks(count=4, size=250))
        assert (fixed.status_code, fixed.json()) == (200, {"received": LIMIT})
        assert (streamed.status_code, streamed.json()) == (200, {"received": LIMIT})
