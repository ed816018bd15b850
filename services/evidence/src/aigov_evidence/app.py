"""The evidence FastAPI app: the shared runtime plus this service's routes (none yet)."""

from __future__ import annotations

from fastapi import FastAPI

from aigov_evidence import __version__
from aigov_evidence.settings import Settings
from aigov_runtime.app import build_service_app
from aigov_runtime.resources import service_lifespan, standard_readiness

SERVICE = "evidence"
DESCRIPTION = "The read side: an append-only, hash-chained ledger of every event, with projections (inventory, releases, control status, waivers), the release gate, KPIs, audit packs and the dashboard."


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the evidence app from `settings` (read from the environment when omitted)."""
    settings = Settings() if settings is None else settings
    return build_service_app(
        service=SERVICE,
        title="aigov evidence",
        version=__version__,
        description=DESCRIPTION,
        settings=settings,
        lifespan=service_lifespan(settings, client_id=SERVICE),
        readiness_checks=standard_readiness,
    )
