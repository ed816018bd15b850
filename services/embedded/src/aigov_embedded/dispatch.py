"""Send each HTTP request to the service whose routes it matches, with that service's state.

The four services keep their own app (middleware, auth, metrics, error handling) and their
own lifespan state; only the choice of app is made here. Route prefixes are disjoint by
method and path across services, so the first full match is the only one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

# Served by the all-in-one app itself (aggregated), never by one service.
OWN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/redoc"})


@dataclass
class HostedService:
    """One service's app inside the all-in-one process, and its lifespan state once started."""

    name: str
    app: FastAPI
    state: dict[str, Any] = field(default_factory=dict)


class ServiceDispatcher:
    """ASGI app: requests to a service's routes go to that service, the rest to `fallback`."""

    def __init__(self, services: Sequence[HostedService], fallback: ASGIApp) -> None:
        self._services = list(services)
        self._fallback = fallback

    def target(self, scope: Scope) -> HostedService | None:
        """The service whose routes match the request (full match first, then method-only)."""
        if scope["path"] in OWN_PATHS:
            return None
        partial: HostedService | None = None
        for service in self._services:
            for route in service.app.router.routes:
                match, _ = route.matches(scope)
                if match is Match.FULL:
                    return service
                if match is Match.PARTIAL and partial is None:
                    partial = service
        return partial

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch one ASGI connection (lifespan goes to the fallback app, which runs all)."""
        service = self.target(scope) if scope["type"] in ("http", "websocket") else None
        if service is None:
            await self._fallback(scope, receive, send)
            return
        # Like uvicorn does for one app: each request sees a shallow copy of the lifespan state.
        await service.app({**scope, "state": dict(service.state)}, receive, send)


def merged_states(services: Sequence[HostedService]) -> Mapping[str, Mapping[str, Any]]:
    """Each service's lifespan state by service name (for readiness and diagnostics)."""
    return {service.name: service.state for service in services}
