"""Tracing setup: one SDK provider per process, spans for app requests, probes left out."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import APIRouter, FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from aigov_runtime.telemetry import configure_tracing
from aigov_runtime.testing import app_client


def test_configure_tracing_is_idempotent() -> None:
    first = configure_tracing("one")
    second = configure_tracing("two")
    assert first is second
    assert isinstance(first, TracerProvider)
    assert trace.get_tracer_provider() is first


def traced_router() -> APIRouter:
    router = APIRouter()

    @router.get("/traced")
    async def traced() -> dict[str, str]:
        context = trace.get_current_span().get_span_context()
        return {"trace_id": format(context.trace_id, "032x") if context.is_valid else ""}

    return router


@pytest.mark.asyncio
async def test_requests_run_inside_a_server_span_that_honours_traceparent(
    make_app: Callable[..., FastAPI],
) -> None:
    parent_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    async with app_client(make_app(traced_router())) as client:
        fresh = (await client.get("/traced")).json()["trace_id"]
        continued = await client.get(
            "/traced", headers={"traceparent": f"00-{parent_trace}-00f067aa0ba902b7-01"}
        )
    assert len(fresh) == 32
    assert continued.json()["trace_id"] == parent_trace


@pytest.mark.asyncio
async def test_probes_are_not_traced(make_app: Callable[..., FastAPI]) -> None:
    async with app_client(make_app()) as client:
        response = await client.get("/no-such-route")
        probe = await client.get("/metrics")
    assert "trace_id" in response.json()
    assert "trace_id" not in probe.json()
