"""What every service opens for its lifetime: its database engine and the event bus.

Written once so the four services open, check and close them the same way, on either
run mode (Kafka + PostgreSQL, or the embedded bus + SQLite).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TypedDict

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aigov_events.bus import Bus, create_bus
from aigov_events.producer import Publisher
from aigov_events.topics import ALL_TOPICS
from aigov_runtime.database import create_engine, create_sessionmaker, database_check
from aigov_runtime.health import ReadinessCheck, ReadinessChecks
from aigov_runtime.migrations import upgrade_to_head
from aigov_runtime.settings import ServiceSettings

__all__ = ["ServiceResources", "bus_check", "open_bus", "service_lifespan", "standard_readiness"]

logger = logging.getLogger(__name__)


class ServiceResources(TypedDict):
    """The lifespan state of a service, reachable as `request.state.<key>`."""

    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    bus: Bus
    publisher: Publisher


def open_bus(settings: ServiceSettings, *, client_id: str) -> Bus:
    """The bus the settings ask for (not started yet)."""
    return create_bus(
        settings.bus,
        kafka_bootstrap_servers=settings.kafka_bootstrap_servers,
        embedded_path=str(settings.embedded_bus_path),
        client_id=f"aigov-{client_id}",
        partitions=settings.topic_partitions,
        topic_prefix=settings.topic_prefix,
    )


def bus_check(bus: Bus) -> ReadinessCheck:
    """A readiness check that succeeds when the bus answers a metadata round trip."""

    async def check() -> None:
        await bus.ping()

    return check


def standard_readiness(resources: ServiceResources) -> ReadinessChecks:
    """`/readyz` checks of a service: its database and its broker."""
    return {
        "database": database_check(resources["engine"]),
        "broker": bus_check(resources["bus"]),
    }


def service_lifespan(
    settings: ServiceSettings,
    *,
    client_id: str,
    schema: str | None = None,
    migrations: Path | None = None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[ServiceResources]]:
    """A lifespan that migrates the service's schema, opens the engine and the bus, closes both."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[ServiceResources]:
        if migrations is not None and settings.migrate_on_start:
            await asyncio.to_thread(
                upgrade_to_head, migrations, database_url=settings.database_url, schema=schema
            )
            logger.info("database migrated", extra={"schema": schema})
        engine = create_engine(settings.database_url, schema=schema)
        bus = open_bus(settings, client_id=client_id)
        try:
            await bus.start()
            # Idempotent: whichever service starts first creates the topics it and others use.
            await bus.ensure_topics(ALL_TOPICS)
            logger.info("bus ready", extra={"bus": bus.kind, "topics": len(ALL_TOPICS)})
            yield {
                "engine": engine,
                "sessionmaker": create_sessionmaker(engine),
                "bus": bus,
                "publisher": Publisher(bus),
            }
        finally:
            await bus.stop()
            await engine.dispose()

    return lifespan
