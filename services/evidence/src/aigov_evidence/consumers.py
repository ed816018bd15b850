"""The ledger consumer: every topic, appended in batches (one transaction per poll).

`aigov_events.ConsumerRunner` hands a handler one event at a time; at one transaction per
event the ledger could not ingest 10,000 events/s. `LedgerConsumer` reuses the runner's
loop (poll, group membership, lag, DLQ, stop) and replaces only how a polled batch is
handled: poison records go to the DLQ, the rest are appended and projected in one
transaction, then the offsets are committed. If the batch keeps failing, its records are
retried one by one so a single bad record is dead-lettered instead of blocking the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_events.bus import Bus, BusError, IncomingRecord, Subscription
from aigov_events.consumer import HANDLED, ConsumerRunner, RetryPolicy
from aigov_events.envelope import from_kafka_record
from aigov_events.errors import EventError
from aigov_events.message import DomainEvent, decode
from aigov_events.topics import MAIN_TOPICS
from aigov_evidence.handlers import project
from aigov_evidence.ledger import LedgerEntry, append, entry_from_event
from aigov_evidence.settings import Settings
from aigov_runtime.resources import ServiceResources

log = logging.getLogger(__name__)

Batch = list[tuple[IncomingRecord, LedgerEntry]]


async def record_batch(
    sessionmaker: async_sessionmaker[AsyncSession], entries: Sequence[LedgerEntry]
) -> list[LedgerEntry]:
    """Append events to the ledger and project the new ones, in one transaction."""
    async with sessionmaker() as session, session.begin():
        appended = await append(session, entries)
        await project(session, appended)
    return appended


async def _never_called(event: DomainEvent[Any]) -> None:  # pragma: no cover
    raise AssertionError("LedgerConsumer handles whole batches")


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
            handler=_never_called,
            retry=retry,
            max_records=max_records,
            poll_timeout=poll_timeout,
        )
        self._sessionmaker = sessionmaker

    async def _process(self, subscription: Subscription, records: list[IncomingRecord]) -> None:
        batch: Batch = []
        for record in records:
            try:
                event = decode(from_kafka_record(record.value, record.headers))
            except EventError as exc:
                if not await self._dead_letter(record, exc, attempts=0):
                    await self._rewind(subscription, records)
                    return
                continue
            batch.append((record, entry_from_event(event)))
        if batch and not await self._write(batch):
            await self._rewind(subscription, records)
            return
        log.debug("ledger batch recorded", extra={"group": self.group, "records": len(records)})
        progress: dict[tuple[str, int], int] = {}
        for record in records:
            key = (record.topic, record.partition)
            progress[key] = max(progress.get(key, 0), record.offset + 1)
            HANDLED.labels(self.group, record.topic, "ok").inc()
        try:
            await subscription.commit(progress)
        except BusError as exc:
            log.warning(
                "offset commit failed; records will be redelivered (the ledger ignores repeats)",
                extra={"group": self.group, "error": str(exc)},
            )

    async def _write(self, batch: Batch) -> bool:
        """Record the batch; False if stopping interrupted it (nothing to commit then)."""
        failure = await self._attempt([entry for _, entry in batch])
        if failure is None:
            return True
        if self.stopping:
            return False
        log.error(
            "ledger batch keeps failing; recording its events one by one",
            extra={"group": self.group, "events": len(batch), "error": repr(failure)},
        )
        for record, entry in batch:
            error = await self._attempt([entry])
            if error is None:
                continue
            if self.stopping or not await self._dead_letter(
                record, error, attempts=self._retry.attempts
            ):
                return False
        return True

    async def _attempt(self, entries: list[LedgerEntry]) -> BaseException | None:
        """Try to record `entries` with retries; the last error if they all failed."""
        attempt = 0
        while True:
            attempt += 1
            try:
                await record_batch(self._sessionmaker, entries)
            except Exception as exc:
                if attempt >= self._retry.attempts:
                    return exc
                delay = self._retry.delay(attempt)
                log.warning(
                    "ledger append failed; retrying",
                    extra={"group": self.group, "attempt": attempt, "error": repr(exc)},
                )
                if await self._sleep_unless_stopping(delay):
                    return exc
            else:
                return None

    async def _rewind(self, subscription: Subscription, records: list[IncomingRecord]) -> None:
        """Read the batch again next time (stopping mid-batch, or the DLQ is unreachable)."""
        first: dict[tuple[str, int], int] = {}
        for record in records:
            first.setdefault((record.topic, record.partition), record.offset)
        for (topic, partition), offset in first.items():
            await subscription.seek(topic, partition, offset)


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
