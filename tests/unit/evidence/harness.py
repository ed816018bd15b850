"""A running evidence service for tests (either bus), and the tokens its tests use."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aigov_events.message import DomainEvent
from aigov_events.producer import Publisher
from aigov_evidence.app import create_app
from aigov_evidence.settings import Settings
from aigov_runtime.testing import running_lifespan

TOKENS: dict[str, tuple[str, list[str]]] = {
    "tok-reader-0123456789abcdef": ("dashboard", ["reader"]),
    "tok-publisher-0123456789abc": ("ci-bot", ["publisher"]),
    "tok-owner-0123456789abcdefg": ("dana.kim", ["owner"]),
}
READER = "tok-reader-0123456789abcdef"
PUBLISHER = "tok-publisher-0123456789abc"
OWNER = "tok-owner-0123456789abcdefg"
AUTH_TOKENS = SecretStr(
    json.dumps({t: {"principal": p, "roles": r} for t, (p, r) in TOKENS.items()})
)


def auth(token: str) -> dict[str, str]:
    """The Authorization header for `token`."""
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Harness:
    """A running evidence service, its HTTP client, and what the tests need around it."""

    app: FastAPI
    client: httpx.AsyncClient
    publisher: Publisher
    sessionmaker: async_sessionmaker[AsyncSession]
    engine: AsyncEngine
    settings: Settings

    async def publish(self, *events: DomainEvent[Any]) -> None:
        """Publish events and wait until the ledger recorded each of them."""
        for event in events:
            await self.publisher.publish(event)
        for event in events:
            await self.wait_recorded(event.id)

    async def wait_recorded(self, event_id: str, *, within: float = 30.0) -> dict[str, Any]:
        """Poll `GET /v1/events/{id}` until the event is recorded."""
        async with asyncio.timeout(within):
            while True:
                response = await self.client.get(f"/v1/events/{event_id}", headers=auth(READER))
                if response.status_code == 200:
                    body: dict[str, Any] = response.json()
                    return body
                assert response.status_code == 404, response.text
                await asyncio.sleep(0.05)

    async def gate(self, system: str, version: str) -> dict[str, Any]:
        """Record a gate decision (as CI does) and wait until its gate.decided is in the ledger."""
        response = await self.client.post(
            "/v1/gate/decisions",
            json={"system": system, "version": version},
            headers=auth(PUBLISHER),
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["gate_event_id"] is not None:
            await self.wait_recorded(body["gate_event_id"])
        return body


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[Harness]:
    """Run the evidence app (lifespan included) with a client bound to it in-process."""
    app = create_app(settings)
    async with running_lifespan(app) as state:

        async def with_state(scope: Any, receive: Any, send: Any) -> None:
            # Like uvicorn: each request sees the lifespan state.
            await app({**scope, "state": dict(state)}, receive, send)

        transport = httpx.ASGITransport(app=with_state)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Harness(
                app,
                client,
                state["publisher"],
                state["sessionmaker"],
                state["engine"],
                settings,
            )
