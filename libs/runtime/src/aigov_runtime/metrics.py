"""Prometheus HTTP metrics, labelled by route template so cardinality stays bounded.

Each app gets its own `CollectorRegistry` (several apps may live in one process: tests, the
embedded all-in-one) which also re-exports the process-wide default registry, where libraries
such as `aigov_events` and the process/GC collectors register.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from fastapi.routing import iter_route_contexts
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.metrics_core import Metric
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "UNMATCHED_ROUTE",
    "HttpMetrics",
    "HttpMetricsMiddleware",
    "create_registry",
    "route_template",
]

UNMATCHED_ROUTE = "<unmatched>"
"""Route label of requests no route matched (404s, scanners): one series, not one per path."""

_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _DefaultRegistryCollector:
    """Yields everything registered in the process-wide default registry."""

    def collect(self) -> Iterable[Metric]:
        """Collect the default registry's metrics."""
        return REGISTRY.collect()


def create_registry() -> CollectorRegistry:
    """A fresh registry for one app that also exposes the process-wide default registry."""
    # `*_created` series double the series count and Prometheus does not use them.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    registry = CollectorRegistry()
    registry.register(_DefaultRegistryCollector())
    return registry


class HttpMetrics:
    """The request counter, duration histogram and in-flight gauge of one app."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "aigov_http_requests",
            "HTTP requests served, by method, route template and status code.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "aigov_http_request_duration_seconds",
            "Time to serve an HTTP request (until the response is fully sent).",
            ["method", "route", "status"],
            buckets=_DURATION_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "aigov_http_requests_in_flight",
            "HTTP requests being served.",
            ["method"],
            registry=registry,
        )


def route_template(scope: Scope) -> str:
    """The template (`/systems/{system_id}`) of the route serving `scope`, prefixes included.

    Resolved by matching rather than read from `scope["route"]`: routers added with
    `include_router` keep their own un-prefixed routes there, and requests refused before
    routing (413 on Content-Length) have none at all.
    """
    router = getattr(scope.get("app"), "router", None)
    partial: str | None = None
    for context in iter_route_contexts(getattr(router, "routes", ())):
        match, _ = context.matches(scope)
        if match is Match.FULL:
            return context.path_format or UNMATCHED_ROUTE
        if match is Match.PARTIAL and partial is None:
            # Path matched but not the method (405): still that route.
            partial = context.path_format
    return partial or UNMATCHED_ROUTE


class HttpMetricsMiddleware:
    """Records every HTTP request in `HttpMetrics`; sits outermost to see every response."""

    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request and record its method, route template, status and duration."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Unknown methods would be unbounded label values.
        method = str(scope.get("method", "OTHER")).upper()
        if method not in {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}:
            method = "OTHER"
        status = 500  # what the client gets if the app fails before answering
        in_flight = self.metrics.in_flight.labels(method)
        in_flight.inc()
        started = time.perf_counter()

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            elapsed = time.perf_counter() - started
            in_flight.dec()
            labels = (method, route_template(scope), str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.duration.labels(*labels).observe(elapsed)
