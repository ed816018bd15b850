"""The evidence FastAPI app: the shared runtime, the ledger consumer, background jobs, the API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from aigov_evidence import __version__
from aigov_evidence.api import ROUTERS
from aigov_evidence.consumers import build_consumers
from aigov_evidence.periodic import background_jobs
from aigov_evidence.settings import Settings
from aigov_runtime.app import build_service_app
from aigov_runtime.migrations import upgrade_to_head
from aigov_runtime.resources import ServiceResources, service_lifespan, standard_readiness

SERVICE = "evidence"
DESCRIPTION = (
    "The read side: an append-only, hash-chained ledger of every event, projections "
    "(inventory, releases, control status, waivers), signed checkpoints and the release gate."
)
MIGRATIONS = Path(__file__).parent / "migrations"


async def migrate(settings: Settings) -> None:
    """Apply the service's migrations to its schema, unless AIGOV_MIGRATE_ON_START=false."""
    if settings.migrate_on_start:
        await asyncio.to_thread(
            upgrade_to_head,
            MIGRATIONS,
            database_url=settings.database_url,
            schema=settings.evidence_schema,
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the evidence app from `settings` (read from the environment when omitted)."""
    settings = Settings() if settings is None else settings
    resources = service_lifespan(
        settings,
        client_id=SERVICE,
        schema=settings.evidence_schema,
        migrations=MIGRATIONS,
        consumers=lambda opened: build_consumers(opened, settings),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[ServiceResources]:
        async with resources(app) as state, background_jobs(state, settings):
            yield state

    return build_service_app(
        service=SERVICE,
        title="aigov evidence",
        version=__version__,
        description=DESCRIPTION,
        settings=settings,
        lifespan=lifespan,
        readiness_checks=standard_readiness,
        routers=ROUTERS,
    )
