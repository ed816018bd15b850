"""The tiering FastAPI app: the shared runtime plus this service's routes (none yet)."""

from __future__ import annotations

from fastapi import FastAPI

from aigov_runtime.app import build_service_app
from aigov_runtime.resources import service_lifespan, standard_readiness
from aigov_tiering import __version__
from aigov_tiering.settings import Settings

SERVICE = "tiering"
DESCRIPTION = "Policy engine: assigns each AI system its risk tier, required controls, evaluation minimums and approvals, detects material changes and re-tiers on policy change (publishes to `aigov.decisions`)."


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the tiering app from `settings` (read from the environment when omitted)."""
    settings = Settings() if settings is None else settings
    return build_service_app(
        service=SERVICE,
        title="aigov tiering",
        version=__version__,
        description=DESCRIPTION,
        settings=settings,
        lifespan=service_lifespan(settings, client_id=SERVICE),
        readiness_checks=standard_readiness,
    )
