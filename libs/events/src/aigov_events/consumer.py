"""The consumer runner, written once and used by every service on either bus.

The contract is a batch: the runner polls up to `max_records` records (waiting at most
`poll_timeout`), decodes them, dead-letters the poison ones (undecodable or invalid), and
calls the batch handler once with the rest — the handler applies them in one database
transaction of its own. Offsets are committed only after the handler returned, so a
crash between the handler's commit and the offset commit redelivers the batch: handlers
must be idempotent. A failing call is retried with exponential backoff; a batch that
keeps failing is split in halves (recursively, first half first) until the one record
that fails is alone, and that record is written to its topic's `.dlq` twin with the
error and its origin in headers; the rest of the batch still commits. So one bad record
never blocks its partition, nothing is dropped silently, and records of one partition
are handled strictly in offset order.

While a batch is handled the runner already reads and decodes the next one: a handler
spends much of its call waiting on its database, and decoding is most of a consumer's
own CPU. That batch is only read ahead, never handled or committed early: if the runner
stops, it is dropped and read again by whoever owns its partitions next; if a partition
of the current batch is read again from an unfinished record, the read-ahead records of
that partition are dropped too, so each partition is still handled strictly in order.

Per-record handlers (`Handler`, `Dispatcher`) are a thin layer over the same loop: they
are called for each event of the batch in order, and a failure is attributed to its
record, which is retried and dead-lettered alone without repeating the ones before it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import Any, Final, NamedTuple, Protocol, TypeVar

from opentelemetry import trace
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from prometheus_client import Counter, Gauge, Histogram

from aigov_events import telemetry
from aigov_events.bus import (
    Bus,
    BusError,
    IncomingRecord,
    OutgoingRecord,
    Subscription,
    TopicPartition,
)
from aigov_events.catalog import EventPayload
from aigov_events.envelope import format_time, now
from aigov_events.errors import EventError
from aigov_events.message import DomainEvent, decode_record
from aigov_events.topics import dlq

log = logging.getLogger(__name__)

P = TypeVar("P", bound=EventPayload)
Handler = Callable[[DomainEvent[Any]], Awaitable[None]]


class BatchHandler(Protocol):
    """Applies a batch of events, all or nothing, in one transaction of its own.

    Called once per batch with the events in offset order per partition. Raising makes
    the runner retry the batch and, if it keeps failing, split it to find the bad event;
    `PermanentError` skips the retries. The handler must be idempotent: after a crash
    between its commit and the offset commit the same events come again.
    """

    def __call__(self, events: Sequence[DomainEvent[Any]], /) -> Awaitable[None]:
        """Apply `events`; return only once their effects are committed."""
        ...


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
# The SDK keeps 128 links per span by default; extracting more trace contexts is wasted work.
_MAX_BATCH_LINKS: Final = 128
# Poll failures beyond this many in a row no longer lengthen the backoff (it is capped anyway).
_MAX_BACKOFF_STEPS: Final = 10
# Records decoded between two yields to the event loop while a batch is read ahead, so the
# batch in flight gets its database replies without waiting for the whole next batch.
_DECODE_SLICE: Final = 100

HANDLED = Counter(
    "aigov_events_handled_total",
    "Records the consumer runner finished with, by outcome (ok, skipped, dead_lettered).",
    ["group", "topic", "outcome"],
)
RETRIES = Counter(
    "aigov_events_handler_retries_total",
    "Handler calls that failed and were retried (per topic in the failed call).",
    ["group", "topic"],
)
HANDLE_SECONDS = Histogram(
    "aigov_events_handle_seconds",
    "Time of one per-record handler call for one record.",
    ["group"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BATCH_SIZE = Histogram(
    "aigov_events_batch_size",
    "Records in one polled batch.",
    ["group"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000),
)
BATCH_SECONDS = Histogram(
    "aigov_events_batch_seconds",
    "Time to finish one polled batch: decode, handle (retries and splits included), "
    "dead letters and offset commit.",
    ["group"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
BATCH_SPLITS = Counter(
    "aigov_events_batch_splits_total",
    "Failing handler batches split in halves to isolate the record that fails.",
    ["group"],
)
POLL_ERRORS = Counter(
    "aigov_events_poll_errors_total",
    "Polls the bus refused (retried with backoff).",
    ["group"],
)
CONSUMER_LAG = Gauge(
    "aigov_consumer_lag",
    "Records in the log that the consumer group has not committed yet.",
    ["group", "topic", "partition"],
)


class PermanentError(Exception):
    """Raised by a handler when retrying cannot help: the event goes to the DLQ at once.

    From a batch handler called with several events it means "one of these can never
    succeed": the batch is split at once, without retries, to find which one.
    """


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a failing handler (or a refused poll) is retried."""

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


@dataclass(frozen=True, slots=True)
class _Delivery:
    """A decoded record on its way to the handler; `index` is its place in the poll."""

    index: int
    record: IncomingRecord
    event: DomainEvent[Any]


class _Polled(NamedTuple):
    """One poll's records and, for each, its decoded event or why it is undecodable."""

    records: list[IncomingRecord]
    decoded: list[DomainEvent[Any] | EventError]


class _PartlyHandled(Exception):
    """The first `handled` deliveries of a call are finished; the next one failed (the cause)."""

    def __init__(self, handled: int) -> None:
        super().__init__(f"failed after {handled} handled events")
        self.handled = handled


def _accept_all(event_type: str) -> bool:
    return True


class ConsumerRunner:
    """Runs one consumer-group member: poll, handle in order, commit, dead-letter poison.

    Give it either `handler` (called once per event; a `Dispatcher` also skips the types
    it has no handler for) or `batch_handler` (called once per polled batch).
    """

    def __init__(
        self,
        bus: Bus,
        *,
        group: str,
        topics: Sequence[str],
        handler: Handler | Dispatcher | None = None,
        batch_handler: BatchHandler | None = None,
        retry: RetryPolicy = RetryPolicy(),
        max_records: int = 200,
        poll_timeout: float = 0.5,
        lag_interval: float = 5.0,
    ) -> None:
        if (handler is None) == (batch_handler is None):
            raise ValueError("give the consumer runner either a handler or a batch_handler")
        self._bus = bus
        self.group = group
        self._topics = tuple(topics)
        self._call: Callable[[Sequence[_Delivery]], Awaitable[None]]
        self._accepts: Callable[[str], bool] = _accept_all
        if handler is not None:
            self._record_handler = handler
            self._call = self._call_each
            if isinstance(handler, Dispatcher):
                self._accepts = handler.handles
        elif batch_handler is not None:
            self._batch_handler = batch_handler
            self._call = self._call_batch
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
        ahead: asyncio.Future[_Polled] | None = None
        try:
            while not self._stopping.is_set():
                polled = await ahead if ahead is not None else await self._read(subscription)
                ahead = None
                if polled.records:
                    ahead = asyncio.ensure_future(self._read(subscription))
                    rewind = await self._process(subscription, polled)
                    if rewind:
                        ahead = await self._rewind(subscription, rewind, ahead)
                await self._report_lag(subscription)
        finally:
            if ahead is not None:
                # Read but never handled, so never committed: read again after a restart.
                ahead.cancel()
                await asyncio.gather(ahead, return_exceptions=True)
            await subscription.close()
            log.info("consumer stopped", extra={"group": self.group})

    async def _read(self, subscription: Subscription) -> _Polled:
        """Poll, then decode each record, yielding to the event loop now and then."""
        records = await self._poll(subscription)
        decoded: list[DomainEvent[Any] | EventError] = []
        for start in range(0, len(records), _DECODE_SLICE):
            if start:
                await asyncio.sleep(0)
            for record in records[start : start + _DECODE_SLICE]:
                try:
                    decoded.append(decode_record(record.value, record.headers))
                except EventError as exc:
                    decoded.append(exc)
        return _Polled(records, decoded)

    async def _rewind(
        self,
        subscription: Subscription,
        rewind: dict[TopicPartition, int],
        ahead: asyncio.Future[_Polled],
    ) -> asyncio.Future[_Polled]:
        """Read partitions again from their unfinished records; drop what was read ahead of them.

        The seek waits for the read ahead to finish, so no poll is in flight when it moves
        a partition's position.
        """
        polled = await ahead
        for (topic, partition), offset in rewind.items():
            await subscription.seek(topic, partition, offset)
        kept = [
            (record, decoded)
            for record, decoded in zip(polled.records, polled.decoded, strict=True)
            if (record.topic, record.partition) not in rewind
        ]
        rest: asyncio.Future[_Polled] = asyncio.get_running_loop().create_future()
        rest.set_result(_Polled([r for r, _ in kept], [d for _, d in kept]))
        return rest

    async def _poll(self, subscription: Subscription) -> list[IncomingRecord]:
        """The next records; while the bus refuses, wait with backoff (until stopping)."""
        failures = 0
        while True:
            try:
                return await subscription.poll(
                    max_wait=self._poll_timeout, max_records=self._max_records
                )
            except BusError as exc:
                # A broker restart or a network blip: the group and its offsets survive it.
                failures += 1
                POLL_ERRORS.labels(self.group).inc()
                delay = self._retry.delay(min(failures, _MAX_BACKOFF_STEPS))
                log.warning(
                    "poll failed; retrying",
                    extra={
                        "group": self.group,
                        "failures": failures,
                        "retry_in_s": round(delay, 3),
                        "error": str(exc),
                    },
                )
                if await self._sleep_unless_stopping(delay):
                    return []

    async def _process(
        self, subscription: Subscription, polled: _Polled
    ) -> dict[TopicPartition, int]:
        """Finish one polled batch and commit, per partition, what is finished.

        Returns the partitions to read again and the offset of each one's first
        unfinished record (empty unless the runner is stopping mid-batch).
        """
        started = time.perf_counter()
        records = polled.records
        BATCH_SIZE.labels(self.group).observe(len(records))
        finished = [False] * len(records)
        # Partitions whose poison record could not be dead-lettered: nothing after it is
        # handled now, the partition is read again from there.
        blocked: set[TopicPartition] = set()
        deliveries: list[_Delivery] = []
        for index, (record, event) in enumerate(zip(records, polled.decoded, strict=True)):
            tp = (record.topic, record.partition)
            if tp in blocked:
                continue
            if isinstance(event, EventError):
                if await self._dead_letter(record, event, attempts=0, reason="undecodable"):
                    finished[index] = True
                else:
                    blocked.add(tp)
                continue
            if not self._accepts(event.type):
                HANDLED.labels(self.group, record.topic, "skipped").inc()
                finished[index] = True
                continue
            deliveries.append(_Delivery(index, record, event))
        if deliveries:
            settled = await self._settle(deliveries)
            for delivery in deliveries[:settled]:
                finished[delivery.index] = True
        rewind = await self._commit(subscription, records, finished)
        BATCH_SECONDS.labels(self.group).observe(time.perf_counter() - started)
        return rewind

    async def _settle(self, deliveries: Sequence[_Delivery]) -> int:
        """Handle, or dead-letter, `deliveries` in order; how many are finished.

        What is finished is always a prefix: the runner stops early only when stop() is
        called during a backoff or the DLQ cannot be written, and then reads the rest again.
        """
        done = 0
        attempt = 0
        while done < len(deliveries):
            pending = deliveries[done:]
            attempt += 1
            try:
                await self._call(pending)
            except _PartlyHandled as partly:
                self._count_ok(pending[: partly.handled])
                done += partly.handled
                if partly.handled:
                    attempt = 1  # the first attempt of the record that failed
                error: BaseException = partly.__cause__ or partly
                alone = True  # the failure is the (new) first pending record's own
            except Exception as exc:
                error = exc
                alone = len(pending) == 1
            else:
                self._count_ok(pending)
                return len(deliveries)
            failing = deliveries[done : done + 1] if alone else deliveries[done:]
            permanent = isinstance(error, PermanentError)
            if permanent or attempt >= self._retry.attempts:
                if not alone:
                    return done + await self._split(failing, error)
                reason = "refused" if permanent else "retries exhausted"
                record = failing[0].record
                if not await self._dead_letter(record, error, attempts=attempt, reason=reason):
                    return done
                done += 1
                attempt = 0
                continue
            for topic in sorted({d.record.topic for d in failing}):
                RETRIES.labels(self.group, topic).inc()
            delay = self._retry.delay(attempt)
            head = failing[0].event
            log.warning(
                "handler failed; retrying",
                extra={
                    "group": self.group,
                    "event_id": head.id,
                    "event_type": head.type,
                    "events": len(failing),
                    "attempt": attempt,
                    "retry_in_s": round(delay, 3),
                    "error": repr(error),
                },
            )
            if await self._sleep_unless_stopping(delay):
                return done
        return done

    async def _split(self, deliveries: Sequence[_Delivery], error: BaseException) -> int:
        """Settle the halves of a batch that keeps failing, first half first; how many finished."""
        BATCH_SPLITS.labels(self.group).inc()
        half = len(deliveries) // 2
        log.warning(
            "handler batch keeps failing; splitting it",
            extra={"group": self.group, "events": len(deliveries), "error": repr(error)},
        )
        first = await self._settle(deliveries[:half])
        if first < half:
            return first
        return half + await self._settle(deliveries[half:])

    def _count_ok(self, deliveries: Sequence[_Delivery]) -> None:
        # One counter update per topic, not per record: the label lookup was 4% of the
        # ledger consumer's CPU.
        per_topic: dict[str, int] = {}
        for delivery in deliveries:
            per_topic[delivery.record.topic] = per_topic.get(delivery.record.topic, 0) + 1
        for topic, count in per_topic.items():
            HANDLED.labels(self.group, topic, "ok").inc(count)

    async def _call_batch(self, deliveries: Sequence[_Delivery]) -> None:
        """One call of the batch handler, in a span linked to every record's trace."""
        with self._batch_span(deliveries):
            await self._batch_handler([d.event for d in deliveries])

    async def _call_each(self, deliveries: Sequence[_Delivery]) -> None:
        """The per-record layer: each event in order, each in its own span.

        A failure says how many events were handled before it, so those are not
        handled again when the failing one is retried.
        """
        for handled, delivery in enumerate(deliveries):
            failure = await self._handle_one(delivery)
            if failure is not None:
                raise _PartlyHandled(handled) from failure

    async def _handle_one(self, delivery: _Delivery) -> Exception | None:
        """Call the per-record handler in the record's span; its error, if it failed."""
        started = time.perf_counter()
        with self._record_span(delivery.record) as span:
            self._describe(span, delivery.event)
            try:
                await self._record_handler(delivery.event)
            except Exception as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                return exc
            finally:
                HANDLE_SECONDS.labels(self.group).observe(time.perf_counter() - started)
        return None

    @contextmanager
    def _record_span(self, record: IncomingRecord) -> Iterator[Span]:
        with telemetry.process_span(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            group=self.group,
            headers=record.headers,
            system=self._bus.kind,
        ) as span:
            yield span

    @staticmethod
    def _describe(span: Span, event: DomainEvent[Any]) -> None:
        span.set_attribute("messaging.message.id", event.id)
        span.set_attribute("cloudevents.event_type", event.type)

    @contextmanager
    def _batch_span(self, deliveries: Sequence[_Delivery]) -> Iterator[Span]:
        """A record's own span for a batch of one; else a batch span linked to the producers."""
        if len(deliveries) == 1:
            with self._record_span(deliveries[0].record) as span:
                self._describe(span, deliveries[0].event)
                yield span
            return
        links: list[Link] = []
        for delivery in islice(deliveries, _MAX_BATCH_LINKS):
            parent = telemetry.extract(delivery.record.headers)
            context = trace.get_current_span(parent).get_span_context()
            if context.is_valid:
                links.append(Link(context))
        topics = sorted({d.record.topic for d in deliveries})
        with telemetry.TRACER.start_as_current_span(
            f"process {topics[0]}" if len(topics) == 1 else "process",
            kind=SpanKind.CONSUMER,
            links=links,
            attributes={
                "messaging.system": self._bus.kind,
                "messaging.operation.type": "process",
                "messaging.batch.message_count": len(deliveries),
                "messaging.consumer.group.name": self.group,
            },
        ) as span:
            yield span

    async def _commit(
        self,
        subscription: Subscription,
        records: Sequence[IncomingRecord],
        finished: Sequence[bool],
    ) -> dict[TopicPartition, int]:
        """Commit each partition up to its first unfinished record; return those records' offsets."""
        progress: dict[TopicPartition, int] = {}
        rewind: dict[TopicPartition, int] = {}
        for record, done in zip(records, finished, strict=True):
            tp = (record.topic, record.partition)
            if tp in rewind:
                continue  # behind an unfinished record: read again, in order
            if done:
                progress[tp] = record.offset + 1
            else:
                rewind[tp] = record.offset
        if not progress:
            return rewind
        try:
            await subscription.commit(progress)
        except BusError as exc:
            log.warning(
                "offset commit failed; records will be redelivered",
                extra={"group": self.group, "error": str(exc)},
            )
        return rewind

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
        self, record: IncomingRecord, error: BaseException, *, attempts: int, reason: str
    ) -> bool:
        """Write the record to the DLQ; keep trying while the bus refuses, unless stopping."""
        with self._record_span(record) as span:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, reason))
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
                    delay = self._retry.delay(min(failures, _MAX_BACKOFF_STEPS))
                    if await self._sleep_unless_stopping(delay):
                        return False
                    continue
                break
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
