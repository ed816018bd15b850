"""The monitoring-router FastAPI app: the shared runtime plus this service's routes (none yet)."""

from __future__ import annotations

from fastapi import FastAPI

from aigov_monitoring_router import __version__
from aigov_monitoring_router.settings import Settings
from aigov_runtime.app import build_service_app
from aigov_runtime.resources import service_lifespan, standard_readiness

SERVICE = "monitoring-router"
DESCRIPTION = "Routes drift/safety/incident alerts to owners: routing tree, dedup, grouping, silences, inhibition, delivery with retries, incident SLA timers and escalation, monitoring-coverage probes."


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the monitoring-router app from `settings` (read from the environment when omitted)."""
    settings = Settings() if settings is None else settings
    return build_service_app(
        service=SERVICE,
        title="aigov monitoring-router",
        version=__version__,
        description=DESCRIPTION,
        settings=settings,
        lifespan=service_lifespan(settings, client_id=SERVICE),
        readiness_checks=standard_readiness,
    )
