"""Helpers for tests of code that publishes or consumes aigov events (on a real bus)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from aigov_events.bus import (
    Bus,
    IncomingRecord,
    OutgoingRecord,
    RecordPosition,
    Subscription,
    TopicPartition,
)
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


class DelegatingSubscription:
    """A group member that hands every call to `inner`; tests override what they observe."""

    def __init__(self, inner: Subscription) -> None:
        self.inner = inner

    async def start(self) -> None:
        """Join the group."""
        await self.inner.start()

    async def poll(self, *, max_wait: float, max_records: int) -> list[IncomingRecord]:
        """The next records."""
        return await self.inner.poll(max_wait=max_wait, max_records=max_records)

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit the offsets."""
        await self.inner.commit(offsets)

    async def seek(self, topic: str, partition: int, offset: int) -> None:
        """Read a partition again from `offset`."""
        await self.inner.seek(topic, partition, offset)

    async def lag(self) -> dict[TopicPartition, int]:
        """The group's lag."""
        return await self.inner.lag()

    async def close(self) -> None:
        """Leave the group."""
        await self.inner.close()


class DelegatingBus:
    """A bus that hands every call to `inner`, so a test can wrap what its members do
    (override `wrap`) while the runner under test talks to a real bus."""

    def __init__(self, inner: Bus) -> None:
        self.inner = inner
        self.kind = inner.kind

    async def start(self) -> None:
        """Start the inner bus."""
        await self.inner.start()

    async def stop(self) -> None:
        """Stop the inner bus."""
        await self.inner.stop()

    async def ping(self) -> None:
        """Ping the inner bus."""
        await self.inner.ping()

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create the topics on the inner bus."""
        await self.inner.ensure_topics(topics)

    async def send(
        self, records: Sequence[OutgoingRecord], *, atomic: bool
    ) -> list[RecordPosition]:
        """Send on the inner bus."""
        return await self.inner.send(records, atomic=atomic)

    def subscribe(self, *, group: str, topics: Sequence[str]) -> Subscription:
        """A member of the inner bus, wrapped by `wrap`."""
        return self.wrap(self.inner.subscribe(group=group, topics=topics))

    def wrap(self, member: Subscription) -> Subscription:
        """What a test puts around each member (by default, nothing)."""
        return member
