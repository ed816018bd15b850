"""The embedded bus: a durable partitioned log in one SQLite file, for the all-in-one mode.

Same semantics as the Kafka transport, as far as one process needs them:
- a record is acknowledged only after its SQLite transaction is durably committed
  (WAL, synchronous=FULL), so an accepted event survives a crash or restart;
- topics have partitions and keyed records go to the partition Kafka would pick;
- a batch is one SQLite transaction: readers see all of it or none of it;
- consumer groups commit offsets in the same file; the members of a group in this
  process share the partitions between them, and a restarted member resumes from
  the last committed offset (at-least-once delivery).
The file belongs to one process at a time (the all-in-one server); SQLite's own
locking keeps a second process from corrupting it, but groups are not shared
across processes.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from aigov_events.bus import (
    MAX_RECORD_BYTES,
    BusError,
    BusKind,
    Headers,
    IncomingRecord,
    OutgoingRecord,
    RecordPosition,
    TopicPartition,
    check_record_size,
)
from aigov_events.partitioning import partition_for

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS topics (
    name TEXT PRIMARY KEY,
    partitions INTEGER NOT NULL CHECK (partitions > 0)
);
CREATE TABLE IF NOT EXISTS records (
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    key BLOB,
    value BLOB,
    headers TEXT NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    PRIMARY KEY (topic, partition, offset)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS group_offsets (
    group_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (group_id, topic, partition)
) WITHOUT ROWID;
"""


def _encode_headers(headers: Headers) -> str:
    return json.dumps([[n, base64.b64encode(v).decode("ascii")] for n, v in headers])


def _decode_headers(text: str) -> Headers:
    return [(n, base64.b64decode(v)) for n, v in json.loads(text)]


class EmbeddedBus:
    """A durable log in SQLite with Kafka's topic/partition/offset/consumer-group model."""

    kind: BusKind = "embedded"

    def __init__(
        self, path: str | Path, *, partitions: int = 3, max_record_bytes: int = MAX_RECORD_BYTES
    ) -> None:
        self._path = Path(path)
        self._partitions = partitions
        self._max_record_bytes = max_record_bytes
        # One thread owns the connection: SQLite calls never block the event loop and
        # never race each other.
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._topics: dict[str, int] = {}
        self._appended: asyncio.Condition | None = None
        self._groups: dict[str, list[EmbeddedSubscription]] = {}

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._executor is None or self._conn is None:
            raise BusError("embedded bus is not started")
        conn = self._conn
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, conn)

    async def start(self) -> None:
        """Open (or create) the log file."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aigov-embedded-bus")
        loop = asyncio.get_running_loop()

        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=5000")
            conn.executescript(_SCHEMA)
            return conn

        try:
            self._conn = await loop.run_in_executor(self._executor, connect)
        except sqlite3.Error as exc:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise BusError(f"cannot open the embedded bus at {self._path}: {exc}") from exc
        self._appended = asyncio.Condition()
        rows = await self._run(
            lambda c: c.execute("SELECT name, partitions FROM topics").fetchall()
        )
        self._topics = dict(rows)

    async def stop(self) -> None:
        """Close the file (every acknowledged record is already on disk)."""
        for members in list(self._groups.values()):
            for member in list(members):
                await member.close()
        if self._conn is not None and self._executor is not None:
            conn = self._conn
            await asyncio.get_running_loop().run_in_executor(self._executor, conn.close)
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self._conn = None
        self._executor = None

    async def ping(self) -> None:
        """A query against the log file."""
        try:
            await self._run(lambda c: c.execute("SELECT 1").fetchone())
        except sqlite3.Error as exc:
            raise BusError(f"embedded bus at {self._path} does not answer: {exc}") from exc

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create missing topics with the configured number of partitions."""
        missing = [t for t in topics if t not in self._topics]
        if not missing:
            return
        partitions = self._partitions

        def create(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT OR IGNORE INTO topics (name, partitions) VALUES (?, ?)",
                [(t, partitions) for t in missing],
            )

        await self._run(create)
        rows = await self._run(
            lambda c: c.execute("SELECT name, partitions FROM topics").fetchall()
        )
        self._topics = dict(rows)

    def partitions(self, topic: str) -> int:
        """How many partitions `topic` has (BusError if it does not exist)."""
        try:
            return self._topics[topic]
        except KeyError:
            raise BusError(f"unknown topic {topic!r} (create it with ensure_topics)") from None

    async def send(
        self, records: Sequence[OutgoingRecord], *, atomic: bool
    ) -> list[RecordPosition]:
        """Append records in one durable transaction (always atomic here)."""
        placed = [(r, partition_for(r.key, self.partitions(r.topic))) for r in records]
        now_ms = int(time.time() * 1000)
        limit = self._max_record_bytes

        def append(conn: sqlite3.Connection) -> list[RecordPosition]:
            positions: list[RecordPosition] = []
            next_offsets: dict[TopicPartition, int] = {}
            conn.execute("BEGIN IMMEDIATE")
            try:
                for record, partition in placed:
                    check_record_size(record, limit)
                    tp = (record.topic, partition)
                    if tp not in next_offsets:
                        row = conn.execute(
                            "SELECT COALESCE(MAX(offset) + 1, 0) FROM records"
                            " WHERE topic = ? AND partition = ?",
                            tp,
                        ).fetchone()
                        next_offsets[tp] = int(row[0])
                    offset = next_offsets[tp]
                    next_offsets[tp] = offset + 1
                    conn.execute(
                        "INSERT INTO records (topic, partition, offset, key, value, headers,"
                        " timestamp_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (
                            record.topic,
                            partition,
                            offset,
                            record.key,
                            record.value,
                            _encode_headers(record.headers),
                            now_ms,
                        ),
                    )
                    positions.append(RecordPosition(record.topic, partition, offset))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return positions

        try:
            positions = await self._run(append)
        except sqlite3.Error as exc:
            raise BusError(f"embedded bus could not append: {exc}") from exc
        assert self._appended is not None
        async with self._appended:
            self._appended.notify_all()
        return positions

    async def wait_for_records(self, max_wait: float) -> None:
        """Sleep until something is appended or `max_wait` seconds pass."""
        assert self._appended is not None
        async with self._appended:
            try:
                await asyncio.wait_for(self._appended.wait(), max_wait)
            except TimeoutError:
                pass

    async def read(
        self, topic: str, partition: int, offset: int, limit: int
    ) -> list[IncomingRecord]:
        """Records of one partition from `offset` on, at most `limit`."""

        def fetch(conn: sqlite3.Connection) -> list[IncomingRecord]:
            rows = conn.execute(
                "SELECT offset, key, value, headers, timestamp_ms FROM records"
                " WHERE topic = ? AND partition = ? AND offset >= ? ORDER BY offset LIMIT ?",
                (topic, partition, offset, limit),
            ).fetchall()
            return [
                IncomingRecord(
                    topic=topic,
                    partition=partition,
                    offset=int(o),
                    key=k,
                    value=v,
                    headers=_decode_headers(h),
                    timestamp_ms=int(ts),
                )
                for o, k, v, h, ts in rows
            ]

        return await self._run(fetch)

    async def end_offsets(self, tps: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        """The next offset to be written in each partition."""

        def fetch(conn: sqlite3.Connection) -> dict[TopicPartition, int]:
            out: dict[TopicPartition, int] = {}
            for tp in tps:
                row = conn.execute(
                    "SELECT COALESCE(MAX(offset) + 1, 0) FROM records"
                    " WHERE topic = ? AND partition = ?",
                    tp,
                ).fetchone()
                out[tp] = int(row[0])
            return out

        return await self._run(fetch)

    async def committed(
        self, group: str, tps: Sequence[TopicPartition]
    ) -> dict[TopicPartition, int]:
        """The group's committed next-offset per partition (0 when it never committed)."""

        def fetch(conn: sqlite3.Connection) -> dict[TopicPartition, int]:
            out: dict[TopicPartition, int] = {}
            for topic, partition in tps:
                row = conn.execute(
                    "SELECT next_offset FROM group_offsets"
                    " WHERE group_id = ? AND topic = ? AND partition = ?",
                    (group, topic, partition),
                ).fetchone()
                out[(topic, partition)] = int(row[0]) if row else 0
            return out

        return await self._run(fetch)

    async def commit(self, group: str, offsets: Mapping[TopicPartition, int]) -> None:
        """Durably store the group's next offsets."""
        rows = [(group, t, p, o) for (t, p), o in offsets.items()]

        def store(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "INSERT INTO group_offsets (group_id, topic, partition, next_offset)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (group_id, topic, partition)"
                    " DO UPDATE SET next_offset = excluded.next_offset",
                    rows,
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        await self._run(store)

    def subscribe(self, *, group: str, topics: Sequence[str]) -> EmbeddedSubscription:
        """A new member of consumer group `group`."""
        return EmbeddedSubscription(self, group=group, topics=topics)

    # --- group membership: the members of a group split the partitions round-robin ---

    def _join(self, member: EmbeddedSubscription) -> None:
        self._groups.setdefault(member.group, []).append(member)
        self._rebalance(member.group)

    def _leave(self, member: EmbeddedSubscription) -> None:
        members = self._groups.get(member.group, [])
        if member in members:
            members.remove(member)
            self._rebalance(member.group)

    def _rebalance(self, group: str) -> None:
        members = self._groups.get(group, [])
        wanted = sorted({t for m in members for t in m.topics})
        tps = [(t, p) for t in wanted for p in range(self.partitions(t))]
        assignments: dict[int, set[TopicPartition]] = {id(m): set() for m in members}
        eligible_index = 0
        for tp in tps:
            eligible = [m for m in members if tp[0] in m.topics]
            if eligible:
                owner = eligible[eligible_index % len(eligible)]
                eligible_index += 1
                assignments[id(owner)].add(tp)
        for member in members:
            member._assign(assignments[id(member)])


class EmbeddedSubscription:
    """A member of an embedded consumer group."""

    def __init__(self, bus: EmbeddedBus, *, group: str, topics: Sequence[str]) -> None:
        self._bus = bus
        self.group = group
        self.topics = tuple(topics)
        self._assigned: set[TopicPartition] = set()
        # Partitions whose position must be (re)loaded from the committed offsets.
        self._unpositioned: set[TopicPartition] = set()
        self._positions: dict[TopicPartition, int] = {}
        self._started = False
        self._cursor = 0

    def _assign(self, partitions: set[TopicPartition]) -> None:
        added = partitions - self._assigned
        self._assigned = partitions
        self._positions = {tp: o for tp, o in self._positions.items() if tp in partitions}
        self._unpositioned = (self._unpositioned & partitions) | added

    async def start(self) -> None:
        """Join the group (topics must exist)."""
        for topic in self.topics:
            self._bus.partitions(topic)
        self._bus._join(self)
        self._started = True

    async def _load_positions(self) -> None:
        if self._unpositioned:
            todo = sorted(self._unpositioned)
            committed = await self._bus.committed(self.group, todo)
            for tp in todo:
                if tp in self._unpositioned:
                    self._positions[tp] = committed[tp]
            self._unpositioned -= set(todo)

    async def poll(self, *, max_wait: float, max_records: int) -> list[IncomingRecord]:
        """Next records of the assigned partitions; waits up to `max_wait` s when there are none."""
        if not self._started:
            raise BusError("subscription is not started")
        deadline = time.monotonic() + max_wait
        while True:
            try:
                await self._load_positions()
                records = await self._read_available(max_records)
            except sqlite3.Error as exc:
                raise BusError(f"embedded bus could not be read: {exc}") from exc
            remaining = deadline - time.monotonic()
            if records or remaining <= 0:
                return records
            await self._bus.wait_for_records(min(remaining, 0.5))

    async def _read_available(self, max_records: int) -> list[IncomingRecord]:
        order = sorted(self._assigned)
        if not order:
            return []
        # Start from a rotating partition so one busy partition cannot starve the others.
        start = self._cursor % len(order)
        self._cursor += 1
        out: list[IncomingRecord] = []
        for tp in order[start:] + order[:start]:
            if len(out) >= max_records:
                break
            position = self._positions.get(tp)
            if position is None:
                continue
            batch = await self._bus.read(tp[0], tp[1], position, max_records - len(out))
            if batch:
                self._positions[tp] = batch[-1].offset + 1
                out.extend(batch)
        return out

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit next offsets for partitions this member still owns."""
        owned = {tp: o for tp, o in offsets.items() if tp in self._assigned}
        if owned:
            await self._bus.commit(self.group, owned)
        lost = set(offsets) - set(owned)
        if lost:
            raise BusError(f"partitions {sorted(lost)} were reassigned; commit not stored")

    async def seek(self, topic: str, partition: int, offset: int) -> None:
        """Re-read a partition from `offset`."""
        tp = (topic, partition)
        if tp in self._assigned:
            self._positions[tp] = offset
            self._unpositioned.discard(tp)

    async def lag(self) -> dict[TopicPartition, int]:
        """Log end offset minus committed offset, per assigned partition."""
        tps = sorted(self._assigned)
        if not tps:
            return {}
        ends = await self._bus.end_offsets(tps)
        committed = await self._bus.committed(self.group, tps)
        return {tp: max(0, ends[tp] - committed[tp]) for tp in tps}

    async def close(self) -> None:
        """Leave the group."""
        if self._started:
            self._bus._leave(self)
            self._started = False
