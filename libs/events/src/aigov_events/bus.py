"""The bus interface both transports implement: Kafka (production) and the embedded log.

The interface is deliberately Kafka-shaped — records with key, value and headers
in topics split into partitions, consumer groups with committed offsets — so the
publisher and the consumer runner are written once and behave the same on both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, Protocol

Headers = list[tuple[str, bytes]]
TopicPartition = tuple[str, int]
BusKind = Literal["kafka", "embedded"]


#: Largest record either bus accepts: under Kafka's default `message.max.bytes` (1,048,588
#: bytes for a whole record batch) with room for the batch's own overhead.
MAX_RECORD_BYTES = 1_000_000


class BusError(RuntimeError):
    """The bus could not do what was asked (broker unreachable, unknown topic, ...)."""


class RecordTooLarge(BusError):
    """A record is larger than the bus accepts."""


@dataclass(frozen=True, slots=True)
class OutgoingRecord:
    """A record to append to a topic; the partition follows from the key."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers = field(default_factory=list)


class IncomingRecord(NamedTuple):
    """A record read from a partition at an offset.

    A named tuple, not a frozen dataclass: polls build thousands a second, and a frozen
    dataclass's `__init__` (one `object.__setattr__` per field) showed in the profile.
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class RecordPosition:
    """Where an acknowledged record was written."""

    topic: str
    partition: int
    offset: int


def record_size(record: OutgoingRecord) -> int:
    """Bytes a record occupies: key, value and headers."""
    size = len(record.key or b"") + len(record.value or b"")
    return size + sum(len(n) + len(v) for n, v in record.headers)


def check_record_size(record: OutgoingRecord, limit: int) -> None:
    """Raise RecordTooLarge if `record` exceeds `limit` bytes."""
    size = record_size(record)
    if size > limit:
        raise RecordTooLarge(f"record for {record.topic} is {size} bytes; the limit is {limit}")


class Subscription(Protocol):
    """One member of a consumer group reading some topics."""

    async def start(self) -> None:
        """Join the group."""

    async def poll(self, *, max_wait: float, max_records: int) -> list[IncomingRecord]:
        """Return the next records of the assigned partitions (in offset order per partition).

        Raises BusError when the bus cannot be read right now (broker unreachable, log
        file locked, ...); the subscription stays usable and the caller polls again.
        """

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit, per partition, the offset of the next record to read."""

    async def seek(self, topic: str, partition: int, offset: int) -> None:
        """Read `topic`/`partition` again from `offset` on the next poll."""

    async def lag(self) -> dict[TopicPartition, int]:
        """Records not yet committed by this group, per assigned partition."""

    async def close(self) -> None:
        """Leave the group (its partitions go to the remaining members)."""


class Bus(Protocol):
    """A durable, partitioned, ordered log with consumer groups."""

    kind: BusKind

    async def start(self) -> None:
        """Connect (Kafka) or open the log file (embedded)."""

    async def stop(self) -> None:
        """Flush and release every resource."""

    async def ping(self) -> None:
        """Raise BusError unless the bus answers a metadata round trip."""

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create the topics that do not exist yet."""

    async def send(
        self, records: Sequence[OutgoingRecord], *, atomic: bool
    ) -> list[RecordPosition]:
        """Append records; return once every one is acknowledged (atomic: all or none visible)."""

    def subscribe(self, *, group: str, topics: Sequence[str]) -> Subscription:
        """A new (not yet started) member of consumer group `group`."""


class NamespacedBus:
    """A bus whose topics carry a prefix (`staging.` -> `staging.aigov.lifecycle`).

    Lets several environments (or test runs) share one Kafka cluster without
    seeing each other's events; callers keep using the logical topic names.
    """

    def __init__(self, inner: Bus, prefix: str) -> None:
        self._inner = inner
        self.prefix = prefix
        self.kind = inner.kind

    def physical(self, topic: str) -> str:
        """The real topic name for a logical one."""
        return self.prefix + topic

    async def start(self) -> None:
        """Start the inner bus."""
        await self._inner.start()

    async def stop(self) -> None:
        """Stop the inner bus."""
        await self._inner.stop()

    async def ping(self) -> None:
        """Ping the inner bus."""
        await self._inner.ping()

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create the prefixed topics."""
        await self._inner.ensure_topics([self.physical(t) for t in topics])

    async def send(
        self, records: Sequence[OutgoingRecord], *, atomic: bool
    ) -> list[RecordPosition]:
        """Send to the prefixed topics; positions name the logical topics."""
        renamed = [
            OutgoingRecord(self.physical(r.topic), r.key, r.value, r.headers) for r in records
        ]
        positions = await self._inner.send(renamed, atomic=atomic)
        return [RecordPosition(self._logical(p.topic), p.partition, p.offset) for p in positions]

    def _logical(self, topic: str) -> str:
        return topic[len(self.prefix) :] if topic.startswith(self.prefix) else topic

    def subscribe(self, *, group: str, topics: Sequence[str]) -> Subscription:
        """Subscribe to the prefixed topics; records name the logical topics."""
        inner = self._inner.subscribe(group=group, topics=[self.physical(t) for t in topics])
        return _NamespacedSubscription(inner, self)


class _NamespacedSubscription:
    def __init__(self, inner: Subscription, bus: NamespacedBus) -> None:
        self._inner = inner
        self._bus = bus

    async def start(self) -> None:
        await self._inner.start()

    async def poll(self, *, max_wait: float, max_records: int) -> list[IncomingRecord]:
        records = await self._inner.poll(max_wait=max_wait, max_records=max_records)
        return [
            IncomingRecord(
                self._bus._logical(r.topic),
                r.partition,
                r.offset,
                r.key,
                r.value,
                r.headers,
                r.timestamp_ms,
            )
            for r in records
        ]

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        await self._inner.commit({(self._bus.physical(t), p): o for (t, p), o in offsets.items()})

    async def seek(self, topic: str, partition: int, offset: int) -> None:
        await self._inner.seek(self._bus.physical(topic), partition, offset)

    async def lag(self) -> dict[TopicPartition, int]:
        lag = await self._inner.lag()
        return {(self._bus._logical(t), p): v for (t, p), v in lag.items()}

    async def close(self) -> None:
        await self._inner.close()


class SharedBus:
    """One bus used by several owners in a process (the all-in-one server's four services).

    Each owner starts and stops it as if it were its own; the inner bus starts with the
    first owner and stops with the last, so in-process consumers of one service are woken
    by another service's sends and share one log connection.
    """

    def __init__(self, inner: Bus, on_last_stop: Callable[[], None] | None = None) -> None:
        self._inner = inner
        self.kind = inner.kind
        self._owners = 0
        self._lock = asyncio.Lock()
        self._on_last_stop = on_last_stop

    async def start(self) -> None:
        """Start the inner bus for the first owner; later owners join it."""
        async with self._lock:
            if self._owners == 0:
                await self._inner.start()
            self._owners += 1

    async def stop(self) -> None:
        """Leave; the last owner to leave stops the inner bus."""
        async with self._lock:
            if self._owners == 0:
                return
            self._owners -= 1
            if self._owners == 0:
                await self._inner.stop()
                if self._on_last_stop is not None:
                    self._on_last_stop()

    async def ping(self) -> None:
        """Ping the inner bus."""
        await self._inner.ping()

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create the topics on the inner bus."""
        await self._inner.ensure_topics(topics)

    async def send(
        self, records: Sequence[OutgoingRecord], *, atomic: bool
    ) -> list[RecordPosition]:
        """Send on the inner bus."""
        return await self._inner.send(records, atomic=atomic)

    def subscribe(self, *, group: str, topics: Sequence[str]) -> Subscription:
        """Subscribe on the inner bus."""
        return self._inner.subscribe(group=group, topics=topics)
