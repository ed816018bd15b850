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

from aigov_events.bus import Bus
from aigov_events.buses import create_bus
from aigov_events.consumer import ConsumerRunner
from aigov_events.producer import Publisher
from aigov_events.topics import ALL_TOPICS
from aigov_runtime.database import create_engine, create_sessionmaker, database_check
from aigov_runtime.health import ReadinessCheck, ReadinessChecks
from aigov_runtime.migrations import upgrade_to_head
from aigov_runtime.settings import ServiceSettings

__all__ = [
    "ConsumerFactory",
    "ServiceResources",
    "bus_check",
    "consumers_check",
    "open_bus",
    "service_lifespan",
    "standard_readiness",
]

logger = logging.getLogger(__name__)


class ServiceResources(TypedDict):
    """The lifespan state of a service, reachable as `request.state.<key>`."""

    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    bus: Bus
    publisher: Publisher
    consumers: list[ConsumerRunner]
    consumer_tasks: list[asyncio.Task[None]]


# Builds the service's consumer runners once the engine and bus are open.
ConsumerFactory = Callable[["ServiceResources"], list[ConsumerRunner]]


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


def consumers_check(tasks: list[asyncio.Task[None]]) -> ReadinessCheck:
    """A readiness check that fails once any consumer task has ended (crashed or stopped)."""

    async def check() -> None:
        for task in tasks:
            if task.done():
                raise RuntimeError(f"consumer {task.get_name()} is not running")

    return check


def standard_readiness(resources: ServiceResources) -> ReadinessChecks:
    """`/readyz` checks of a service: its database, its broker and its consumers (if any)."""
    checks: dict[str, ReadinessCheck] = {
        "database": database_check(resources["engine"]),
        "broker": bus_check(resources["bus"]),
    }
    if resources["consumer_tasks"]:
        checks["consumers"] = consumers_check(resources["consumer_tasks"])
    return checks


async def _stop_consumers(
    runners: list[ConsumerRunner], tasks: list[asyncio.Task[None]], grace_seconds: float
) -> None:
    for runner in runners:
        runner.stop()
    if not tasks:
        return
    done, pending = await asyncio.wait(tasks, timeout=grace_seconds)
    for task in pending:
        logger.warning(
            "consumer did not stop in time; cancelling", extra={"consumer": task.get_name()}
        )
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        if not task.cancelled() and (exc := task.exception()) is not None:
            logger.error(
                "consumer ended with an error",
                extra={"consumer": task.get_name(), "error": repr(exc)},
            )


async def _joined(runner: ConsumerRunner, task: asyncio.Task[None]) -> None:
    """Wait until `runner` joined its group; raise what its task died of if it died first."""
    started = asyncio.create_task(runner.wait_started())
    await asyncio.wait([started, task], return_when=asyncio.FIRST_COMPLETED)
    if not started.done():
        started.cancel()
        task.result()  # re-raises the consumer's error
        raise RuntimeError(f"consumer {runner.group} stopped before joining its group")


def service_lifespan(
    settings: ServiceSettings,
    *,
    client_id: str,
    schema: str | None = None,
    migrations: Path | None = None,
    consumers: ConsumerFactory | None = None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[ServiceResources]]:
    """A lifespan that migrates the service's schema, opens the engine and the bus, closes both.

    With `consumers`, it also runs the runners that factory builds (unless
    `AIGOV_RUN_CONSUMERS=false`, for API-only replicas): each joins its group before the
    app serves, and on shutdown each finishes its in-flight batch and commits before the
    bus closes. A consumer that dies makes `/readyz` fail, so the orchestrator restarts it.
    """

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
            resources: ServiceResources = {
                "engine": engine,
                "sessionmaker": create_sessionmaker(engine),
                "bus": bus,
                "publisher": Publisher(bus),
                "consumers": [],
                "consumer_tasks": [],
            }
            if consumers is not None and settings.run_consumers:
                resources["consumers"] = consumers(resources)
            tasks = resources["consumer_tasks"]
            for runner in resources["consumers"]:
                tasks.append(asyncio.create_task(runner.run(), name=runner.group))
            try:
                for runner, task in zip(resources["consumers"], tasks, strict=True):
                    await _joined(runner, task)
                yield resources
            finally:
                await _stop_consumers(
                    resources["consumers"], tasks, float(settings.shutdown_timeout_seconds)
                )
        finally:
            await bus.stop()
            await engine.dispose()

    return lifespan
