"""build_service_app: lifespan composition, readiness from state, OpenAPI conventions."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypedDict

import pytest
from fastapi import APIRouter, FastAPI, Request
from httpx import ASGITransport, AsyncClient
from pydantic import BaseModel

from aigov_runtime import heap
from aigov_runtime.app import build_service_app
from aigov_runtime.auth import CurrentPrincipal
from aigov_runtime.health import ReadinessChecks
from aigov_runtime.settings import ServiceSettings
from aigov_runtime.testing import LifespanFailed, app_client

SettingsFactory = Callable[..., ServiceSettings]
LogLines = Callable[[], list[dict[str, Any]]]


class State(TypedDict):
    resource: str


class Payload(BaseModel):
    name: str


def state_router() -> APIRouter:
    router = APIRouter(prefix="/v1")

    @router.get("/resource")
    async def resource(request: Request) -> dict[str, str]:
        return {"resource": request.state.resource}

    @router.post("/things")
    async def create_thing(body: Payload, principal: CurrentPrincipal) -> dict[str, str]:
        return {"name": body.name, "by": principal.name}

    return router


@pytest.mark.asyncio
class TestLifespan:
    async def test_service_lifespan_runs_inside_the_runtime_one(
        self, make_settings: SettingsFactory, log_lines: LogLines
    ) -> None:
        events: list[str] = []
        seen_state: list[State] = []

        @asynccontextmanager
        async def lifespan(_app: FastAPI) -> AsyncIterator[State]:
            events.append("service-open")
            yield {"resource": "pool-1"}
            events.append("service-close")

        def checks(state: State) -> ReadinessChecks:
            seen_state.append(state)

            async def resource_check() -> None:
                events.append("checked")

            return {"resource": resource_check}

        app = build_service_app(
            service="test",
            title="t",
            version="1.2.3",
            settings=make_settings(),
            readiness_checks=checks,
            lifespan=lifespan,
            routers=[state_router()],
        )
        async with app_client(app) as client:
            assert (await client.get("/v1/resource")).json() == {"resource": "pool-1"}
            ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert seen_state == [{"resource": "pool-1"}]
        assert events == ["service-open", "checked", "service-close"]
        messages = [
            line["message"] for line in log_lines() if line["logger"] == "aigov_runtime.app"
        ]
        assert messages == [
            "test 1.2.3 starting",
            "test ready to serve",
            "test shutting down",
            "test stopped",
        ]

    async def test_readyz_is_not_ready_after_shutdown(
        self, make_app: Callable[..., FastAPI]
    ) -> None:
        app = make_app()
        async with app_client(app) as client:
            assert (await client.get("/readyz")).status_code == 200
        # The lifespan has ended; talk to the app directly, as a late request would.
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
            assert (await client.get("/readyz")).status_code == 503

    async def test_a_running_app_freezes_its_startup_heap_and_collects_young_garbage_late(
        self, make_app: Callable[..., FastAPI]
    ) -> None:
        saved = gc.get_threshold()
        gc.set_threshold(700, 10, 10)
        try:
            async with app_client(make_app()):
                assert gc.get_threshold() == (heap.YOUNG_THRESHOLD, 10, 10)
                assert gc.get_freeze_count() > 0
            # Stopped: what was frozen goes back to the collector, the threshold stays.
            assert gc.get_freeze_count() == 0
        finally:
            gc.set_threshold(*saved)

    async def test_a_collector_switched_off_stays_off(
        self, make_app: Callable[..., FastAPI]
    ) -> None:
        saved = gc.get_threshold()
        gc.set_threshold(0)
        try:
            async with app_client(make_app()):
                assert gc.get_threshold()[0] == 0
        finally:
            gc.set_threshold(*saved)

    async def test_failing_service_startup_fails_the_app(
        self, make_settings: SettingsFactory
    ) -> None:
        @asynccontextmanager
        async def lifespan(_app: FastAPI) -> AsyncIterator[State]:
            raise ConnectionError("database unreachable")
            yield {"resource": "never"}

        app = build_service_app(
            service="test",
            title="t",
            version="0",
            settings=make_settings(),
            readiness_checks={},
            lifespan=lifespan,
        )
        with pytest.raises(LifespanFailed) as caught:
            async with app_client(app):
                pass
        assert isinstance(caught.value.__cause__, ConnectionError)


@pytest.mark.asyncio
class TestOpenApi:
    async def test_bearer_scheme_and_problem_schema_are_declared(
        self, make_app: Callable[..., FastAPI]
    ) -> None:
        async with app_client(make_app(state_router())) as client:
            document = (await client.get("/openapi.json")).json()
        components = document["components"]
        assert components["securitySchemes"]["bearerAuth"] == {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "opaque",
            "description": components["securitySchemes"]["bearerAuth"]["description"],
        }
        assert "ProblemDetail" in components["schemas"]
        assert "FieldError" in components["schemas"]
        create = document["paths"]["/v1/things"]["post"]
        assert create["security"] == [{"bearerAuth": []}]
        assert list(create["responses"]["422"]["content"]) == ["application/problem+json"]
        assert "HTTPValidationError" not in components["schemas"]

    async def test_scheme_is_declared_even_without_protected_routes(
        self, make_app: Callable[..., FastAPI]
    ) -> None:
        app = make_app(metrics_public=True)
        assert "bearerAuth" in app.openapi()["components"]["securitySchemes"]

    async def test_every_route_has_a_docstring_description(
        self, make_app: Callable[..., FastAPI]
    ) -> None:
        for path, operations in make_app().openapi()["paths"].items():
            for operation in operations.values():
                assert operation.get("description"), path
