"""The consumer runner, written once and used by every service on either bus.

For each record: decode (envelope + catalog) -> continue the producer's trace ->
call the typed handler -> commit the offset only after the handler succeeded.
Transient handler failures are retried with exponential backoff; poison records
(undecodable, invalid, or still failing after the retries) are written to the
topic's `.dlq` twin with the error and their origin in headers, then committed,
so one bad record never blocks its partition and nothing is dropped silently.
Records of one partition are handled strictly in order.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from opentelemetry.trace import Status, StatusCode
from prometheus_client import Counter, Gauge, Histogram

from aigov_events import telemetry
from aigov_events.bus import Bus, BusError, IncomingRecord, OutgoingRecord, Subscription
from aigov_events.catalog import EventPayload
from aigov_events.envelope import format_time, from_kafka_record, now
from aigov_events.errors import EventError
from aigov_events.message import DomainEvent, decode
from aigov_events.topics import dlq

log = logging.getLogger(__name__)

P = TypeVar("P", bound=EventPayload)
Handler = Callable[[DomainEvent[Any]], Awaitable[None]]

#: Headers a dead letter carries, besides the original record's own.
DLQ_ERROR: Final = "aigov_dlq_error"
DLQ_ERROR_TYPE: Final = "aigov_dlq_error_type"
DLQ_TOPIC: Final = "aigov_dlq_topic"
DLQ_PARTITION: Final = "aigov_dlq_partition"
DLQ_OFFSET: Final = "aigov_dlq_offset"
DLQ_GROUP: Final = "aigov_dlq_group"
DLQ_ATTEMPTS: Final = "aigov_dlq_attempts"
DLQ_TIME: Final = "aigov_dlq_time"
_MAX_ERROR_BYTES: Final = 4096

HANDLED = Counter(
    "aigov_events_handled_total",
    "Records the consumer runner finished with, by outcome (ok, skipped, dead_lettered).",
    ["group", "topic", "outcome"],
)
RETRIES = Counter(
    "aigov_events_handler_retries_total",
    "Handler attempts that failed and were retried.",
    ["group", "topic"],
)
HANDLE_SECONDS = Histogram(
    "aigov_events_handle_seconds",
    "Time to handle one record, retries included.",
    ["group"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CONSUMER_LAG = Gauge(
    "aigov_consumer_lag",
    "Records in the log that the consumer group has not committed yet.",
    ["group", "topic", "partition"],
)


class PermanentError(Exception):
    """Raised by a handler when retrying cannot help: the event goes to the DLQ at once."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a failing handler is retried."""

    attempts: int = 5
    initial_backoff: float = 0.1
    max_backoff: float = 5.0
    multiplier: float = 2.0

    def delay(self, failed_attempts: int) -> float:
        """Backoff before the next attempt: exponential, capped, with full jitter."""
        ceiling = min(
            self.max_backoff, self.initial_backoff * self.multiplier ** (failed_attempts - 1)
        )
        return random.uniform(ceiling / 2, ceiling)


class Dispatcher:
    """Routes each event to the handler registered for its payload type.

    Events of types no handler is registered for are acknowledged and skipped: a
    service reads whole topics but cares only about some event types.
    """

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(
        self, payload_type: type[P], handler: Callable[[DomainEvent[P]], Awaitable[None]]
    ) -> None:
        """Handle events whose payload is `payload_type` with `handler`."""
        if payload_type.event_type in self._handlers:
            raise ValueError(f"a handler for {payload_type.event_type} is already registered")
        self._handlers[payload_type.event_type] = handler

    def handles(self, event_type: str) -> bool:
        """Whether a handler is registered for `event_type`."""
        return event_type in self._handlers

    async def __call__(self, event: DomainEvent[Any]) -> None:
        """Call the event's handler, if there is one."""
        handler = self._handlers.get(event.type)
        if handler is not None:
            await handler(event)


class ConsumerRunner:
    """Runs one consumer-group member: poll, handle in order, commit, dead-letter poison."""

    def __init__(
        self,
        bus: Bus,
        *,
        group: str,
        topics: Sequence[str],
        handler: Handler | Dispatcher,
        retry: RetryPolicy = RetryPolicy(),
        max_records: int = 200,
        poll_timeout: float = 0.5,
        lag_interval: float = 5.0,
    ) -> None:
        self._bus = bus
        self.group = group
        self._topics = tuple(topics)
        self._handler = handler
        self._retry = retry
        self._max_records = max_records
        self._poll_timeout = poll_timeout
        self._lag_interval = lag_interval
        self._stopping = asyncio.Event()
        self._started = asyncio.Event()
        self._next_lag_report = 0.0

    def stop(self) -> None:
        """Ask the runner to finish its in-flight batch, commit, leave the group and return."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        """Whether stop() was called."""
        return self._stopping.is_set()

    async def wait_started(self) -> None:
        """Wait until the runner has joined its group."""
        await self._started.wait()

    async def run(self) -> None:
        """Consume until stop() is called."""
        subscription = self._bus.subscribe(group=self.group, topics=self._topics)
        await subscription.start()
        self._started.set()
        log.info("consumer started", extra={"group": self.group, "topics": list(self._topics)})
        try:
            while not self._stopping.is_set():
                records = await subscription.poll(
                    max_wait=self._poll_timeout, max_records=self._max_records
                )
                if records:
                    await self._process(subscription, records)
                await self._report_lag(subscription)
        finally:
            await subscription.close()
            log.info("consumer stopped", extra={"group": self.group})

    async def _process(self, subscription: Subscription, records: list[IncomingRecord]) -> None:
        by_partition: dict[tuple[str, int], list[IncomingRecord]] = {}
        for record in records:
            by_partition.setdefault((record.topic, record.partition), []).append(record)
        progress: dict[tuple[str, int], int] = {}
        for tp, partition_records in by_partition.items():
            for record in partition_records:
                if not await self._handle(record):
                    # Not finished (stopping mid-retry, or the DLQ is unreachable): read it
                    # again next time and keep the rest of the partition behind it, in order.
                    await subscription.seek(record.topic, record.partition, record.offset)
                    break
                progress[tp] = record.offset + 1
        if progress:
            try:
                await subscription.commit(progress)
            except BusError as exc:
                log.warning(
                    "offset commit failed; records will be redelivered",
                    extra={"group": self.group, "error": str(exc)},
                )

    async def _handle(self, record: IncomingRecord) -> bool:
        """Handle one record; True when it is finished with (handled, skipped or dead-lettered)."""
        started = time.perf_counter()
        with telemetry.process_span(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            group=self.group,
            headers=record.headers,
            system=self._bus.kind,
        ) as span:
            try:
                try:
                    event = decode(from_kafka_record(record.value, record.headers))
                except EventError as exc:
                    span.set_status(Status(StatusCode.ERROR, "undecodable"))
                    return await self._dead_letter(record, exc, attempts=0)
                span.set_attribute("messaging.message.id", event.id)
                span.set_attribute("cloudevents.event_type", event.type)
                if isinstance(self._handler, Dispatcher) and not self._handler.handles(event.type):
                    HANDLED.labels(self.group, record.topic, "skipped").inc()
                    return True
                return await self._call_with_retries(record, event, span)
            finally:
                HANDLE_SECONDS.labels(self.group).observe(time.perf_counter() - started)

    async def _call_with_retries(
        self, record: IncomingRecord, event: DomainEvent[Any], span: Any
    ) -> bool:
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._handler(event)
            except PermanentError as exc:
                span.record_exception(exc)
                return await self._dead_letter(record, exc, attempts=attempt)
            except Exception as exc:
                span.record_exception(exc)
                if attempt >= self._retry.attempts:
                    span.set_status(Status(StatusCode.ERROR, "retries exhausted"))
                    return await self._dead_letter(record, exc, attempts=attempt)
                RETRIES.labels(self.group, record.topic).inc()
                delay = self._retry.delay(attempt)
                log.warning(
                    "handler failed; retrying",
                    extra={
                        "group": self.group,
                        "event_id": event.id,
                        "event_type": event.type,
                        "attempt": attempt,
                        "retry_in_s": round(delay, 3),
                        "error": repr(exc),
                    },
                )
                if await self._sleep_unless_stopping(delay):
                    return False
            else:
                HANDLED.labels(self.group, record.topic, "ok").inc()
                return True

    async def _sleep_unless_stopping(self, delay: float) -> bool:
        """Sleep `delay` seconds; True if stop() was called meanwhile."""
        try:
            await asyncio.wait_for(self._stopping.wait(), delay)
        except TimeoutError:
            return False
        return True

    def dead_letter_record(
        self, record: IncomingRecord, error: BaseException, *, attempts: int
    ) -> OutgoingRecord:
        """The record written to the `.dlq` twin: the original plus where it came from and why."""
        message = str(error).encode("utf-8")[:_MAX_ERROR_BYTES]
        headers = telemetry.strip_trace_headers(record.headers)
        headers += [
            (DLQ_ERROR, message),
            (DLQ_ERROR_TYPE, type(error).__name__.encode()),
            (DLQ_TOPIC, record.topic.encode()),
            (DLQ_PARTITION, str(record.partition).encode()),
            (DLQ_OFFSET, str(record.offset).encode()),
            (DLQ_GROUP, self.group.encode()),
            (DLQ_ATTEMPTS, str(attempts).encode()),
            (DLQ_TIME, format_time(now()).encode()),
        ]
        telemetry.inject(headers)
        return OutgoingRecord(
            topic=dlq(record.topic), key=record.key, value=record.value, headers=headers
        )

    async def _dead_letter(
        self, record: IncomingRecord, error: BaseException, *, attempts: int
    ) -> bool:
        """Write the record to the DLQ; keep trying while the bus refuses, unless stopping."""
        letter = self.dead_letter_record(record, error, attempts=attempts)
        failures = 0
        while True:
            try:
                await self._bus.send([letter], atomic=False)
            except BusError as exc:
                failures += 1
                log.error(
                    "cannot write dead letter; will retry",
                    extra={"group": self.group, "topic": letter.topic, "error": str(exc)},
                )
                if await self._sleep_unless_stopping(self._retry.delay(min(failures, 10))):
                    return False
                continue
            HANDLED.labels(self.group, record.topic, "dead_lettered").inc()
            log.error(
                "event dead-lettered",
                extra={
                    "group": self.group,
                    "topic": record.topic,
                    "partition": record.partition,
                    "offset": record.offset,
                    "attempts": attempts,
                    "error_type": type(error).__name__,
                    "error": str(error)[:500],
                },
            )
            return True

    async def _report_lag(self, subscription: Subscription) -> None:
        now_s = time.monotonic()
        if now_s < self._next_lag_report:
            return
        self._next_lag_report = now_s + self._lag_interval
        try:
            lag = await subscription.lag()
        except Exception as exc:  # lag is telemetry: never stop consuming over it
            log.debug("lag unavailable", extra={"group": self.group, "error": repr(exc)})
            return
        for (topic, partition), value in lag.items():
            CONSUMER_LAG.labels(self.group, topic, str(partition)).set(value)


async def run_until_signalled(*runners: ConsumerRunner) -> None:
    """Run consumer runners until SIGTERM/SIGINT, then stop them gracefully (worker processes)."""
    loop = asyncio.get_running_loop()

    def stop_all() -> None:
        for runner in runners:
            runner.stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_all)
    try:
        await asyncio.gather(*(r.run() for r in runners))
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
