"""Drive an ASGI app's lifespan from Python: for tests, and for hosting apps inside another.

The all-in-one server runs each service's app, with its own lifespan and state, inside one
process; tests run an app's lifespan around an in-process client.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.types import ASGIApp, Message, Scope

__all__ = ["LifespanFailed", "running_lifespan"]


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
