"""The router's consumer: one group reading signals, lifecycle and decisions, a batch at a time.

Each polled batch is applied in one transaction (`aigov_runtime.idempotency.idempotent_batch`):
the batch's events are claimed in `processed_events` with one statement, the new ones are
applied in order by the handler of their type (`HANDLERS`), and the scheduler is woken once
after the commit. `build_consumers(resources, router)` is importable on its own so the embedded
all-in-one process can run it next to the other services' consumers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
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
from aigov_events.consumer import ConsumerRunner
from aigov_events.message import DomainEvent
from aigov_events.topics import DECISIONS, LIFECYCLE, SIGNALS
from aigov_monitoring_router import handlers
from aigov_monitoring_router.models import processed_events
from aigov_monitoring_router.router import Router
from aigov_runtime.idempotency import BatchSessionHandler, idempotent_batch
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

_BY_TYPE: Final[dict[str, RouterHandler]] = {
    payload_type.event_type: handler for payload_type, handler in HANDLERS.items()
}


def apply_in_order(router: Router) -> BatchSessionHandler:
    """The batch's events applied one after the other in the caller's transaction.

    Each event sees the database exactly as the events before it left it, as it would in a
    transaction of its own.
    """

    async def apply(events: Sequence[DomainEvent[Any]], *, session: AsyncSession) -> None:
        for event in events:
            await _BY_TYPE[event.type](event, session=session, router=router)
            # The handlers mix Core upserts, which bypass the ORM, with `session.get`, which
            # answers from the identity map: an object an earlier event loaded would not show
            # a later upsert (an alert after a re-tiering routed on the old tier), and an
            # unflushed change would land over a later upsert (a retirement over the
            # re-registration after it). Only SQLAlchemy's weakly held identity map and its
            # autoflush prevent that today; flushing and forgetting the objects after each
            # event makes it hold whatever a handler keeps (the next event reads them again
            # either way).
            await session.flush()
            session.expunge_all()

    return apply


class RouterIngest:
    """The router's batch handler: a batch applied in one transaction, then the scheduler woken.

    Events of types the router has no handler for are dropped before the claim: there is
    no effect to make idempotent, so they cost no `processed_events` row (as before the
    batch contract), and a batch with nothing for the router opens no transaction.
    """

    def __init__(self, resources: ServiceResources, router: Router) -> None:
        self._router = router
        self._apply = idempotent_batch(
            apply_in_order(router),
            sessionmaker=resources["sessionmaker"],
            table=processed_events,
            consumer=GROUP,
        )

    async def __call__(self, events: Sequence[DomainEvent[Any]], /) -> None:
        """Apply the batch's events the router handles; return once they are committed."""
        handled = [event for event in events if event.type in _BY_TYPE]
        if not handled:
            return
        await self._apply(handled)
        # Committed (a redelivery too: a crashed predecessor may have left work due): a
        # flush or delivery may be due now.
        self._router.wake()


def build_consumers(
    resources: ServiceResources, router: Router, *, instances: int = 1
) -> list[ConsumerRunner]:
    """The router's consumer runners: `instances` members of one group share the partitions.

    A runner applies each polled batch of its partitions in one transaction, in offset order
    per partition; several runners in one process handle different partitions concurrently
    (order per system is kept: key = system). A batch that keeps failing is split by the
    runner until the event that fails is alone and dead-lettered.
    """
    ingest = RouterIngest(resources, router)
    return [
        ConsumerRunner(resources["bus"], group=GROUP, topics=TOPICS, batch_handler=ingest)
        for _ in range(instances)
    ]
