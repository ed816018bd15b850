"""Publishing aigov events: Kafka binary mode, key = system id, trace context in headers.

`publish` and `publish_batch` return only after the bus acknowledged every record
(Kafka: acks=all from an idempotent producer). A batch is atomic: readers with
read_committed isolation see all of it or none of it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from prometheus_client import Counter, Histogram

from aigov_events import telemetry
from aigov_events.bus import Bus, OutgoingRecord, RecordPosition
from aigov_events.envelope import to_kafka_binary
from aigov_events.message import DomainEvent
from aigov_events.topics import partition_key

PUBLISHED = Counter(
    "aigov_events_published_total",
    "Events acknowledged by the bus.",
    ["topic", "type"],
)
PUBLISH_FAILURES = Counter(
    "aigov_events_publish_failures_total",
    "Publish calls the bus did not acknowledge.",
    ["topic"],
)
PUBLISH_SECONDS = Histogram(
    "aigov_events_publish_seconds",
    "Time from publish call to acknowledgement.",
    ["mode"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def to_record(
    event: DomainEvent[Any], trace_headers: Sequence[tuple[str, bytes]] | None = None
) -> OutgoingRecord:
    """The Kafka record for an event: binary mode, key = system id, current trace context.

    `trace_headers` are the current context's headers when the caller already computed
    them (a batch shares one context); otherwise they are computed here.
    """
    value, headers = to_kafka_binary(event.envelope)
    headers.extend(telemetry.context_headers() if trace_headers is None else trace_headers)
    return OutgoingRecord(
        topic=event.topic,
        key=partition_key(event.system_id),
        value=value,
        headers=headers,
    )


class Publisher:
    """Publishes aigov events on a bus and waits for the acknowledgement."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus

    @property
    def bus(self) -> Bus:
        """The bus this publisher writes to."""
        return self._bus

    async def publish(self, event: DomainEvent[Any]) -> RecordPosition:
        """Publish one event; returns where it was written once acknowledged."""
        [position] = await self.publish_batch([event])
        return position

    async def publish_batch(self, events: Sequence[DomainEvent[Any]]) -> list[RecordPosition]:
        """Publish events atomically: read_committed readers see all of them or none."""
        if not events:
            return []
        started = time.perf_counter()
        first = events[0]
        # One producer span per publish call (a batch is one send operation); every record
        # carries its context, so each consumer span is a child of it.
        span = telemetry.start_publish_span(first.topic, first.type, first.id, self._bus.kind)
        if len(events) > 1:
            span.set_attribute("messaging.batch.message_count", len(events))
        with trace.use_span(span, end_on_exit=False):
            trace_headers = telemetry.context_headers()
        records = [to_record(event, trace_headers) for event in events]
        try:
            positions = await self._bus.send(records, atomic=len(records) > 1)
        except Exception as exc:
            for topic in {r.topic for r in records}:
                PUBLISH_FAILURES.labels(topic).inc()
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, str(exc)))
            raise
        finally:
            PUBLISH_SECONDS.labels("batch" if len(records) > 1 else "single").observe(
                time.perf_counter() - started
            )
            span.end()
        for event in events:
            PUBLISHED.labels(event.topic, event.type).inc()
        return positions

    async def send_records(self, records: Sequence[OutgoingRecord]) -> list[RecordPosition]:
        """Send prepared records (e.g. dead letters) and wait for the acknowledgement."""
        return await self._bus.send(records, atomic=len(records) > 1)
