"""Exactly-once effects on top of at-least-once delivery.

A handler's writes and the row recording "consumer X processed event E" commit in
one database transaction. A redelivered event finds its row and is skipped, so the
handler's effects happen once even though the event may arrive many times.

An event is identified by (source, id), as CloudEvents defines it and intake deduplicates:
two producers may pick the same id, and each of their events must have its effects.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from prometheus_client import Counter
from sqlalchemy import Column, DateTime, MetaData, String, Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_events.message import DomainEvent
from aigov_runtime.database import insert_if_new

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


async def claim(
    session: AsyncSession, table: Table, *, consumer: str, event: DomainEvent[Any]
) -> bool:
    """Record that `consumer` processes `event` (by source and id); False if it already did."""
    return await insert_if_new(
        session,
        table,
        {
            "consumer": consumer,
            "source": event.envelope.source,
            "event_id": event.id,
            "event_type": event.type,
            "processed_at": datetime.now(UTC),
        },
    )


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
