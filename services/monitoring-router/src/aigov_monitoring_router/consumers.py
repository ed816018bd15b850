"""The router's consumer: one group reading signals, lifecycle and decisions.

`build_consumers(resources, router)` is importable on its own so the embedded all-in-one
process can run it next to the other services' consumers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from aigov_events.catalog import (
    AlertRaised,
    AlertResolved,
    EventPayload,
    IncidentAcknowledged,
    IncidentContained,
    IncidentReported,
    IncidentResolved,
    SystemRegistered,
    SystemRetired,
    SystemUpdated,
    TierAssigned,
)
from aigov_events.consumer import ConsumerRunner, Dispatcher
from aigov_events.message import DomainEvent
from aigov_events.topics import DECISIONS, LIFECYCLE, SIGNALS
from aigov_monitoring_router import handlers
from aigov_monitoring_router.models import processed_events
from aigov_monitoring_router.router import Router
from aigov_runtime.idempotency import idempotent
from aigov_runtime.resources import ServiceResources

GROUP: Final = "monitoring-router"
TOPICS: Final = (SIGNALS, LIFECYCLE, DECISIONS)

RouterHandler = Callable[..., Awaitable[None]]

HANDLERS: Final[dict[type[EventPayload], RouterHandler]] = {
    SystemRegistered: handlers.on_system_registered,
    SystemUpdated: handlers.on_system_updated,
    SystemRetired: handlers.on_system_retired,
    TierAssigned: handlers.on_tier_assigned,
    AlertRaised: handlers.on_alert_raised,
    AlertResolved: handlers.on_alert_resolved,
    IncidentReported: handlers.on_incident_reported,
    IncidentAcknowledged: handlers.on_incident_acknowledged,
    IncidentContained: handlers.on_incident_contained,
    IncidentResolved: handlers.on_incident_resolved,
}


def dispatcher(resources: ServiceResources, router: Router) -> Dispatcher:
    """Every handler, made idempotent, bound to the router, waking the scheduler after commit."""
    dispatch = Dispatcher()
    for payload_type, handler in HANDLERS.items():
        dispatch.register(payload_type, _bound(handler, resources, router))
    return dispatch


def _bound(
    handler: RouterHandler, resources: ServiceResources, router: Router
) -> Callable[[DomainEvent[Any]], Awaitable[None]]:
    async def with_router(event: DomainEvent[Any], *, session: AsyncSession) -> None:
        await handler(event, session=session, router=router)

    run = idempotent(
        with_router,
        sessionmaker=resources["sessionmaker"],
        table=processed_events,
        consumer=GROUP,
    )

    async def handle(event: DomainEvent[Any]) -> None:
        await run(event)
        router.wake()  # committed: a flush or delivery may be due now

    return handle


def build_consumers(
    resources: ServiceResources, router: Router, *, instances: int = 1
) -> list[ConsumerRunner]:
    """The router's consumer runners: `instances` members of one group share the partitions.

    A runner handles its partitions one record at a time, in order; several runners in one
    process handle different partitions concurrently (order per system is kept: key = system).
    """
    handler = dispatcher(resources, router)
    return [
        ConsumerRunner(resources["bus"], group=GROUP, topics=TOPICS, handler=handler)
        for _ in range(instances)
    ]
