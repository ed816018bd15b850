"""Helpers for tests of code that publishes or consumes aigov events (on a real bus)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from aigov_events.bus import Bus, IncomingRecord
from aigov_events.kafka_bus import KafkaBus

_exporter: InMemorySpanExporter | None = None


def capture_spans() -> InMemorySpanExporter:
    """An in-memory exporter attached to the global SDK tracer provider (installed if absent)."""
    global _exporter
    if _exporter is None:
        provider = trace.get_tracer_provider()
        if not isinstance(provider, TracerProvider):
            provider = TracerProvider()
            trace.set_tracer_provider(provider)
        _exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(_exporter))
    return _exporter


async def read_records(
    bus: Bus,
    topics: Sequence[str],
    *,
    count: int,
    max_wait: float = 30.0,
    group: str | None = None,
) -> list[IncomingRecord]:
    """Read at least `count` records from the start of `topics` with a fresh group (no commit)."""
    subscription = bus.subscribe(group=group or f"test-reader-{uuid.uuid4()}", topics=topics)
    await subscription.start()
    records: list[IncomingRecord] = []
    deadline = time.monotonic() + max_wait
    try:
        while len(records) < count and time.monotonic() < deadline:
            records += await subscription.poll(max_wait=0.5, max_records=500)
    finally:
        await subscription.close()
    return records


async def drop_topics(bootstrap_servers: str, prefix: str) -> None:
    """Delete every topic whose name starts with `prefix` (a test's private namespace).

    Tests give each run its own topic prefix; deleting the topics afterwards keeps the
    broker small (thousands of leftover partitions make a broker slow to start).
    """
    if not prefix:
        raise ValueError("refusing to delete topics without a prefix")
    bus = KafkaBus(bootstrap_servers, client_id="aigov-test-cleanup")
    await bus.start()
    try:
        await bus.delete_topics_with_prefix(prefix)
    finally:
        await bus.stop()
