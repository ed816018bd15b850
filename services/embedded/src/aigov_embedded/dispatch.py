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
from starlette.datastructures import MutableHeaders
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aigov_runtime.docs import DOCS_PATHS, DOCS_PREFIX

# Served by the all-in-one app itself (aggregated), never by one service.
OWN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json"} | DOCS_PATHS)
# Every service serves the same docs assets; the all-in-one's own are served under these.
OWN_PREFIXES = (DOCS_PREFIX,)
_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


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
        if scope["path"] in OWN_PATHS or scope["path"].startswith(OWN_PREFIXES):
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

    def allowed_methods(self, scope: Scope) -> list[str]:
        """Every method some service serves at the request's path (a 405's `Allow`)."""
        return [
            method
            for method in _METHODS
            if any(
                route.matches({**scope, "method": method})[0] is Match.FULL
                for service in self._services
                for route in service.app.router.routes
            )
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch one ASGI connection (lifespan goes to the fallback app, which runs all)."""
        service = self.target(scope) if scope["type"] in ("http", "websocket") else None
        if service is None:
            await self._fallback(scope, receive, send)
            return
        if scope["type"] == "http":
            send = self._with_full_allow(scope, send)
        # Like uvicorn does for one app: each request sees a shallow copy of the lifespan state.
        await service.app({**scope, "state": dict(service.state)}, receive, send)

    def _with_full_allow(self, scope: Scope, send: Send) -> Send:
        """`send`, with a 405's Allow naming the methods of every service on that path.

        A path two services share by method (intake POST /v1/systems, evidence GET) goes to
        one of them on a method neither serves; that service's 405 knows only its own routes.
        """

        async def patched(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                headers = MutableHeaders(scope=message)
                headers["allow"] = ", ".join(self.allowed_methods(scope))
            await send(message)

        return patched


def merged_states(services: Sequence[HostedService]) -> Mapping[str, Mapping[str, Any]]:
    """Each service's lifespan state by service name (for readiness and diagnostics)."""
    return {service.name: service.state for service in services}
