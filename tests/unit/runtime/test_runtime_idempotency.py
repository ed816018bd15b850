"""Batch idempotency (`claim_batch`, `idempotent_batch`) on SQLite: new events once, in order.

The crash-between-commit-and-offset scenario on both buses is in
`tests/integration/events/test_bus_contract.py`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_events.catalog import SystemRetired
from aigov_events.message import DomainEvent, new_event
from aigov_runtime.database import create_engine, create_sessionmaker
from aigov_runtime.idempotency import (
    DUPLICATES,
    claim_batch,
    idempotent_batch,
    processed_events_table,
)

Sessions = async_sessionmaker[AsyncSession]
METADATA = MetaData()
PROCESSED = processed_events_table(METADATA)
EFFECTS = Table(
    "effects",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False),
)


def retired(n: int, *, source: str = "/tests/idempotency") -> DomainEvent[SystemRetired]:
    """A distinct event (`n` in its reason)."""
    return new_event(
        SystemRetired(system_id="sys-idem", reason=f"retired {n}"), source=source, actor="owner"
    )


@pytest_asyncio.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[Sessions]:
    """A SQLite file with the processed-events and effects tables."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'idem.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def effects(sessions: Sessions) -> list[str]:
    """The event ids the handler wrote, in insertion order."""
    async with sessions() as session:
        rows = await session.execute(select(EFFECTS.c.event_id).order_by(EFFECTS.c.id))
        return list(rows.scalars())


@pytest.mark.asyncio
async def test_claim_batch_returns_only_new_events_in_their_order(sessions: Sessions) -> None:
    first, second, third = retired(1), retired(2), retired(3)
    async with sessions() as session, session.begin():
        assert await claim_batch(session, PROCESSED, consumer="c", events=[second]) == [second]
    async with sessions() as session, session.begin():
        new = await claim_batch(
            session, PROCESSED, consumer="c", events=[third, second, first, third]
        )
    # Already claimed (second) and repeated within the batch (third): each counted once.
    assert [e.id for e in new] == [third.id, first.id]
    async with sessions() as session, session.begin():
        # Another consumer has claimed nothing yet.
        assert len(await claim_batch(session, PROCESSED, consumer="d", events=[first])) == 1
        count = await session.scalar(select(func.count()).select_from(PROCESSED))
    assert count == 4


@pytest.mark.asyncio
async def test_the_same_id_from_another_source_is_another_event(sessions: Sessions) -> None:
    event = retired(1)
    twin = DomainEvent(event.envelope.model_copy(update={"source": "/elsewhere"}), event.payload)
    async with sessions() as session, session.begin():
        new = await claim_batch(session, PROCESSED, consumer="c", events=[event, twin])
    assert len(new) == 2


@pytest.mark.asyncio
async def test_idempotent_batch_applies_each_event_once(sessions: Sessions) -> None:
    calls: list[list[str]] = []

    async def apply(batch: Sequence[DomainEvent[Any]], *, session: AsyncSession) -> None:
        calls.append([e.id for e in batch])
        for event in batch:
            await session.execute(EFFECTS.insert().values(event_id=event.id))

    handler = idempotent_batch(apply, sessionmaker=sessions, table=PROCESSED, consumer="c")
    events = [retired(n) for n in range(3)]
    skipped = DUPLICATES.labels("c")._value.get()
    await handler(events[:2])
    await handler(events)  # a redelivery with one new event
    await handler(events)  # nothing new: the handler is not called
    assert calls == [[events[0].id, events[1].id], [events[2].id]]
    assert await effects(sessions) == [e.id for e in events]
    assert DUPLICATES.labels("c")._value.get() - skipped == 2 + 3


@pytest.mark.asyncio
async def test_a_failing_handler_rolls_its_claims_back(sessions: Sessions) -> None:
    attempts: list[int] = []

    async def flaky(batch: Sequence[DomainEvent[Any]], *, session: AsyncSession) -> None:
        for event in batch:
            await session.execute(EFFECTS.insert().values(event_id=event.id))
        attempts.append(len(batch))
        if len(attempts) == 1:
            raise RuntimeError("database hiccup after the writes")

    handler = idempotent_batch(flaky, sessionmaker=sessions, table=PROCESSED, consumer="c")
    events = [retired(n) for n in range(2)]
    with pytest.raises(RuntimeError):
        await handler(events)
    assert await effects(sessions) == []
    await handler(events)  # the retry sees both as new again
    assert attempts == [2, 2]
    assert await effects(sessions) == [e.id for e in events]
