"""/healthz, /readyz (concurrent checks with timeouts) and /metrics (auth, route templates)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable

import pytest
from fastapi import APIRouter, FastAPI
from httpx import ASGITransport, AsyncClient

from aigov_runtime.auth import Role
from aigov_runtime.health import ReadinessChecks, run_readiness_checks
from aigov_runtime.testing import app_client

AppFactory = Callable[..., FastAPI]
AuthHeader = Callable[[Role], dict[str, str]]


async def passes() -> None:
    """A dependency that is fine."""


async def fails() -> None:
    """A dependency that refuses connections, with a secret in its error text."""
    raise ConnectionRefusedError("connect to postgresql://aigov:hunter2@db:5432 refused")


async def hangs() -> None:
    """A dependency that never answers."""
    await asyncio.sleep(60)


def sample_for(text: str, name: str, **labels: str) -> float | None:
    """The value of one Prometheus sample in an exposition text, None when absent."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name + "{"):
            continue
        # rindex: route templates contain braces themselves.
        found = dict(re.findall(r'(\w+)="([^"]*)"', line[line.index("{") : line.rindex("}")]))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def items_router() -> APIRouter:
    """Routes under nested prefixes, as services will organise them."""
    router = APIRouter()

    @router.get("/systems/{system_id}")
    async def get_system(system_id: str) -> dict[str, str]:
        return {"id": system_id}

    @router.post("/systems/{system_id}/artifacts")
    async def upload(system_id: str) -> dict[str, str]:
        return {"id": system_id}

    outer = APIRouter(prefix="/v1")
    outer.include_router(router, prefix="/gov")
    return outer


@pytest.mark.asyncio
class TestProbes:
    async def test_healthz_needs_nothing(self, make_app: AppFactory) -> None:
        async with app_client(make_app(readiness_checks={"database": fails})) as client:
            response = await client.get("/healthz")
        assert (response.status_code, response.json()) == (200, {"status": "ok"})

    async def test_readyz_ok_when_all_checks_pass(self, make_app: AppFactory) -> None:
        checks: ReadinessChecks = {"database": passes, "broker": passes}
        async with app_client(make_app(readiness_checks=checks)) as client:
            response = await client.get("/readyz")
        body = response.json()
        assert response.status_code == 200
        assert body["status"] == "ok"
        assert {name: check["status"] for name, check in body["checks"].items()} == {
            "database": "ok",
            "broker": "ok",
        }

    async def test_readyz_503_names_the_failing_check(self, make_app: AppFactory) -> None:
        async with app_client(
            make_app(readiness_checks={"database": fails, "broker": passes})
        ) as client:
            response = await client.get("/readyz")
        body = response.json()
        assert response.status_code == 503
        assert body["status"] == "fail"
        assert body["checks"]["broker"]["status"] == "ok"
        assert body["checks"]["database"]["status"] == "fail"
        assert "ConnectionRefusedError" in body["checks"]["database"]["error"]
        assert "hunter2" not in response.text

    async def test_readyz_503_when_a_check_times_out(self, make_app: AppFactory) -> None:
        app = make_app(readiness_checks={"broker": hangs}, readiness_timeout_seconds=0.2)
        async with app_client(app) as client:
            started = time.perf_counter()
            response = await client.get("/readyz")
            elapsed = time.perf_counter() - started
        assert response.status_code == 503
        assert response.json()["checks"]["broker"]["error"] == "timed out after 0.2s"
        assert elapsed < 2

    async def test_readyz_503_before_startup(self, make_app: AppFactory) -> None:
        app = make_app(readiness_checks={"database": passes})
        # No lifespan: the app is not serving yet.
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
            response = await client.get("/readyz")
        assert response.status_code == 503
        assert "startup" in response.json()["checks"]

    async def test_failing_checks_are_logged_once_per_transition(
        self, make_app: AppFactory, log_lines: Callable[[], list[dict[str, object]]]
    ) -> None:
        async with app_client(make_app(readiness_checks={"database": fails})) as client:
            for _ in range(3):
                await client.get("/readyz")
        warnings = [line for line in log_lines() if line.get("check") == "database"]
        assert len(warnings) == 1


@pytest.mark.asyncio
class TestRunReadinessChecks:
    async def test_checks_run_concurrently(self) -> None:
        async def slow() -> None:
            await asyncio.sleep(0.2)

        started = time.perf_counter()
        report = await run_readiness_checks({"a": slow, "b": slow, "c": slow}, check_timeout=1)
        assert report.status == "ok"
        assert time.perf_counter() - started < 0.5

    async def test_no_checks_means_ready(self) -> None:
        report = await run_readiness_checks({}, check_timeout=1)
        assert (report.status, report.checks) == ("ok", {})


@pytest.mark.asyncio
class TestMetrics:
    async def test_metrics_require_the_reader_role(
        self, make_app: AppFactory, auth_header: AuthHeader
    ) -> None:
        async with app_client(make_app()) as client:
            anonymous = await client.get("/metrics")
            publisher = await client.get("/metrics", headers=auth_header(Role.PUBLISHER))
            reader = await client.get("/metrics", headers=auth_header(Role.READER))
            admin = await client.get("/metrics", headers=auth_header(Role.ADMIN))
        assert (anonymous.status_code, publisher.status_code) == (401, 403)
        assert (reader.status_code, admin.status_code) == (200, 200)
        assert reader.headers["content-type"].startswith("text/plain")

    async def test_metrics_can_be_public(self, make_app: AppFactory) -> None:
        async with app_client(make_app(metrics_public=True)) as client:
            response = await client.get("/metrics")
        assert response.status_code == 200

    async def test_openmetrics_is_negotiated(self, make_app: AppFactory) -> None:
        async with app_client(make_app(metrics_public=True)) as client:
            response = await client.get(
                "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
            )
        assert response.headers["content-type"].startswith("application/openmetrics-text")
        assert response.text.rstrip().endswith("# EOF")

    async def test_requests_are_counted_by_route_template(
        self, make_app: AppFactory, auth_header: AuthHeader
    ) -> None:
        app = make_app(items_router(), max_request_bytes=10)
        async with app_client(app) as client:
            await client.get("/v1/gov/systems/sys-1")
            await client.get("/v1/gov/systems/sys-2")
            await client.get("/no/such/path")
            await client.post("/v1/gov/systems/sys-3/artifacts", content=b"x" * 11)
            await client.delete("/v1/gov/systems/sys-4")
            text = (await client.get("/metrics", headers=auth_header(Role.READER))).text
        total = "aigov_http_requests_total"
        template = "/v1/gov/systems/{system_id}"
        assert sample_for(text, total, method="GET", route=template, status="200") == 2
        assert sample_for(text, total, method="DELETE", route=template, status="405") == 1
        assert sample_for(text, total, route="<unmatched>", status="404") == 1
        # Refused before routing, still attributed to its route template.
        assert (
            sample_for(text, total, method="POST", route=f"{template}/artifacts", status="413") == 1
        )
        assert "sys-1" not in text
        assert (
            sample_for(
                text,
                "aigov_http_request_duration_seconds_count",
                route=template,
                status="200",
            )
            == 2
        )

    async def test_process_wide_metrics_are_exposed_too(self, make_app: AppFactory) -> None:
        async with app_client(make_app(metrics_public=True)) as client:
            text = (await client.get("/metrics")).text
        # Collectors of the default registry (here the Python platform/GC collectors).
        assert "python_info" in text

    async def test_apps_do_not_share_counters(self, make_app: AppFactory) -> None:
        first, second = make_app(metrics_public=True), make_app(metrics_public=True)
        async with app_client(first) as client:
            await client.get("/healthz")
        async with app_client(second) as client:
            text = (await client.get("/metrics")).text
        assert sample_for(text, "aigov_http_requests_total", route="/healthz") is None
