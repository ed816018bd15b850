"""Test helpers: run an app's lifespan and talk to it in-process, as uvicorn would host it.

Starlette's `TestClient` is deprecated on plain httpx (and warnings are errors in our test
suites), and `httpx.ASGITransport` does not run the lifespan; `app_client` does both:

    async with app_client(create_app(settings)) as client:
        assert (await client.get("/readyz")).status_code == 200
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["LifespanFailed", "app_client", "running_lifespan"]


class LifespanFailed(RuntimeError):
    """The app reported `lifespan.startup.failed` or `lifespan.shutdown.failed`."""


@asynccontextmanager
async def running_lifespan(app: ASGIApp) -> AsyncIterator[dict[str, Any]]:
    """Run the app's ASGI lifespan startup, yield its state, then run shutdown."""
    state: dict[str, Any] = {}
    scope: Scope = {
        "type": "lifespan",
        "asgi": {"version": "3.0", "spec_version": "2.0"},
        "state": state,
    }
    to_app: asyncio.Queue[Message] = asyncio.Queue()
    from_app: asyncio.Queue[Message] = asyncio.Queue()

    async def run_app() -> None:
        await app(scope, to_app.get, from_app.put)

    task = asyncio.create_task(run_app())

    async def exchange(message_type: str) -> None:
        await to_app.put({"type": message_type})
        reply = asyncio.ensure_future(from_app.get())
        done, _ = await asyncio.wait({reply, task}, return_when=asyncio.FIRST_COMPLETED)
        if reply not in done:
            reply.cancel()
            task.result()  # re-raises what the app raised
            raise LifespanFailed(f"app exited during {message_type} without answering")
        answer = reply.result()
        if answer["type"].endswith(".failed"):
            # Starlette re-raises the original error right after reporting the failure.
            await asyncio.wait({task}, timeout=5)
            cause = task.exception() if task.done() and not task.cancelled() else None
            task.cancel()
            raise LifespanFailed(answer.get("message", "")) from cause

    await exchange("lifespan.startup")
    try:
        yield state
    finally:
        await exchange("lifespan.shutdown")
        await task


def _with_state(app: ASGIApp, state: dict[str, Any]) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        # Like uvicorn: each request sees a shallow copy of the lifespan state.
        await app({**scope, "state": dict(state)}, receive, send)

    return wrapped


@asynccontextmanager
async def app_client(
    app: ASGIApp, *, base_url: str = "http://testserver", headers: dict[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client bound in-process to `app`, with its lifespan running around it."""
    async with running_lifespan(app) as state:
        transport = httpx.ASGITransport(app=_with_state(app, state))
        async with httpx.AsyncClient(
            transport=transport, base_url=base_url, headers=headers
        ) as client:
            yield client
