"""The consumer runner on the embedded bus: refused polls, the per-record layer, stopping mid-retry.

The batch contract itself (splitting, poison in a batch, commit after the handler, crash
before the commit) is in the bus contract suite, on both buses.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiokafka.errors import KafkaConnectionError
from prometheus_client import REGISTRY

from aigov_events.bus import (
    Bus,
    BusError,
    IncomingRecord,
    Subscription,
)
from aigov_events.catalog import SystemRetired
from aigov_events.consumer import ConsumerRunner, RetryPolicy
from aigov_events.embedded_bus import EmbeddedBus
from aigov_events.kafka_bus import KafkaSubscription
from aigov_events.message import DomainEvent, new_event
from aigov_events.producer import Publisher
from aigov_events.testing import DelegatingBus, DelegatingSubscription
from aigov_events.topics import LIFECYCLE, dlq

pytestmark = pytest.mark.asyncio

FAST_RETRY = RetryPolicy(attempts=3, initial_backoff=0.01, max_backoff=0.05)


def retired(reason: str) -> DomainEvent[SystemRetired]:
    return new_event(
        SystemRetired(system_id="sys-unit", reason=reason), source="/tests/unit", actor="tester"
    )


def group_name() -> str:
    return f"g-{uuid.uuid4().hex[:12]}"


@pytest_asyncio.fixture
async def bus(tmp_path: Path) -> AsyncIterator[EmbeddedBus]:
    embedded = EmbeddedBus(tmp_path / "bus.sqlite3")
    await embedded.start()
    await embedded.ensure_topics([LIFECYCLE, dlq(LIFECYCLE)])
    yield embedded
    await embedded.stop()


class RefusingPolls(DelegatingBus):
    """A bus whose members' polls fail with BusError `failures` times (None: always)."""

    def __init__(self, inner: Bus, failures: int | None) -> None:
        super().__init__(inner)
        self.failures_left = failures
        self.refused = 0

    def wrap(self, member: Subscription) -> Subscription:
        return RefusingSubscription(member, self)


class RefusingSubscription(DelegatingSubscription):
    def __init__(self, inner: Subscription, bus: RefusingPolls) -> None:
        super().__init__(inner)
        self._bus = bus

    async def poll(self, *, max_wait: float, max_records: int) -> list[IncomingRecord]:
        if self._bus.failures_left is None or self._bus.failures_left > 0:
            if self._bus.failures_left is not None:
                self._bus.failures_left -= 1
            self._bus.refused += 1
            raise BusError("broker not available")
        return await self.inner.poll(max_wait=max_wait, max_records=max_records)


async def wait_until(condition: Any, task: asyncio.Task[None], within: float = 10.0) -> None:
    """Wait until `condition()` holds while `task` (a runner) keeps running."""
    async with asyncio.timeout(within):
        while not condition():
            assert not task.done(), "the runner ended"
            await asyncio.sleep(0.01)


class TestRefusedPolls:
    async def test_a_refused_poll_is_retried_and_the_runner_keeps_consuming(
        self, bus: EmbeddedBus
    ) -> None:
        refusing = RefusingPolls(bus, failures=3)
        event = retired("published while the broker refuses polls")
        await Publisher(bus).publish(event)
        seen: list[str] = []

        async def remember(delivered: DomainEvent[Any]) -> None:
            seen.append(delivered.id)

        group = group_name()
        runner = ConsumerRunner(
            refusing,
            group=group,
            topics=[LIFECYCLE],
            handler=remember,
            retry=FAST_RETRY,
            poll_timeout=0.05,
        )
        task = asyncio.create_task(runner.run())
        try:
            await wait_until(lambda: seen == [event.id], task)
        finally:
            runner.stop()
            await asyncio.wait_for(task, 5)
        assert refusing.refused == 3
        errors = REGISTRY.get_sample_value("aigov_events_poll_errors_total", {"group": group})
        assert errors == 3

    async def test_stop_ends_a_runner_waiting_out_refused_polls_at_once(
        self, bus: EmbeddedBus
    ) -> None:
        refusing = RefusingPolls(bus, failures=None)

        async def never(event: DomainEvent[Any]) -> None:
            raise AssertionError("nothing can be polled")

        patient = RetryPolicy(initial_backoff=60.0, max_backoff=60.0)
        runner = ConsumerRunner(
            refusing,
            group=group_name(),
            topics=[LIFECYCLE],
            handler=never,
            retry=patient,
            poll_timeout=0.05,
        )
        task = asyncio.create_task(runner.run())
        await wait_until(lambda: refusing.refused >= 1, task)
        started = time.monotonic()
        runner.stop()
        await asyncio.wait_for(task, 5)
        assert time.monotonic() - started < 1.0

    async def test_a_kafka_error_in_poll_is_a_bus_error(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        subscription = KafkaSubscription(
            bootstrap_servers="localhost:1", client_id="unit", group="g", topics=[LIFECYCLE]
        )

        async def broker_gone(**_: Any) -> dict[Any, Any]:
            raise KafkaConnectionError("connection to the broker lost")

        monkeypatch.setattr(subscription._consumer, "getmany", broker_gone)
        try:
            with pytest.raises(BusError, match="connection to the broker lost"):
                await subscription.poll(max_wait=0.1, max_records=10)
        finally:
            await subscription.close()


class TestPerRecordHandlers:
    async def test_a_failing_record_is_retried_without_handling_the_ones_before_it_again(
        self, bus: EmbeddedBus
    ) -> None:
        events = [retired(f"n {i}") for i in range(5)]
        await Publisher(bus).publish_batch(events)
        calls: list[str] = []
        failures = {events[2].id: 2}

        async def flaky(event: DomainEvent[Any]) -> None:
            calls.append(event.id)
            if failures.get(event.id, 0) > 0:
                failures[event.id] -= 1
                raise ConnectionError("transient")

        group = group_name()
        runner = ConsumerRunner(
            bus, group=group, topics=[LIFECYCLE], handler=flaky, retry=FAST_RETRY, poll_timeout=0.05
        )
        task = asyncio.create_task(runner.run())
        try:
            await wait_until(lambda: len(calls) >= 7, task)
        finally:
            runner.stop()
            await asyncio.wait_for(task, 5)
        ids = [e.id for e in events]
        assert calls == [*ids[:3], ids[2], ids[2], *ids[3:]]
        labels = {"group": group, "topic": LIFECYCLE}
        assert REGISTRY.get_sample_value("aigov_events_handler_retries_total", labels) == 2
        ok = REGISTRY.get_sample_value("aigov_events_handled_total", {**labels, "outcome": "ok"})
        assert ok == 5

    async def test_stopping_mid_retry_commits_what_is_finished_and_reads_the_rest_again(
        self, bus: EmbeddedBus
    ) -> None:
        events = [retired(f"n {i}") for i in range(5)]
        await Publisher(bus).publish_batch(events)
        ids = [e.id for e in events]
        calls: list[str] = []

        async def stuck_on_the_third(event: DomainEvent[Any]) -> None:
            calls.append(event.id)
            if event.id == ids[2]:
                raise ConnectionError("database unreachable")

        group = group_name()
        patient = RetryPolicy(initial_backoff=60.0, max_backoff=60.0)
        runner = ConsumerRunner(
            bus,
            group=group,
            topics=[LIFECYCLE],
            handler=stuck_on_the_third,
            retry=patient,
            poll_timeout=0.05,
        )
        task = asyncio.create_task(runner.run())
        await wait_until(lambda: ids[2] in calls, task)
        runner.stop()  # during the backoff before the third event's second attempt
        await asyncio.wait_for(task, 5)
        assert calls == ids[:3]

        resumed: list[str] = []

        async def remember(event: DomainEvent[Any]) -> None:
            resumed.append(event.id)

        successor = ConsumerRunner(
            bus, group=group, topics=[LIFECYCLE], handler=remember, poll_timeout=0.05
        )
        task = asyncio.create_task(successor.run())
        try:
            await wait_until(lambda: len(resumed) >= 3, task)
        finally:
            successor.stop()
            await asyncio.wait_for(task, 5)
        assert resumed == ids[2:]  # the first two were committed, nothing was dead-lettered
        letters = await bus.read(dlq(LIFECYCLE), 0, 0, 10)
        letters += await bus.read(dlq(LIFECYCLE), 1, 0, 10)
        letters += await bus.read(dlq(LIFECYCLE), 2, 0, 10)
        assert letters == []

    async def test_a_runner_needs_exactly_one_kind_of_handler(self, bus: EmbeddedBus) -> None:
        async def per_record(event: DomainEvent[Any]) -> None:
            return None

        async def per_batch(batch: Sequence[DomainEvent[Any]]) -> None:
            return None

        with pytest.raises(ValueError, match="either a handler or a batch_handler"):
            ConsumerRunner(bus, group="g", topics=[LIFECYCLE])
        with pytest.raises(ValueError, match="either a handler or a batch_handler"):
            ConsumerRunner(
                bus, group="g", topics=[LIFECYCLE], handler=per_record, batch_handler=per_batch
            )
