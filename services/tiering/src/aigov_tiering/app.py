"""The tiering FastAPI app: the shared runtime, tiering's routers, its consumer and the policy pack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from aigov_runtime.app import build_service_app
from aigov_runtime.resources import ServiceResources, service_lifespan, standard_readiness
from aigov_tiering import __version__
from aigov_tiering.api import ROUTERS
from aigov_tiering.consumers import build_consumers
from aigov_tiering.models import SCHEMA
from aigov_tiering.policy import PolicyPack, load_pack
from aigov_tiering.settings import Settings

SERVICE = "tiering"
DESCRIPTION = (
    "Policy engine: assigns each AI system its risk tier, required controls, evaluation "
    "minimums and approvals, detects material changes and re-tiers on policy change "
    "(reads `aigov.lifecycle`, publishes to `aigov.decisions`)."
)
MIGRATIONS = Path(__file__).parent / "migrations"


class TieringState(ServiceResources):
    """Lifespan state: the shared resources plus the active policy pack."""

    policy_pack: PolicyPack


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the tiering app; the policy pack is loaded (and checked) here, so a bad pack fails fast."""
    settings = Settings() if settings is None else settings
    pack = load_pack(settings.policy_directory())
    resources = service_lifespan(
        settings,
        client_id=SERVICE,
        schema=SCHEMA,
        migrations=MIGRATIONS,
        consumers=lambda opened: build_consumers(opened, settings, pack=pack),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[TieringState]:
        async with resources(app) as state:
            yield TieringState(**state, policy_pack=pack)

    return build_service_app(
        service=SERVICE,
        title="aigov tiering",
        version=__version__,
        description=DESCRIPTION,
        settings=settings,
        lifespan=lifespan,
        readiness_checks=standard_readiness,
        routers=ROUTERS,
    )
