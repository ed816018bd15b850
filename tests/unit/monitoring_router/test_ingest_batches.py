"""The router's ingest on the batch contract: one transaction per polled batch, applied in order."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from aigov_events.catalog import MonitoringProbeCompleted, SystemRetired
from aigov_events.message import DomainEvent
from aigov_monitoring_router.messages import Message
from aigov_monitoring_router.models import (
    ALERTS,
    NOTIFICATIONS,
    SYSTEMS,
    TIMERS,
    SystemInfo,
    processed_events,
)
from tests.unit.monitoring_router.conftest import (
    UnitRouter,
    event,
    raised,
    registered,
    tier_assigned,
)

pytestmark = pytest.mark.asyncio


@contextmanager
def commits_of(engine: AsyncEngine) -> Iterator[list[object]]:
    """The database transactions committed on `engine` while the block runs (one item each)."""
    commits: list[object] = []

    def committed(connection: Any) -> None:
        commits.append(connection)

    sa_event.listen(engine.sync_engine, "commit", committed)
    try:
        yield commits
    finally:
        sa_event.remove(engine.sync_engine, "commit", committed)


def count_wakes(env: UnitRouter, monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """Record each `router.wake()` (the scheduler is still woken)."""
    wakes: list[None] = []
    wake = env.router.wake

    def counted() -> None:
        wakes.append(None)
        wake()

    monkeypatch.setattr(env.router, "wake", counted)
    return wakes


async def state(env: UnitRouter) -> dict[str, list[tuple[Any, ...]]]:
    """What the router's consumer writes: the projection, alerts, timers and notifications."""
    async with env.sessionmaker() as session:
        return {
            table.name: [
                tuple(row)
                for row in await session.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in (SYSTEMS, ALERTS, TIMERS, NOTIFICATIONS, processed_events)
        }


async def claimed(env: UnitRouter, events: list[DomainEvent[Any]]) -> int:
    """How many of `events` the router recorded as processed."""
    async with env.sessionmaker() as session:
        found = await session.scalar(
            select(func.count()).where(processed_events.c.event_id.in_([e.id for e in events]))
        )
    return int(found or 0)


class TestOneTransactionPerBatch:
    async def test_mixed_batch_is_one_transaction_and_a_redelivery_changes_nothing(
        self, unit_router: UnitRouter, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        env = unit_router
        for system, tier in (("fraud-scorer", "high"), ("chat-helper", "low")):
            await env.handle(registered(system))
            await env.handle(tier_assigned(system, tier))
        now = env.clock.now()
        probe_result = MonitoringProbeCompleted.model_validate(
            {**MonitoringProbeCompleted.example, "system_id": "fraud-scorer"}
        )
        batch = [
            event(raised("fraud-scorer", signal="drift", starts_at=now), at=now),
            event(raised("chat-helper", signal="drift", starts_at=now), at=now),
            event(registered("loan-pricer"), at=now),
            event(probe_result, at=now),  # signals carry it, but the router has no handler
            event(raised("fraud-scorer", signal="bias", starts_at=now), at=now),
        ]
        wakes = count_wakes(env, monkeypatch)

        with commits_of(env.engine) as commits:
            await env.ingest(batch)

        assert len(commits) == 1
        assert len(wakes) == 1
        # Only the events the router handles are claimed.
        assert await claimed(env, batch) == 4
        async with env.sessionmaker() as session:
            assert await session.get(SystemInfo, "loan-pricer") is not None
        await env.settle()  # the page route has no group_wait
        pages = await env.notifications(receiver="page")
        assert sorted(Message.model_validate(n.message).signal or "" for n in pages) == [
            "bias",
            "drift",
        ]
        await env.advance(timedelta(seconds=30))  # the other routes' group_wait
        assert len(await env.notifications(receiver="team")) == 2
        [digest] = await env.notifications(receiver="digest")
        assert Message.model_validate(digest.message).recipient.system == "chat-helper"

        before = await state(env)
        notified = [n.notification_id for n in await env.notifications()]
        env.clock.advance(timedelta(minutes=10))  # a handled event would stamp a new time
        await env.ingest(batch)  # redelivered after a crash before the offset commit
        assert await state(env) == before
        await env.settle()
        assert [n.notification_id for n in await env.notifications()] == notified
        assert len(wakes) == 2


class TestEventsOfABatchSeeEachOther:
    """Each event sees the database as the ones before it in the batch left it."""

    async def test_alert_routes_on_the_tier_assigned_earlier_in_the_batch(
        self, unit_router: UnitRouter
    ) -> None:
        env = unit_router
        await env.handle(registered("fraud-scorer"))
        now = env.clock.now()
        await env.ingest(
            [
                event(tier_assigned("fraud-scorer", "low"), at=now),
                event(raised("fraud-scorer", labels={"feature": "a"}, starts_at=now), at=now),
                event(tier_assigned("fraud-scorer", "high"), at=now),
                event(raised("fraud-scorer", labels={"feature": "b"}, starts_at=now), at=now),
            ]
        )
        await env.settle()
        [page] = await env.notifications(receiver="page")
        assert [a.labels["feature"] for a in Message.model_validate(page.message).alerts] == ["b"]
        await env.advance(timedelta(seconds=30))
        [digest] = await env.notifications(receiver="digest")
        assert [a.labels["feature"] for a in Message.model_validate(digest.message).alerts] == ["a"]

    async def test_registration_after_a_retirement_in_the_batch_wins(
        self, unit_router: UnitRouter
    ) -> None:
        env = unit_router
        await env.handle(registered("fraud-scorer"))
        now = env.clock.now()
        await env.ingest(
            [
                event(SystemRetired(system_id="fraud-scorer", reason="Paused."), at=now),
                event(registered("fraud-scorer"), at=now),
            ]
        )
        async with env.sessionmaker() as session:
            info = await session.get(SystemInfo, "fraud-scorer")
        assert info is not None
        assert info.retired is False
