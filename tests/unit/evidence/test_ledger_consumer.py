"""The ledger consumer on SQLite and the embedded bus: a batch with one record that cannot be recorded."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_events.consumer import DLQ_ATTEMPTS, DLQ_ERROR, RetryPolicy
from aigov_events.embedded_bus import EmbeddedBus
from aigov_events.message import DomainEvent
from aigov_events.producer import Publisher
from aigov_events.testing import read_records
from aigov_events.topics import ALL_TOPICS, MAIN_TOPICS, SIGNALS, dlq
from aigov_evidence import consumers, projections
from aigov_evidence.consumers import LedgerConsumer
from aigov_evidence.ledger import LedgerEntry
from aigov_evidence.models import LEDGER
from tests.unit.evidence import events as ev

pytestmark = pytest.mark.asyncio

FAST_RETRY = RetryPolicy(attempts=2, initial_backoff=0.01, max_backoff=0.02)


@pytest_asyncio.fixture
async def bus(tmp_path: Path) -> AsyncIterator[EmbeddedBus]:
    embedded = EmbeddedBus(tmp_path / "bus.sqlite3")
    await embedded.start()
    await embedded.ensure_topics(ALL_TOPICS)
    yield embedded
    await embedded.stop()


def handled(group: str, outcome: str) -> float:
    """`aigov_events_handled_total` of `group` for `outcome`, over the main topics."""
    return sum(
        REGISTRY.get_sample_value(
            "aigov_events_handled_total", {"group": group, "topic": t, "outcome": outcome}
        )
        or 0.0
        for t in MAIN_TOPICS
    )


async def test_a_record_the_ledger_refuses_is_dead_lettered_and_the_rest_recorded(
    bus: EmbeddedBus,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    systems = ["ledger-consumer-a", "ledger-consumer-b"]
    events: list[DomainEvent[Any]] = [ev.registered(s) for s in systems]
    events += [ev.probe(s, name=f"probe-{n}") for n in range(3) for s in systems]
    bad = events[4]
    assert bad.topic == SIGNALS

    real_project = projections.project

    async def project_refusing_one(session: AsyncSession, entries: Sequence[LedgerEntry]) -> None:
        if any(e.event_id == bad.id for e in entries):
            raise ValueError("the projection refuses this probe")
        await real_project(session, entries)

    monkeypatch.setattr(consumers, "project", project_refusing_one)
    publisher = Publisher(bus)
    for event in events:  # all in the log before the consumer starts: one poll takes them all
        await publisher.publish(event)

    group = f"evidence-{uuid.uuid4().hex[:8]}"
    consumer = LedgerConsumer(
        bus, sessionmaker=sessionmaker, group=group, retry=FAST_RETRY, poll_timeout=0.05
    )
    task = asyncio.create_task(consumer.run())
    try:
        async with asyncio.timeout(20):
            while handled(group, "dead_lettered") < 1 or handled(group, "ok") < len(events) - 1:
                assert not task.done(), "the ledger consumer ended"
                await asyncio.sleep(0.02)
    finally:
        consumer.stop()
        await asyncio.wait_for(task, 10)

    async with sessionmaker() as session:
        recorded = set((await session.scalars(select(LEDGER.c.event_id))).all())
    assert recorded == {e.id for e in events if e.id != bad.id}
    # Only the records actually recorded count as ok; the dead-lettered one does not.
    assert handled(group, "ok") == len(events) - 1 == len(recorded)
    assert handled(group, "dead_lettered") == 1
    [letter] = await read_records(bus, [dlq(SIGNALS)], count=1, max_wait=2.0)
    headers = dict(letter.headers)
    assert headers["ce_id"] == bad.id.encode()
    assert headers[DLQ_ERROR] == b"the projection refuses this probe"
    assert headers[DLQ_ATTEMPTS] == str(FAST_RETRY.attempts).encode()
