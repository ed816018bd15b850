"""The bus contract, run against the real Kafka broker and the embedded SQLite log alike.

Every test here takes the parametrised `bus` fixture, so both transports must pass
the same suite: round trip, retries with exactly-once effects in PostgreSQL,
redelivery after a crash, dead letters, per-key ordering over 3 partitions,
consumer groups, aborted batches, trace propagation, graceful stop and lag, and the
batch-handler contract (splitting a failing batch, poison in a batch, commit after the
handler, redelivery after a crash before the commit, the next batch read ahead but
handled and committed only after the current one, and read again after a stop).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from opentelemetry import trace
from prometheus_client import REGISTRY
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from aigov_events.bus import (
    Bus,
    BusError,
    IncomingRecord,
    NamespacedBus,
    OutgoingRecord,
    Subscription,
    TopicPartition,
)
from aigov_events.catalog import SystemRetired
from aigov_events.consumer import (
    DLQ_ATTEMPTS,
    DLQ_ERROR,
    DLQ_ERROR_TYPE,
    DLQ_GROUP,
    DLQ_OFFSET,
    DLQ_TOPIC,
    ConsumerRunner,
    Dispatcher,
    PermanentError,
    RetryPolicy,
    run_until_signalled,
)
from aigov_events.embedded_bus import EmbeddedBus
from aigov_events.kafka_bus import KafkaBus
from aigov_events.message import DomainEvent, new_event
from aigov_events.partitioning import partition_for
from aigov_events.producer import Publisher, to_record
from aigov_events.testing import (
    DelegatingBus,
    DelegatingSubscription,
    capture_spans,
    drop_topics,
    read_records,
)
from aigov_events.topics import LIFECYCLE, dlq
from aigov_runtime.idempotency import idempotent, idempotent_batch, processed_events_table

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

FAST_RETRY = RetryPolicy(attempts=3, initial_backoff=0.01, max_backoff=0.05)


def retired(system_id: str, reason: str = "retired in a test") -> DomainEvent[SystemRetired]:
    """A small valid catalog event about `system_id`."""
    return new_event(
        SystemRetired(system_id=system_id, reason=reason), source="/tests/bus", actor="tester"
    )


def group_name() -> str:
    """A consumer group no other test uses."""
    return f"g-{uuid.uuid4().hex[:12]}"


@pytest_asyncio.fixture(params=["kafka", "embedded"])
async def bus(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Bus]:
    """A started bus with fresh, test-private topics (a unique topic prefix)."""
    inner: Bus
    if request.param == "kafka":
        stack = request.getfixturevalue("local_stack")
        inner = KafkaBus(stack.kafka_bootstrap, client_id="aigov-tests")
    else:
        inner = EmbeddedBus(tmp_path / "bus.sqlite3")
    namespaced = NamespacedBus(inner, f"t{uuid.uuid4().hex[:10]}.")
    await namespaced.start()
    await namespaced.ensure_topics([LIFECYCLE, dlq(LIFECYCLE)])
    yield namespaced
    await namespaced.stop()
    if request.param == "kafka":
        await drop_topics(stack.kafka_bootstrap, namespaced.prefix)


@dataclass
class Store:
    """A private PostgreSQL schema with the processed-events table and an `effects` table."""

    sessionmaker: async_sessionmaker[AsyncSession]
    processed: Table
    effects: Table

    async def count(self, table: Table) -> int:
        async with self.sessionmaker() as session:
            return int(
                (await session.execute(select(func.count()).select_from(table))).scalar_one()
            )


@pytest_asyncio.fixture
async def store(local_stack: Any) -> AsyncIterator[Store]:
    """Tables in a throwaway schema of the real PostgreSQL server."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_async_engine(local_stack.postgres_url)
    metadata = MetaData(schema=schema)
    processed = processed_events_table(metadata)
    effects = Table(
        "effects",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False),
    )
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        await conn.run_sync(metadata.create_all)
    yield Store(async_sessionmaker(engine, expire_on_commit=False), processed, effects)
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await engine.dispose()


async def run_until(
    runner: ConsumerRunner, done: Callable[[], bool], *, max_wait: float = 45.0
) -> None:
    """Run `runner` until `done()` holds, then stop it gracefully."""
    task = asyncio.create_task(runner.run())
    deadline = time.monotonic() + max_wait
    try:
        while not done():
            if task.done():
                task.result()
                raise AssertionError("runner stopped before the condition held")
            assert time.monotonic() < deadline, "condition not met in time"
            await asyncio.sleep(0.02)
    finally:
        runner.stop()
        await asyncio.wait_for(task, 30)


def recorder(into: list[DomainEvent[Any]]) -> Callable[[DomainEvent[Any]], Awaitable[None]]:
    """A handler that remembers every event it is given."""

    async def handle(event: DomainEvent[Any]) -> None:
        into.append(event)

    return handle


class TestRoundTrip:
    async def test_published_event_is_consumed_unchanged(self, bus: Bus) -> None:
        event = retired("support-summarizer")
        position = await Publisher(bus).publish(event)
        assert position.topic == LIFECYCLE
        assert position.partition == partition_for(b"support-summarizer", 3)

        received: list[DomainEvent[Any]] = []
        runner = ConsumerRunner(
            bus, group=group_name(), topics=[LIFECYCLE], handler=recorder(received)
        )
        await run_until(runner, lambda: len(received) >= 1)

        [got] = received
        assert got.envelope == event.envelope
        assert got.payload == event.payload
        assert got.actor == "tester"


class TestRetriesAndIdempotency:
    async def test_handler_failing_once_is_retried_and_applied_exactly_once(
        self, bus: Bus, store: Store
    ) -> None:
        attempts = 0

        async def flaky(event: DomainEvent[Any], *, session: AsyncSession) -> None:
            nonlocal attempts
            attempts += 1
            await session.execute(store.effects.insert().values(event_id=event.id))
            if attempts == 1:
                raise ConnectionError("transient: database connection dropped")

        handler = idempotent(
            flaky, sessionmaker=store.sessionmaker, table=store.processed, consumer="c1"
        )
        await Publisher(bus).publish(retired("sys-retry"))
        runner = ConsumerRunner(
            bus, group=group_name(), topics=[LIFECYCLE], handler=handler, retry=FAST_RETRY
        )
        await run_until(runner, lambda: attempts >= 2)

        assert attempts == 2
        assert await store.count(store.effects) == 1
        assert await store.count(store.processed) == 1

    async def test_consumer_killed_before_commit_gets_the_event_again_without_a_second_write(
        self, bus: Bus, store: Store
    ) -> None:
        group = group_name()
        effects_written = asyncio.Event()

        async def write(event: DomainEvent[Any], *, session: AsyncSession) -> None:
            await session.execute(store.effects.insert().values(event_id=event.id))

        apply = idempotent(
            write, sessionmaker=store.sessionmaker, table=store.processed, consumer=group
        )

        async def apply_then_hang(event: DomainEvent[Any]) -> None:
            await apply(event)  # the DB transaction commits here...
            effects_written.set()
            await asyncio.Event().wait()  # ...and the process dies before the offset commit

        await Publisher(bus).publish(retired("sys-crash"))
        first = ConsumerRunner(bus, group=group, topics=[LIFECYCLE], handler=apply_then_hang)
        task = asyncio.create_task(first.run())
        await asyncio.wait_for(effects_written.wait(), 45)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        duplicates_before = (
            REGISTRY.get_sample_value("aigov_events_duplicates_skipped_total", {"consumer": group})
            or 0.0
        )
        redelivered: list[DomainEvent[Any]] = []

        async def count_then_apply(event: DomainEvent[Any]) -> None:
            redelivered.append(event)
            await apply(event)

        second = ConsumerRunner(bus, group=group, topics=[LIFECYCLE], handler=count_then_apply)
        await run_until(second, lambda: len(redelivered) >= 1)

        assert len(redelivered) == 1
        assert await store.count(store.effects) == 1
        assert (
            REGISTRY.get_sample_value("aigov_events_duplicates_skipped_total", {"consumer": group})
            == duplicates_before + 1
        )


class TestEventIdentity:
    async def test_the_same_id_from_two_sources_is_processed_twice_a_repeat_once(
        self, store: Store
    ) -> None:
        async def write(event: DomainEvent[Any], *, session: AsyncSession) -> None:
            await session.execute(store.effects.insert().values(event_id=event.id))

        apply = idempotent(
            write, sessionmaker=store.sessionmaker, table=store.processed, consumer="c1"
        )
        payload = SystemRetired(system_id="sys-identity", reason="retired in a test")
        first = new_event(payload, source="/tests/a", actor="tester", event_id="shared-1")
        second = new_event(payload, source="/tests/b", actor="tester", event_id="shared-1")
        for event in (first, second, first, second):
            await apply(event)
        assert await store.count(store.effects) == 2
        assert await store.count(store.processed) == 2


class TestDeadLetters:
    async def test_poison_records_go_to_the_dlq_with_their_error_and_origin(self, bus: Bus) -> None:
        publisher = Publisher(bus)
        binary_headers = [
            ("ce_specversion", b"1.0"),
            ("ce_id", b"poison-1"),
            ("ce_source", b"/tests"),
            ("ce_type", b"io.aigov.system.retired.v1"),
            ("content-type", b"application/json"),
        ]
        undecodable = OutgoingRecord(LIFECYCLE, b"sys-poison", b"{not json", binary_headers)
        unknown_type = to_record(retired("sys-poison"))
        unknown_type.headers[:] = [
            (n, b"io.aigov.nothing.happened.v9" if n == "ce_type" else v)
            for n, v in unknown_type.headers
        ]
        invalid_payload = OutgoingRecord(
            LIFECYCLE,
            b"sys-poison",
            b'{"system_id": "sys-poison", "reason": ""}',
            [*binary_headers[:1], ("ce_id", b"poison-3"), *binary_headers[2:], ("ce_actor", b"t")],
        )
        await publisher.send_records([undecodable])
        await publisher.send_records([unknown_type])
        await publisher.send_records([invalid_payload])
        always_fails = retired("sys-poison", reason="handler always fails")
        refused = retired("sys-poison", reason="handler refuses")
        healthy = retired("sys-poison", reason="healthy")
        for event in (always_fails, refused, healthy):
            await publisher.publish(event)

        handled: list[str] = []

        async def handle(event: DomainEvent[Any]) -> None:
            if event.id == always_fails.id:
                raise RuntimeError("boom: the handler keeps failing")
            if event.id == refused.id:
                raise PermanentError("refused: this can never succeed")
            handled.append(event.id)

        group = group_name()
        runner = ConsumerRunner(
            bus, group=group, topics=[LIFECYCLE], handler=handle, retry=FAST_RETRY
        )
        await run_until(runner, lambda: healthy.id in handled)

        letters = await read_records(bus, [dlq(LIFECYCLE)], count=5)
        assert len(letters) == 5
        by_offset = {int(dict(r.headers)[DLQ_OFFSET]): r for r in letters}
        assert sorted(by_offset) == [0, 1, 2, 3, 4]
        headers = {offset: dict(r.headers) for offset, r in by_offset.items()}
        assert b"not valid JSON" in headers[0][DLQ_ERROR]
        assert b"unknown event type" in headers[1][DLQ_ERROR]
        assert b"reason" in headers[2][DLQ_ERROR]
        assert headers[3][DLQ_ERROR] == b"boom: the handler keeps failing"
        assert headers[3][DLQ_ERROR_TYPE] == b"RuntimeError"
        assert headers[3][DLQ_ATTEMPTS] == str(FAST_RETRY.attempts).encode()
        assert headers[4][DLQ_ERROR_TYPE] == b"PermanentError"
        assert headers[4][DLQ_ATTEMPTS] == b"1"
        for h in headers.values():
            assert h[DLQ_TOPIC] == LIFECYCLE.encode()
            assert h[DLQ_GROUP] == group.encode()
        # The original record travels unchanged: key, value and its CloudEvents headers.
        assert by_offset[0].value == b"{not json"
        assert by_offset[0].key == b"sys-poison"
        assert headers[0]["ce_id"] == b"poison-1"
        assert by_offset[3].value == always_fails.envelope.data_bytes()
        assert handled == [healthy.id]


class TestOrderingAndGroups:
    async def test_per_key_order_holds_across_three_partitions(self, bus: Bus) -> None:
        systems = [f"sys-{i}" for i in range(9)]
        rounds = 15
        publisher = Publisher(bus)
        partitions = set()
        for n in range(rounds):
            positions = await publisher.publish_batch(
                [retired(s, reason=f"step {n}") for s in systems]
            )
            partitions |= {p.partition for p in positions}
        assert partitions == {0, 1, 2}

        seen: list[DomainEvent[Any]] = []
        runner = ConsumerRunner(bus, group=group_name(), topics=[LIFECYCLE], handler=recorder(seen))
        await run_until(runner, lambda: len(seen) >= rounds * len(systems))

        for system in systems:
            steps = [int(e.payload.reason.split()[1]) for e in seen if e.system_id == system]
            assert steps == list(range(rounds)), system

    async def test_group_members_share_partitions_and_miss_nothing(self, bus: Bus) -> None:
        systems = [f"member-{i}" for i in range(12)]
        events = [retired(s) for s in systems]
        await Publisher(bus).publish_batch(events)

        group = group_name()
        seen_by: dict[str, list[DomainEvent[Any]]] = {"a": [], "b": []}
        a = ConsumerRunner(bus, group=group, topics=[LIFECYCLE], handler=recorder(seen_by["a"]))
        b = ConsumerRunner(bus, group=group, topics=[LIFECYCLE], handler=recorder(seen_by["b"]))
        task_b = asyncio.create_task(b.run())
        try:
            await run_until(
                a, lambda: {e.id for e in seen_by["a"] + seen_by["b"]} >= {e.id for e in events}
            )
        finally:
            b.stop()
            await asyncio.wait_for(task_b, 30)
        assert {e.id for e in seen_by["a"] + seen_by["b"]} == {e.id for e in events}


class TestAtomicBatches:
    async def test_aborted_batch_is_invisible_and_later_batches_are_read(self, bus: Bus) -> None:
        doomed = [
            retired("sys-atomic", reason="doomed 1"),
            retired("sys-atomic", reason="doomed 2"),
        ]
        oversized = OutgoingRecord(LIFECYCLE, b"sys-atomic", b"x" * (2 * 1024 * 1024))
        with pytest.raises(BusError):
            await bus.send([*(to_record(e) for e in doomed), oversized], atomic=True)

        kept = [retired("sys-atomic", reason="kept 1"), retired("sys-atomic", reason="kept 2")]
        await Publisher(bus).publish_batch(kept)

        seen: list[DomainEvent[Any]] = []
        runner = ConsumerRunner(bus, group=group_name(), topics=[LIFECYCLE], handler=recorder(seen))
        await run_until(runner, lambda: len(seen) >= 2)
        await asyncio.sleep(0.5)  # anything doomed would have been delivered by now, in order
        assert [e.id for e in seen] == [e.id for e in kept]


class TestTracing:
    async def test_trace_context_survives_the_hop(self, bus: Bus) -> None:
        exporter = capture_spans()
        tracer = trace.get_tracer("tests")
        event = retired("sys-traced")
        with tracer.start_as_current_span("POST /v1/events") as request_span:
            await Publisher(bus).publish(event)
        request_ctx = request_span.get_span_context()

        handled_in: list[trace.SpanContext] = []

        async def handle(_: DomainEvent[Any]) -> None:
            handled_in.append(trace.get_current_span().get_span_context())

        runner = ConsumerRunner(bus, group=group_name(), topics=[LIFECYCLE], handler=handle)
        await run_until(runner, lambda: len(handled_in) >= 1)

        assert handled_in[0].trace_id == request_ctx.trace_id
        spans = [
            s for s in exporter.get_finished_spans() if s.context.trace_id == request_ctx.trace_id
        ]
        producer = next(s for s in spans if s.name == f"send {LIFECYCLE}")
        consumer = next(s for s in spans if s.name == f"process {LIFECYCLE}")
        assert producer.parent is not None
        assert producer.parent.span_id == request_ctx.span_id
        assert consumer.parent is not None
        assert consumer.parent.span_id == producer.context.span_id
        assert consumer.attributes is not None
        assert consumer.attributes["messaging.message.id"] == event.id


class TestGracefulStopAndLag:
    async def test_stop_finishes_the_batch_and_commits(self, bus: Bus) -> None:
        events = [retired("sys-stop", reason=f"n {i}") for i in range(20)]
        await Publisher(bus).publish_batch(events)
        group = group_name()
        seen: list[DomainEvent[Any]] = []

        async def stop_after_five(event: DomainEvent[Any]) -> None:
            seen.append(event)
            if len(seen) == 5:
                runner.stop()  # mid-batch: the rest of the batch is still handled
            await asyncio.sleep(0.005)

        runner = ConsumerRunner(bus, group=group, topics=[LIFECYCLE], handler=stop_after_five)
        await asyncio.wait_for(runner.run(), 45)
        assert len(seen) >= 5

        # A successor resumes exactly after what was committed: nothing twice, nothing lost.
        later = retired("sys-stop", reason="published after the stop")
        await Publisher(bus).publish(later)
        successor = ConsumerRunner(bus, group=group, topics=[LIFECYCLE], handler=recorder(seen))
        await run_until(successor, lambda: any(e.id == later.id for e in seen))
        assert [e.id for e in seen] == [e.id for e in [*events, later]]

    async def test_sigterm_stops_the_worker_gracefully_after_committing(self, bus: Bus) -> None:
        events = [retired("sys-sigterm", reason=f"n {i}") for i in range(5)]
        await Publisher(bus).publish_batch(events)
        group = group_name()
        seen: list[DomainEvent[Any]] = []

        async def handle(event: DomainEvent[Any]) -> None:
            seen.append(event)
            if len(seen) == len(events):
                os.kill(os.getpid(), signal.SIGTERM)  # what Kubernetes sends on shutdown

        runner = ConsumerRunner(bus, group=group, topics=[LIFECYCLE], handler=handle)
        await asyncio.wait_for(run_until_signalled(runner), 45)
        assert runner.stopping
        assert [e.id for e in seen] == [e.id for e in events]

        # The offsets were committed before leaving: a successor gets only what came later.
        later = retired("sys-sigterm", reason="after the restart")
        await Publisher(bus).publish(later)
        after: list[DomainEvent[Any]] = []
        successor = ConsumerRunner(bus, group=group, topics=[LIFECYCLE], handler=recorder(after))
        await run_until(successor, lambda: len(after) >= 1)
        assert [e.id for e in after] == [later.id]

    async def test_lag_is_measured_and_exported(self, bus: Bus) -> None:
        publisher = Publisher(bus)
        for _ in range(5):
            # One by one: a transactional batch would add a commit marker to the log, which
            # Kafka (rightly) counts in the end offset.
            await publisher.publish(retired("sys-lag"))
        partition = partition_for(b"sys-lag", 3)
        group = group_name()
        subscription = bus.subscribe(group=group, topics=[LIFECYCLE])
        await subscription.start()
        try:
            records: list[Any] = []
            deadline = time.monotonic() + 30
            while len(records) < 5 and time.monotonic() < deadline:
                records += await subscription.poll(max_wait=0.5, max_records=100)
            await subscription.commit({(LIFECYCLE, partition): records[1].offset + 1})
            lag = await subscription.lag()
        finally:
            await subscription.close()
        assert lag[(LIFECYCLE, partition)] == 3

        seen: list[DomainEvent[Any]] = []
        runner = ConsumerRunner(
            bus, group=group, topics=[LIFECYCLE], handler=recorder(seen), lag_interval=0.0
        )
        labels = {"group": group, "topic": LIFECYCLE, "partition": str(partition)}
        await run_until(
            runner,
            lambda: len(seen) >= 3 and REGISTRY.get_sample_value("aigov_consumer_lag", labels) == 0,
        )
        assert len(seen) == 3


class TestDispatcher:
    async def test_events_without_a_handler_are_committed_and_skipped(self, bus: Bus) -> None:
        from aigov_events.catalog import AlertRaised

        dispatcher = Dispatcher()
        seen: list[DomainEvent[SystemRetired]] = []

        async def on_retired(event: DomainEvent[SystemRetired]) -> None:
            seen.append(event)

        dispatcher.register(SystemRetired, on_retired)
        assert dispatcher.handles(SystemRetired.event_type)
        assert not dispatcher.handles(AlertRaised.event_type)
        with pytest.raises(ValueError, match="already registered"):
            dispatcher.register(SystemRetired, on_retired)

        await Publisher(bus).publish(retired("sys-dispatch"))
        runner = ConsumerRunner(bus, group=group_name(), topics=[LIFECYCLE], handler=dispatcher)
        await run_until(runner, lambda: len(seen) == 1)
        assert seen[0].payload.system_id == "sys-dispatch"


class TestEmbeddedDurability:
    async def test_accepted_events_and_offsets_survive_a_restart(self, tmp_path: Path) -> None:
        embedded_path = tmp_path / "restart.sqlite3"
        bus = EmbeddedBus(embedded_path)
        await bus.start()
        await bus.ensure_topics([LIFECYCLE, dlq(LIFECYCLE)])
        events = [retired("sys-durable", reason=f"n {i}") for i in range(3)]
        await Publisher(bus).publish_batch(events)
        await bus.stop()

        group = group_name()
        for expected in (events, []):
            reopened = EmbeddedBus(embedded_path)
            await reopened.start()
            seen: list[DomainEvent[Any]] = []
            runner = ConsumerRunner(
                reopened, group=group, topics=[LIFECYCLE], handler=recorder(seen)
            )
            task = asyncio.create_task(runner.run())
            await runner.wait_started()
            await asyncio.sleep(1.0)
            runner.stop()
            await task
            await reopened.stop()
            assert [e.id for e in seen] == [e.id for e in expected]


class WatchedBus(DelegatingBus):
    """A bus whose consumers' offset commits are recorded, or hang (a crash before the commit).

    Everything else goes to the inner bus unchanged, so the runner under test is as real
    as in production; only `commit` is observed.
    """

    def __init__(self, inner: Bus, *, hang_commits: bool = False) -> None:
        super().__init__(inner)
        self.hang_commits = hang_commits
        self.commits: list[dict[TopicPartition, int]] = []
        self.commit_reached = asyncio.Event()
        self.committed = asyncio.Event()
        self.subscriptions: list[WatchedSubscription] = []
        self.polled: list[str] = []  # ids (ce_id) of the records polls returned, in order
        self.poll_returned = asyncio.Event()

    def wrap(self, member: Subscription) -> Subscription:
        subscription = WatchedSubscription(member, self)
        self.subscriptions.append(subscription)
        return subscription


class WatchedSubscription(DelegatingSubscription):
    """A group member whose commits its `WatchedBus` sees (`inner` is the real member)."""

    def __init__(self, inner: Subscription, bus: WatchedBus) -> None:
        super().__init__(inner)
        self._bus = bus

    async def poll(self, *, max_wait: float, max_records: int) -> list[IncomingRecord]:
        records = await self.inner.poll(max_wait=max_wait, max_records=max_records)
        self._bus.polled.extend(dict(r.headers)["ce_id"].decode() for r in records)
        if records:
            self._bus.poll_returned.set()
        return records

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        self._bus.commit_reached.set()
        if self._bus.hang_commits:
            await asyncio.Event().wait()  # the process dies before the commit reaches the bus
        await self.inner.commit(offsets)
        self._bus.commits.append(dict(offsets))
        self._bus.committed.set()


def undecodable_record(key: bytes, event_id: str) -> OutgoingRecord:
    """A binary-mode CloudEvents record whose data is not JSON: poison for every consumer."""
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", event_id.encode()),
        ("ce_source", b"/tests"),
        ("ce_type", b"io.aigov.system.retired.v1"),
        ("content-type", b"application/json"),
    ]
    return OutgoingRecord(LIFECYCLE, key, b"{not json", headers)


def handled_count(group: str, outcome: str) -> float:
    """`aigov_events_handled_total` of a group on LIFECYCLE for one outcome."""
    labels = {"group": group, "topic": LIFECYCLE, "outcome": outcome}
    return REGISTRY.get_sample_value("aigov_events_handled_total", labels) or 0.0


class TestBatchHandlers:
    async def test_a_failing_batch_is_split_until_the_bad_record_is_dead_lettered_alone(
        self, bus: Bus
    ) -> None:
        events = [retired("sys-split", reason=f"n {i}") for i in range(8)]
        bad = events[5]
        # One atomic batch in one partition: visible at once, so the first poll has all 8.
        positions = await Publisher(bus).publish_batch(events)
        calls: list[list[str]] = []
        handled: list[str] = []

        async def refuse_the_marked(batch: Sequence[DomainEvent[Any]]) -> None:
            ids = [e.id for e in batch]
            calls.append(ids)
            if bad.id in ids:
                raise RuntimeError("the projection refuses the marked record")
            handled.extend(ids)

        group = group_name()
        runner = ConsumerRunner(
            bus, group=group, topics=[LIFECYCLE], batch_handler=refuse_the_marked, retry=FAST_RETRY
        )
        await run_until(runner, lambda: len(handled) >= 7)

        assert handled == [e.id for e in events if e.id != bad.id]  # each once, in order
        # Every failing call is retried, then halved, first half first, until the bad one is alone.
        tries = FAST_RETRY.attempts
        assert [len(c) for c in calls if bad.id in c] == [
            size for size in (8, 4, 2, 1) for _ in range(tries)
        ]
        assert [len(c) for c in calls if bad.id not in c] == [4, 1, 2]
        [letter] = await read_records(bus, [dlq(LIFECYCLE)], count=1)
        headers = dict(letter.headers)
        assert headers["ce_id"] == bad.id.encode()
        assert headers[DLQ_ERROR] == b"the projection refuses the marked record"
        assert headers[DLQ_ERROR_TYPE] == b"RuntimeError"
        assert headers[DLQ_ATTEMPTS] == str(tries).encode()
        assert headers[DLQ_OFFSET] == str(positions[5].offset).encode()
        assert handled_count(group, "ok") == 7
        assert handled_count(group, "dead_lettered") == 1

        # The offsets were committed past all eight: a successor gets only what came later.
        later = retired("sys-split", reason="published after the split")
        await Publisher(bus).publish(later)
        after: list[DomainEvent[Any]] = []

        async def remember(batch: Sequence[DomainEvent[Any]]) -> None:
            after.extend(batch)

        successor = ConsumerRunner(bus, group=group, topics=[LIFECYCLE], batch_handler=remember)
        await run_until(successor, lambda: len(after) >= 1)
        assert [e.id for e in after] == [later.id]

    async def test_a_poison_record_is_dead_lettered_and_the_rest_of_its_batch_handled(
        self, bus: Bus
    ) -> None:
        events = [retired("sys-poison-batch", reason=f"n {i}") for i in range(4)]
        poison = undecodable_record(b"sys-poison-batch", "poison-in-batch")
        records = [to_record(e) for e in events[:2]] + [poison] + [to_record(e) for e in events[2:]]
        positions = await bus.send(records, atomic=True)
        calls: list[list[str]] = []

        async def remember(batch: Sequence[DomainEvent[Any]]) -> None:
            calls.append([e.id for e in batch])

        group = group_name()
        runner = ConsumerRunner(bus, group=group, topics=[LIFECYCLE], batch_handler=remember)
        await run_until(runner, lambda: sum(map(len, calls)) >= 4)

        assert calls == [[e.id for e in events]]  # one call: the poison does not split it
        [letter] = await read_records(bus, [dlq(LIFECYCLE)], count=1)
        headers = dict(letter.headers)
        assert headers["ce_id"] == b"poison-in-batch"
        assert headers[DLQ_ATTEMPTS] == b"0"
        assert headers[DLQ_OFFSET] == str(positions[2].offset).encode()
        assert b"not valid JSON" in headers[DLQ_ERROR]
        assert handled_count(group, "ok") == 4
        assert handled_count(group, "dead_lettered") == 1

    async def test_offsets_are_committed_only_after_the_handler_returned(self, bus: Bus) -> None:
        events = [retired("sys-commit-late", reason=f"n {i}") for i in range(3)]
        positions = await Publisher(bus).publish_batch(events)
        tp = (LIFECYCLE, positions[0].partition)
        watched = WatchedBus(bus)
        entered, release = asyncio.Event(), asyncio.Event()
        handled: list[str] = []

        async def blocking(batch: Sequence[DomainEvent[Any]]) -> None:
            entered.set()
            await release.wait()  # the handler's transaction is still open
            handled.extend(e.id for e in batch)

        runner = ConsumerRunner(
            watched, group=group_name(), topics=[LIFECYCLE], batch_handler=blocking
        )
        task = asyncio.create_task(runner.run())
        try:
            await asyncio.wait_for(entered.wait(), 45)
            member = watched.subscriptions[0].inner
            lag_while_handling = (await member.lag())[tp]
            assert not watched.commit_reached.is_set()
            release.set()
            await asyncio.wait_for(watched.committed.wait(), 10)
            lag_after = (await member.lag())[tp]
        finally:
            runner.stop()
            await asyncio.wait_for(task, 30)
        assert handled == [e.id for e in events]
        assert watched.commits[0] == {tp: positions[-1].offset + 1}
        # The committed offset moved by the three records only once the handler returned
        # (on Kafka the end offset also counts the transaction's commit marker).
        assert lag_while_handling - lag_after == 3

    async def test_a_crash_between_handler_and_commit_redelivers_without_duplicates(
        self, bus: Bus, store: Store
    ) -> None:
        group = group_name()
        events = [retired("sys-batch-crash", reason=f"n {i}") for i in range(3)]
        await Publisher(bus).publish_batch(events)
        delivered: list[str] = []
        handled: list[list[str]] = []

        async def apply(batch: Sequence[DomainEvent[Any]], *, session: AsyncSession) -> None:
            handled.append([e.id for e in batch])
            for event in batch:
                await session.execute(store.effects.insert().values(event_id=event.id))

        # An idempotent batch handler: one transaction, each event claimed once.
        claimed = idempotent_batch(
            apply, sessionmaker=store.sessionmaker, table=store.processed, consumer=group
        )

        async def record_new(batch: Sequence[DomainEvent[Any]]) -> None:
            await claimed(batch)
            delivered.extend(e.id for e in batch)

        crashing = WatchedBus(bus, hang_commits=True)
        first = ConsumerRunner(crashing, group=group, topics=[LIFECYCLE], batch_handler=record_new)
        task = asyncio.create_task(first.run())
        await asyncio.wait_for(crashing.commit_reached.wait(), 45)
        task.cancel()  # the process dies after the transaction, before the offset commit
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await store.count(store.effects) == 3
        assert crashing.commits == []

        second = ConsumerRunner(bus, group=group, topics=[LIFECYCLE], batch_handler=record_new)
        await run_until(second, lambda: len(delivered) >= 6)

        ids = [e.id for e in events]
        assert delivered == ids + ids
        assert handled == [ids]  # the redelivered batch had nothing new
        assert await store.count(store.effects) == 3
        assert await store.count(store.processed) == 3

    async def test_the_next_batch_is_read_during_a_call_but_handled_and_committed_after_it(
        self, bus: Bus
    ) -> None:
        first = [retired("sys-ahead", reason=f"first {i}") for i in range(3)]
        second = [retired("sys-ahead", reason=f"second {i}") for i in range(2)]
        positions = await Publisher(bus).publish_batch(first)
        tp = (LIFECYCLE, positions[0].partition)
        watched = WatchedBus(bus)
        entered, release = asyncio.Event(), asyncio.Event()
        calls: list[list[str]] = []

        async def blocking(batch: Sequence[DomainEvent[Any]]) -> None:
            calls.append([e.id for e in batch])
            entered.set()
            await release.wait()  # the first batch's transaction is still open

        runner = ConsumerRunner(
            watched, group=group_name(), topics=[LIFECYCLE], batch_handler=blocking
        )
        task = asyncio.create_task(runner.run())
        try:
            await asyncio.wait_for(entered.wait(), 45)
            watched.poll_returned.clear()
            later = await Publisher(bus).publish_batch(second)
            await asyncio.wait_for(watched.poll_returned.wait(), 30)
            # Read and decoded while the first call waits: not handled, nothing committed.
            assert watched.polled == [e.id for e in first + second]
            assert calls == [[e.id for e in first]]
            assert watched.commits == []
            release.set()
            deadline = time.monotonic() + 30
            while len(watched.commits) < 2:
                assert time.monotonic() < deadline, "the second batch was not committed"
                await asyncio.sleep(0.02)
        finally:
            release.set()
            runner.stop()
            await asyncio.wait_for(task, 30)
        assert calls == [[e.id for e in first], [e.id for e in second]]
        assert watched.commits[:2] == [
            {tp: positions[-1].offset + 1},
            {tp: later[-1].offset + 1},
        ]

    async def test_a_batch_read_ahead_when_the_runner_stops_is_read_again_by_the_next(
        self, bus: Bus
    ) -> None:
        first = [retired("sys-ahead-stop", reason=f"first {i}") for i in range(2)]
        second = [retired("sys-ahead-stop", reason=f"second {i}") for i in range(3)]
        await Publisher(bus).publish_batch(first)
        watched = WatchedBus(bus)
        entered, release = asyncio.Event(), asyncio.Event()
        handled: list[str] = []

        async def blocking(batch: Sequence[DomainEvent[Any]]) -> None:
            entered.set()
            await release.wait()
            handled.extend(e.id for e in batch)

        group = group_name()
        runner = ConsumerRunner(watched, group=group, topics=[LIFECYCLE], batch_handler=blocking)
        task = asyncio.create_task(runner.run())
        try:
            await asyncio.wait_for(entered.wait(), 45)
            watched.poll_returned.clear()
            await Publisher(bus).publish_batch(second)
            await asyncio.wait_for(watched.poll_returned.wait(), 30)
            runner.stop()  # the second batch is read ahead, not handled
            release.set()
            await asyncio.wait_for(task, 30)
        finally:
            release.set()
            runner.stop()
        assert handled == [e.id for e in first]
        assert len(watched.commits) == 1

        after: list[str] = []

        async def remember(batch: Sequence[DomainEvent[Any]]) -> None:
            after.extend(e.id for e in batch)

        successor = ConsumerRunner(bus, group=group, topics=[LIFECYCLE], batch_handler=remember)
        await run_until(successor, lambda: len(after) >= 3)
        assert after == [e.id for e in second]
