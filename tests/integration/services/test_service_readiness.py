"""Each service on the real broker and database: ready when both answer, not ready otherwise."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI

import aigov_evidence.app
import aigov_evidence.settings
import aigov_intake.app
import aigov_intake.settings
import aigov_monitoring_router.app
import aigov_monitoring_router.settings
import aigov_tiering.app
import aigov_tiering.settings
from aigov_events.kafka_bus import KafkaBus
from aigov_events.testing import drop_topics
from aigov_events.topics import ALL_TOPICS
from aigov_runtime.asgi import LifespanFailed
from aigov_runtime.settings import ServiceSettings
from aigov_runtime.testing import app_client

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

APPS: dict[str, tuple[Callable[[Any], FastAPI], type[ServiceSettings]]] = {
    "intake": (aigov_intake.app.create_app, aigov_intake.settings.Settings),
    "tiering": (aigov_tiering.app.create_app, aigov_tiering.settings.Settings),
    "evidence": (aigov_evidence.app.create_app, aigov_evidence.settings.Settings),
    "monitoring-router": (
        aigov_monitoring_router.app.create_app,
        aigov_monitoring_router.settings.Settings,
    ),
}


def settings(service: str, local_stack: Any, **overrides: Any) -> ServiceSettings:
    """Settings pointing at the local Kafka and PostgreSQL, with test-private topic names."""
    values: dict[str, Any] = {
        "database_url": local_stack.postgres_url,
        "bus": "kafka",
        "kafka_bootstrap_servers": local_stack.kafka_bootstrap,
        "topic_prefix": f"t{uuid.uuid4().hex[:10]}.",
    }
    values.update(overrides)
    return APPS[service][1](**values)


# Tiering re-evaluates known systems under a new policy pack, and evidence adds older ledger
# records to its transparency log, before they consume anything, so neither can start
# without its database: startup fails (the orchestrator restarts it with backoff) instead of
# serving "not ready".
STARTUP_NEEDS_DATABASE = frozenset({"tiering", "evidence"})


@pytest.mark.parametrize("service", sorted(STARTUP_NEEDS_DATABASE))
async def test_startup_fails_without_its_database(service: str, local_stack: Any) -> None:
    config = settings(
        service,
        local_stack,
        database_url="postgresql+asyncpg://aigov@127.0.0.1:9/aigov",
        migrate_on_start=False,
    )
    try:
        with pytest.raises(LifespanFailed) as failed:
            async with app_client(APPS[service][0](config)):
                pass
    finally:
        await drop_topics(local_stack.kafka_bootstrap, config.topic_prefix)
    assert "Connect call failed" in str(failed.value)


@pytest.mark.parametrize("service", sorted(set(APPS) - STARTUP_NEEDS_DATABASE))
class TestNotReady:
    async def test_not_ready_when_the_database_is_unreachable(
        self, service: str, local_stack: Any
    ) -> None:
        config = settings(
            service,
            local_stack,
            database_url="postgresql+asyncpg://aigov@127.0.0.1:9/aigov",
            # Migrating would (rightly) fail startup; this test is about /readyz.
            migrate_on_start=False,
        )
        async with app_client(APPS[service][0](config)) as client:
            ready = await client.get("/readyz")
        await drop_topics(local_stack.kafka_bootstrap, config.topic_prefix)
        assert ready.status_code == 503
        checks = ready.json()["checks"]
        assert checks["database"]["status"] == "fail"
        assert checks["broker"]["status"] == "ok"


@pytest.mark.parametrize("service", list(APPS))
class TestReadiness:
    async def test_ready_on_real_kafka_and_postgres_and_topics_exist(
        self, service: str, local_stack: Any
    ) -> None:
        config = settings(service, local_stack)
        async with app_client(APPS[service][0](config)) as client:
            ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        checks = ready.json()["checks"]
        assert checks["database"]["status"] == "ok"
        assert checks["broker"]["status"] == "ok"

        admin = KafkaBus(local_stack.kafka_bootstrap)
        await admin.start()
        try:
            deleted = await admin.delete_topics_with_prefix(config.topic_prefix)
        finally:
            await admin.stop()
        assert set(deleted) == {config.topic_prefix + t for t in ALL_TOPICS}
