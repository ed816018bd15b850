"""Test helpers: run an app's lifespan and talk to it in-process, as uvicorn would host it.

Starlette's `TestClient` is deprecated on plain httpx (and warnings are errors in our test
suites), and `httpx.ASGITransport` does not run the lifespan; `app_client` does both:

    async with app_client(create_app(settings)) as client:
        assert (await client.get("/readyz")).status_code == 200
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from aigov_runtime.asgi import LifespanFailed, running_lifespan

__all__ = ["LifespanFailed", "app_client", "running_lifespan"]


def _with_state(app: ASGIApp, state: dict[str, Any]) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        # Like uvicorn: each request sees a shallow copy of the lifespan state.
        await app({**scope, "state": dict(state)}, receive, send)

    return wrapped


@asynccontextmanager
async def app_client(
    app: ASGIApp, *, base_url: str = "http://127.0.0.1", headers: dict[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client bound in-process to `app`, with its lifespan running around it.

    The default base URL names a loopback host, as a local client would: apps on the dev
    tokens refuse other Host names (DNS rebinding), `testserver` included.
    """
    async with running_lifespan(app) as state:
        transport = httpx.ASGITransport(app=_with_state(app, state))
        async with httpx.AsyncClient(
            transport=transport, base_url=base_url, headers=headers
        ) as client:
            yield client
