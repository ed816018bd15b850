"""The four service skeletons: each serves its probes, metrics and OpenAPI on the shared runtime."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from fastapi import FastAPI
from pydantic import SecretStr

import aigov_evidence.app
import aigov_evidence.settings
import aigov_intake.app
import aigov_intake.settings
import aigov_monitoring_router.app
import aigov_monitoring_router.settings
import aigov_tiering.app
import aigov_tiering.settings
from aigov_runtime.asgi import LifespanFailed
from aigov_runtime.settings import ServiceSettings
from aigov_runtime.tags import Tag
from aigov_runtime.testing import app_client

READER_TOKEN = "skeleton-reader-Qx7vN2pLm9Zr4Kc8Wd"

SERVICES: dict[str, tuple[ModuleType, ModuleType, int]] = {
    "intake": (aigov_intake.app, aigov_intake.settings, 8081),
    "tiering": (aigov_tiering.app, aigov_tiering.settings, 8082),
    "evidence": (aigov_evidence.app, aigov_evidence.settings, 8083),
    "monitoring-router": (aigov_monitoring_router.app, aigov_monitoring_router.settings, 8084),
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Developer shells may export AIGOV_*/OTEL_* variables; tests must not see them."""
    for name in list(os.environ):
        if name.startswith(("AIGOV_", "OTEL_")):
            monkeypatch.delenv(name)


@pytest.fixture(params=list(SERVICES))
def service(request: pytest.FixtureRequest) -> str:
    """Each service in turn."""
    name: str = request.param
    return name


def build(service: str, tmp_path: Path, *, migrate_on_start: bool = True) -> FastAPI:
    """The service's app on a SQLite database under tmp_path, with one reader token."""
    app_module, settings_module, _ = SERVICES[service]
    settings_class: type[ServiceSettings] = settings_module.Settings
    settings = settings_class(
        migrate_on_start=migrate_on_start,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'db' / f'{service}.sqlite3'}",
        bus="embedded",
        embedded_bus_path=tmp_path / "bus" / "bus.sqlite3",
        auth_tokens=SecretStr(
            json.dumps({READER_TOKEN: {"principal": "prometheus", "roles": ["reader"]}})
        ),
    )
    create_app: Callable[[ServiceSettings], FastAPI] = app_module.create_app
    return create_app(settings)


def test_default_ports(service: str) -> None:
    _, settings_module, port = SERVICES[service]
    assert settings_module.Settings().http_port == port


@pytest.mark.asyncio
class TestSkeleton:
    async def test_probes(self, service: str, tmp_path: Path) -> None:
        async with app_client(build(service, tmp_path)) as client:
            live = await client.get("/healthz")
            ready = await client.get("/readyz")
        assert (live.status_code, live.json()) == (200, {"status": "ok"})
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["database"]["status"] == "ok"
        assert ready.json()["checks"]["broker"]["status"] == "ok"
        assert (tmp_path / "db" / f"{service}.sqlite3").exists()
        assert (tmp_path / "bus" / "bus.sqlite3").exists()

    async def test_readyz_fails_when_the_database_is_unusable(
        self, service: str, tmp_path: Path
    ) -> None:
        # A directory where the database file should be; migrating it would fail at startup,
        # which is the right thing then, so this test starts without migrating.
        (tmp_path / "db" / f"{service}.sqlite3").mkdir(parents=True)
        app = build(service, tmp_path, migrate_on_start=False)
        if service in ("tiering", "evidence"):
            # Tiering re-tiers known systems and evidence grows its transparency log over
            # older records before consuming: no database, no startup.
            with pytest.raises(LifespanFailed, match="unable to open database file"):
                async with app_client(app):
                    pass
            return
        async with app_client(app) as client:
            ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"]["status"] == "fail"

    async def test_metrics_need_a_token(self, service: str, tmp_path: Path) -> None:
        async with app_client(build(service, tmp_path)) as client:
            await client.get("/healthz")
            anonymous = await client.get("/metrics")
            scraped = await client.get(
                "/metrics", headers={"Authorization": f"Bearer {READER_TOKEN}"}
            )
        assert anonymous.status_code == 401
        assert scraped.status_code == 200
        assert (
            'aigov_http_requests_total{method="GET",route="/healthz",status="200"}' in scraped.text
        )

    async def test_openapi_describes_the_service(self, service: str, tmp_path: Path) -> None:
        async with app_client(build(service, tmp_path)) as client:
            document = (await client.get("/openapi.json")).json()
        assert document["info"]["title"] == f"aigov {service}"
        assert document["info"]["description"]
        assert document["info"]["version"] == "0.1.0"
        assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
        assert {"/healthz", "/readyz", "/metrics"} <= set(document["paths"])

    async def test_every_operation_has_one_tag_of_the_vocabulary(
        self, service: str, tmp_path: Path
    ) -> None:
        """Routes are grouped by what a user looks for (`aigov_runtime.tags`), the same in every
        service, so the all-in-one's docs show one "releases" heading, not one per service."""
        async with app_client(build(service, tmp_path)) as client:
            document = (await client.get("/openapi.json")).json()
        vocabulary = {tag.value for tag in Tag}
        untagged = {
            f"{method.upper()} {path}": operation.get("tags")
            for path, operations in document["paths"].items()
            for method, operation in operations.items()
            if operation.get("tags") is None
            or len(operation["tags"]) != 1
            or operation["tags"][0] not in vocabulary
        }
        assert untagged == {}
        used = {
            operation["tags"][0]
            for operations in document["paths"].values()
            for operation in operations.values()
        }
        # The top-level list describes exactly the tags in use, in the vocabulary's order.
        listed = [tag["name"] for tag in document["tags"]]
        assert listed == [tag.value for tag in Tag if tag.value in used]
        assert all(tag["description"] for tag in document["tags"])
