"""Exactly-once effects on top of at-least-once delivery.

A handler's writes and the row recording "consumer X processed event E" commit in
one database transaction. A redelivered event finds its row and is skipped, so the
handler's effects happen once even though the event may arrive many times.

An event is identified by (source, id), as CloudEvents defines it and intake deduplicates:
two producers may pick the same id, and each of their events must have its effects.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from prometheus_client import Counter
from sqlalchemy import Column, DateTime, MetaData, String, Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_events.message import DomainEvent
from aigov_runtime.database import insert_if_new, insert_ignore

log = logging.getLogger(__name__)

PROCESSED_EVENTS = "processed_events"

DUPLICATES = Counter(
    "aigov_events_duplicates_skipped_total",
    "Redelivered events skipped because their effects were already committed.",
    ["consumer"],
)


def processed_events_table(metadata: MetaData) -> Table:
    """Declare the processed-event table in a service's own metadata (and so its schema)."""
    return Table(
        PROCESSED_EVENTS,
        metadata,
        Column("consumer", String(200), primary_key=True),
        Column("source", String(1000), primary_key=True),
        Column("event_id", String(200), primary_key=True),
        Column("event_type", String(200), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    )


class SessionHandler(Protocol):
    """A handler that writes through the session it is given: `on_x(event, *, session)`."""

    def __call__(self, event: DomainEvent[Any], /, *, session: AsyncSession) -> Awaitable[None]:
        """Apply the event's effects using `session` (the caller commits)."""
        ...


class BatchSessionHandler(Protocol):
    """A batch handler that writes through the session it is given: `on_x(events, *, session)`."""

    def __call__(
        self, events: Sequence[DomainEvent[Any]], /, *, session: AsyncSession
    ) -> Awaitable[None]:
        """Apply the events' effects, in order, using `session` (the caller commits)."""
        ...


def _claim_row(consumer: str, event: DomainEvent[Any], at: datetime) -> dict[str, Any]:
    return {
        "consumer": consumer,
        "source": event.envelope.source,
        "event_id": event.id,
        "event_type": event.type,
        "processed_at": at,
    }


async def claim(
    session: AsyncSession, table: Table, *, consumer: str, event: DomainEvent[Any]
) -> bool:
    """Record that `consumer` processes `event` (by source and id); False if it already did."""
    return await insert_if_new(session, table, _claim_row(consumer, event, datetime.now(UTC)))


async def claim_batch(
    session: AsyncSession, table: Table, *, consumer: str, events: Sequence[DomainEvent[Any]]
) -> list[DomainEvent[Any]]:
    """Record that `consumer` processes `events`; returns those it had not, in their order.

    One INSERT ... ON CONFLICT DO NOTHING RETURNING for the whole batch: the rows it returns
    are the events new to this consumer. An event twice in the batch counts once (its first).
    """
    at = datetime.now(UTC)
    first: dict[tuple[str, str], DomainEvent[Any]] = {}
    for event in events:
        first.setdefault((event.envelope.source, event.id), event)
    if not first:
        return []
    statement = insert_ignore(table, session).returning(table.c.source, table.c.event_id)
    result = await session.execute(
        statement, [_claim_row(consumer, event, at) for event in first.values()]
    )
    new = {(source, event_id) for source, event_id in result.all()}
    return [event for key, event in first.items() if key in new]


def idempotent(
    handler: SessionHandler,
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    table: Table,
    consumer: str,
) -> Callable[[DomainEvent[Any]], Awaitable[None]]:
    """Wrap a session handler: claim the event and run the handler in one transaction."""

    async def run(event: DomainEvent[Any]) -> None:
        async with sessionmaker() as session, session.begin():
            if not await claim(session, table, consumer=consumer, event=event):
                DUPLICATES.labels(consumer).inc()
                log.info(
                    "duplicate event skipped",
                    extra={
                        "consumer": consumer,
                        "source": event.envelope.source,
                        "event_id": event.id,
                        "event_type": event.type,
                    },
                )
                return
            await handler(event, session=session)

    return run


def idempotent_batch(
    handler: BatchSessionHandler,
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    table: Table,
    consumer: str,
) -> Callable[[Sequence[DomainEvent[Any]]], Awaitable[None]]:
    """Wrap a batch session handler: claim the batch and handle its new events in one transaction.

    The result is an `aigov_events.consumer.BatchHandler`: if the handler raises, the claims
    roll back with its writes, so the runner's retry (or its split of the batch) sees the
    events as new again.
    """

    async def run(events: Sequence[DomainEvent[Any]], /) -> None:
        async with sessionmaker() as session, session.begin():
            new = await claim_batch(session, table, consumer=consumer, events=events)
            if len(new) < len(events):
                DUPLICATES.labels(consumer).inc(len(events) - len(new))
                log.info(
                    "duplicate events skipped",
                    extra={"consumer": consumer, "records": len(events), "new": len(new)},
                )
            if new:
                await handler(new, session=session)

    return run
