"""The intake FastAPI app: the shared runtime plus this service's routes (none yet)."""

from __future__ import annotations

from fastapi import FastAPI

from aigov_intake import __version__
from aigov_intake.settings import Settings
from aigov_runtime.app import build_service_app
from aigov_runtime.resources import service_lifespan, standard_readiness

SERVICE = "intake"
DESCRIPTION = "The write side: every command and webhook enters here, is authenticated, validated, normalised and published to `aigov.lifecycle` and `aigov.signals`."


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the intake app from `settings` (read from the environment when omitted)."""
    settings = Settings() if settings is None else settings
    return build_service_app(
        service=SERVICE,
        title="aigov intake",
        version=__version__,
        description=DESCRIPTION,
        settings=settings,
        lifespan=service_lifespan(settings, client_id=SERVICE),
        readiness_checks=standard_readiness,
    )
