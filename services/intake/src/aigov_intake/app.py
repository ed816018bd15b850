"""The intake FastAPI app: the shared runtime, intake's routers, and its lifespan state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from aigov_intake import __version__
from aigov_intake.api import events, incidents, typed, webhooks
from aigov_intake.consumers import build_consumers
from aigov_intake.models import SCHEMA
from aigov_intake.revisions import RevisionLocks
from aigov_intake.settings import Settings
from aigov_runtime.app import build_service_app
from aigov_runtime.resources import ServiceResources, service_lifespan, standard_readiness

SERVICE = "intake"
DESCRIPTION = (
    "The write side: every command and webhook enters here, is authenticated, validated, "
    "normalised and published to `aigov.lifecycle` and `aigov.signals`. It also lists the "
    "incidents it knows: reported through it, or opened from alerts by the monitoring router."
)
MIGRATIONS = Path(__file__).parent / "migrations"
ROUTERS = (events.router, typed.router, incidents.router, webhooks.router)


class IntakeState(ServiceResources):
    """Lifespan state: shared resources, revision locks, the future-time bound.

    The per-principal rate limiter is the runtime's, installed on the app by
    `build_service_app` (`aigov_runtime.ratelimit.rate_limiter_of`).
    """

    revision_locks: RevisionLocks
    max_future_skew: timedelta


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the intake app from `settings` (read from the environment when omitted)."""
    settings = Settings() if settings is None else settings
    resources = service_lifespan(
        settings,
        client_id=SERVICE,
        schema=SCHEMA,
        migrations=MIGRATIONS,
        consumers=build_consumers,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[IntakeState]:
        async with resources(app) as state:
            yield IntakeState(
                **state,
                revision_locks=RevisionLocks(state["engine"]),
                max_future_skew=settings.max_future_skew,
            )

    return build_service_app(
        service=SERVICE,
        title="aigov intake",
        version=__version__,
        description=DESCRIPTION,
        settings=settings,
        lifespan=lifespan,
        readiness_checks=standard_readiness,
        routers=ROUTERS,
    )
