"""Intake's one consumer: the incidents the monitoring router opens from alerts.

Everything else intake knows it learns from the requests it accepts. An incident the router
opens from an alert (a route with `opens_incident: true`) never comes through intake: the
router publishes `incident.reported` straight to `aigov.signals`. Intake records those, so
their owners can acknowledge, contain and resolve them through the same endpoints as the
incidents reported through intake, and `GET /v1/incidents` lists them.

Only events whose actor is the router are recorded: every other `incident.reported` came
through intake and was recorded when it was accepted (with the reporting principal). A
client cannot take the router's name (the token configuration refuses service actors), and
intake stamps `actor` with the authenticated principal, so the actor can be trusted. An
existing row is never overwritten. Effects happen once (`aigov_runtime.idempotency`).

`build_consumers(resources)` is importable on its own, like the other services', and runs
in the all-in-one process through intake's lifespan.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_events.actors import MONITORING_ROUTER
from aigov_events.catalog import IncidentReported
from aigov_events.consumer import ConsumerRunner, Dispatcher
from aigov_events.message import DomainEvent
from aigov_events.topics import SIGNALS
from aigov_intake.models import processed_events
from aigov_intake.service import incident_row
from aigov_runtime.database import insert_if_new, table_of
from aigov_runtime.idempotency import idempotent
from aigov_runtime.resources import ServiceResources

log = logging.getLogger(__name__)

GROUP: Final = "aigov-intake"
"""Intake's consumer group (and its name in `processed_events`)."""
TOPICS: Final = (SIGNALS,)


async def record_router_incident(
    event: DomainEvent[IncidentReported], *, session: AsyncSession
) -> None:
    """Record an incident the monitoring router opened, unless intake already knows the id."""
    payload = event.payload
    model, values = incident_row(
        payload, reported_by=payload.reported_by, opened_by="alert", at=event.time
    )
    if await insert_if_new(session, table_of(model), values):
        log.info(
            "incident opened by the monitoring router recorded",
            extra={"incident_id": payload.incident_id, "system_id": payload.system_id},
        )


def dispatcher(sessionmaker: async_sessionmaker[AsyncSession]) -> Dispatcher:
    """`incident.reported` by the router, recorded exactly once; every other event skipped."""
    record = idempotent(
        record_router_incident,
        sessionmaker=sessionmaker,
        table=processed_events,
        consumer=GROUP,
    )

    async def on_incident_reported(event: DomainEvent[Any]) -> None:
        # Reports from clients were recorded at accept time, with the principal who sent them.
        if event.actor == MONITORING_ROUTER:
            await record(event)

    dispatch = Dispatcher()
    dispatch.register(IncidentReported, on_incident_reported)
    return dispatch


def build_consumers(resources: ServiceResources, **options: Any) -> list[ConsumerRunner]:
    """Intake's consumer runners over the service's engine and bus."""
    return [
        ConsumerRunner(
            resources["bus"],
            group=GROUP,
            topics=TOPICS,
            handler=dispatcher(resources["sessionmaker"]),
            **options,
        )
    ]
