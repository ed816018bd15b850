"""Consumers run inside a service's lifespan: joined before serving, stopped on shutdown."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from aigov_events.catalog import AlertRaised
from aigov_events.consumer import ConsumerRunner, Dispatcher
from aigov_events.message import DomainEvent, new_event
from aigov_events.topics import SIGNALS
from aigov_runtime.app import build_service_app
from aigov_runtime.resources import ServiceResources, service_lifespan, standard_readiness
from aigov_runtime.settings import ServiceSettings
from aigov_runtime.testing import app_client

pytestmark = pytest.mark.asyncio


def settings_for(tmp_path: Path, **overrides: Any) -> ServiceSettings:
    return ServiceSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}",
        bus="embedded",
        embedded_bus_path=tmp_path / "bus.sqlite3",
        shutdown_timeout_seconds=5,
        **overrides,
    )


def app_with(settings: ServiceSettings, factory: Any) -> FastAPI:
    return build_service_app(
        service="consumer-test",
        title="consumer test",
        version="0",
        description="test",
        settings=settings,
        lifespan=service_lifespan(settings, client_id="consumer-test", consumers=factory),
        readiness_checks=standard_readiness,
    )


def alert() -> DomainEvent[AlertRaised]:
    return new_event(AlertRaised.model_validate(AlertRaised.example), source="test", actor="t")


async def test_consumers_handle_events_and_report_ready(tmp_path: Path) -> None:
    seen: list[str] = []
    handled = asyncio.Event()
    runners: list[ConsumerRunner] = []
    opened: list[ServiceResources] = []

    async def on_alert(event: DomainEvent[AlertRaised]) -> None:
        seen.append(event.id)
        handled.set()

    def factory(resources: ServiceResources) -> list[ConsumerRunner]:
        dispatcher = Dispatcher()
        dispatcher.register(AlertRaised, on_alert)
        runner = ConsumerRunner(
            resources["bus"], group="g", topics=[SIGNALS], handler=dispatcher, poll_timeout=0.05
        )
        runners.append(runner)
        opened.append(resources)
        return [runner]

    async with app_client(app_with(settings_for(tmp_path), factory)) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["consumers"]["status"] == "ok"
        event = alert()
        await opened[0]["publisher"].publish(event)
        await asyncio.wait_for(handled.wait(), timeout=10)
        assert not runners[0].stopping
    assert seen == [event.id]
    assert runners[0].stopping, "shutdown asks every consumer to stop"
    assert all(task.done() for task in opened[0]["consumer_tasks"])


async def test_run_consumers_false_starts_none(tmp_path: Path) -> None:
    built: list[int] = []

    def factory(resources: ServiceResources) -> list[ConsumerRunner]:
        built.append(1)
        return []

    app = app_with(settings_for(tmp_path, run_consumers=False), factory)
    async with app_client(app) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert "consumers" not in ready.json()["checks"]
    assert built == []


async def test_a_dead_consumer_fails_readiness(tmp_path: Path) -> None:
    class Crashing(ConsumerRunner):
        async def run(self) -> None:
            self._started.set()
            await asyncio.sleep(0)
            raise RuntimeError("boom")

    def factory(resources: ServiceResources) -> list[ConsumerRunner]:
        return [Crashing(resources["bus"], group="crash", topics=[SIGNALS], handler=Dispatcher())]

    app = app_with(settings_for(tmp_path), factory)
    async with app_client(app) as client:
        await asyncio.sleep(0.05)
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["consumers"]["status"] == "fail"
