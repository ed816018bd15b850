"""The monitoring-router FastAPI app: the shared runtime, the router's API, consumer and scheduler."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypedDict

import httpx
from fastapi import FastAPI

from aigov_monitoring_router import __version__
from aigov_monitoring_router.api import ROUTERS
from aigov_monitoring_router.clock import Clock
from aigov_monitoring_router.consumers import build_consumers
from aigov_monitoring_router.router import Router
from aigov_monitoring_router.routing_config import DEFAULT_CONFIG, LOCAL_ONLY_WARNING, local_only
from aigov_monitoring_router.scheduler import Scheduler
from aigov_monitoring_router.settings import Settings
from aigov_runtime.app import build_service_app
from aigov_runtime.health import ReadinessChecks
from aigov_runtime.resources import ServiceResources, service_lifespan, standard_readiness
from aigov_runtime.settings import ServiceSettings

log = logging.getLogger(__name__)

SERVICE = "monitoring-router"
DESCRIPTION = (
    "Routes drift/safety/incident alerts to owners: routing tree, dedup, grouping, silences, "
    "inhibition, delivery with retries, incident SLA timers and escalation, "
    "monitoring-coverage probes."
)
MIGRATIONS = Path(__file__).parent / "migrations"


class RouterExtras(TypedDict):
    """What the router adds to the shared resources."""

    router: Router
    scheduler: Scheduler
    scheduler_task: asyncio.Task[None] | None


class RouterState(ServiceResources, RouterExtras):
    """Lifespan state: the shared resources plus the router and its scheduler."""


def router_readiness(state: RouterState) -> ReadinessChecks:
    """The standard checks plus: the scheduler is running (when this process runs it)."""
    checks = dict(standard_readiness(state))
    task = state["scheduler_task"]
    if task is not None:

        async def scheduler() -> None:
            if task.done():
                raise RuntimeError("the scheduler is not running")

        checks["scheduler"] = scheduler
    return checks


@asynccontextmanager
async def router_runtime(
    router: Router, resources: ServiceResources, settings: Settings
) -> AsyncIterator[RouterExtras]:
    """The router's own run-time next to the shared resources: HTTP client and scheduler.

    Importable without `create_app` so the embedded all-in-one process can run the router
    beside the other services (it also needs `build_consumers(resources, router)`, and the
    API routers read `router` and `sessionmaker` from the request state).
    """
    async with httpx.AsyncClient(
        limits=httpx.Limits(max_connections=settings.router_delivery_concurrency)
    ) as http:
        router.http = http
        scheduler = Scheduler(
            router,
            resources["sessionmaker"],
            resources["publisher"],
            tick_seconds=settings.router_tick_seconds,
            batch=settings.router_timer_batch,
            lease_seconds=settings.router_timer_lease_seconds,
            concurrency=settings.router_delivery_concurrency,
        )
        task = (
            asyncio.create_task(scheduler.run(), name="router-scheduler")
            if settings.router_run_scheduler
            else None
        )
        try:
            yield RouterExtras(router=router, scheduler=scheduler, scheduler_task=task)
        finally:
            scheduler.stop()
            if task is not None:
                await asyncio.wait([task], timeout=float(settings.shutdown_timeout_seconds))
                if not task.done():
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
            router.http = None


def create_app(settings: ServiceSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """Build the router app; `clock` replaces the wall clock (tests, simulations)."""
    if settings is None:
        settings = Settings()
    elif not isinstance(settings, Settings):
        # Shared-runtime settings (e.g. from a cross-service test): add the router's defaults.
        settings = Settings.model_validate(settings.model_dump())
    # Validated before anything starts: a broken routing file must stop the service at once.
    router = Router.load(
        settings.routing_config,
        clock=clock,
        policy=settings.config_policy(),
        max_silence=settings.max_silence,
        inbox_max=settings.router_inbox_max,
    )
    resources = service_lifespan(
        settings,
        client_id=SERVICE,
        schema=settings.router_db_schema,
        migrations=MIGRATIONS,
        consumers=lambda res: build_consumers(res, router, instances=settings.router_consumers),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[RouterState]:
        if settings.env != "dev" and local_only(router.config):
            # Not a refusal: a staging box may want exactly this; but nobody is told anything.
            log.warning(
                LOCAL_ONLY_WARNING,
                extra={"routing_config": str(router.config_path or DEFAULT_CONFIG)},
            )
        async with resources(app) as state, router_runtime(router, state, settings) as extra:
            yield RouterState(**state, **extra)

    return build_service_app(
        service=SERVICE,
        title="aigov monitoring-router",
        version=__version__,
        description=DESCRIPTION,
        settings=settings,
        lifespan=lifespan,
        readiness_checks=router_readiness,
        routers=ROUTERS,
    )
