"""The ledger consumer: every topic, appended in batches (one transaction per poll).

At one transaction per event the ledger could not ingest 10,000 events/s, so the ledger
consumer is a batch handler on `aigov_events.ConsumerRunner`: the runner polls, decodes and
dead-letters poison records; `LedgerAppender` appends and projects the rest in one
transaction; the runner commits the offsets after it. A batch that keeps failing is split
by the runner until the record that fails is alone and dead-lettered; the rest are
recorded. Redelivered events (a crash between the transaction and the offset commit, a
rebalance) are dropped by `append`, which skips (source, id) pairs already in the ledger.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_events.bus import Bus
from aigov_events.consumer import ConsumerRunner, RetryPolicy
from aigov_events.message import DomainEvent
from aigov_events.topics import MAIN_TOPICS
from aigov_evidence.ledger import LedgerEntry, append, entry_from_event
from aigov_evidence.projections import project
from aigov_evidence.settings import Settings
from aigov_evidence.tlog import store as tlog_store
from aigov_runtime.resources import ServiceResources

log = logging.getLogger(__name__)


async def record_batch(
    sessionmaker: async_sessionmaker[AsyncSession], entries: Sequence[LedgerEntry]
) -> list[LedgerEntry]:
    """Append events to the ledger and project the new ones, in one transaction."""
    async with sessionmaker() as session, session.begin():
        appended = await append(session, entries)
        await project(session, appended)
    return appended


class LedgerAppender:
    """The ledger's batch handler: a batch of events recorded in one transaction."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *, group: str) -> None:
        self._sessionmaker = sessionmaker
        self._group = group

    async def __call__(self, events: Sequence[DomainEvent[Any]], /) -> None:
        """Append and project `events` (those already recorded are skipped)."""
        appended = await record_batch(self._sessionmaker, [entry_from_event(e) for e in events])
        log.debug(
            "ledger batch recorded",
            extra={"group": self._group, "records": len(events), "appended": len(appended)},
        )


class LedgerConsumer(ConsumerRunner):
    """A consumer-group member that appends every event of every topic to the ledger."""

    def __init__(
        self,
        bus: Bus,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        group: str,
        topics: Sequence[str] = MAIN_TOPICS,
        max_records: int = 2000,
        retry: RetryPolicy = RetryPolicy(),
        poll_timeout: float = 0.5,
    ) -> None:
        super().__init__(
            bus,
            group=group,
            topics=topics,
            batch_handler=LedgerAppender(sessionmaker, group=group),
            retry=retry,
            max_records=max_records,
            poll_timeout=poll_timeout,
        )
        self._sessionmaker = sessionmaker

    async def run(self) -> None:
        """Add the records the transparency log lacks (older than its tree), then consume."""
        added = await tlog_store.grow(self._sessionmaker)
        if added:
            log.info("ledger records added to the transparency log", extra={"records": added})
        await super().run()


def build_consumers(resources: ServiceResources, settings: Settings) -> list[ConsumerRunner]:
    """The evidence service's consumers: the ledger consumer over every main topic."""
    return [
        LedgerConsumer(
            resources["bus"],
            sessionmaker=resources["sessionmaker"],
            group=settings.evidence_consumer_group,
            max_records=settings.evidence_batch_size,
        )
    ]
