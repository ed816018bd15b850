"""The built-in inbox receiver and the shipped (inbox-only) routing file, on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select

from aigov_events.catalog import IncidentReported, MonitoringProbeCompleted, NotificationSent
from aigov_events.topics import SIGNALS
from aigov_monitoring_router import inbox
from aigov_monitoring_router.models import Deadline, InboxMessage, Incident, Probe, Timer
from aigov_monitoring_router.routing_config import load_config
from tests.unit.monitoring_router.conftest import (
    UnitRouter,
    raised,
    registered,
    tier_assigned,
    unit_router_with,
)

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def shipped(tmp_path: Path) -> AsyncIterator[UnitRouter]:
    """A router with the shipped routing file (every receiver an inbox), keeping 3 per inbox."""
    async with unit_router_with(tmp_path, load_config(None, environ={}), inbox_max=3) as env:
        yield env


async def system_of_tier(env: UnitRouter, system_id: str, tier: str) -> str:
    await env.handle(registered(system_id, team="credit-ml"))
    await env.handle(tier_assigned(system_id, tier))
    return system_id


async def inbox_of(env: UnitRouter, **filters: str | None) -> list[InboxMessage]:
    async with env.sessionmaker() as session:
        return await inbox.messages(
            session,
            system_id=filters.get("system_id"),
            receiver=filters.get("receiver"),
            kind=filters.get("kind"),
            limit=100,
        )


class TestDefaultRouting:
    async def test_high_tier_alert_reaches_oncall_and_team_inboxes(
        self, shipped: UnitRouter
    ) -> None:
        env = shipped
        system = await system_of_tier(env, "loan-scorer", "high")
        await env.settle()  # the first probe runs at once; keep its messages apart
        await env.handle(raised(system, severity="warning", starts_at=env.clock.now()))
        await env.advance(timedelta(seconds=10))  # high-team waits 10s, on-call none
        alerts = await inbox_of(env, kind="alerts")
        assert sorted((m.receiver, m.route) for m in alerts) == [
            ("oncall", "high-page-oncall"),
            ("team", "high-team"),
        ]
        assert {m.system_id for m in alerts} == {system}
        assert alerts[0].message["title"]
        # Delivered means sent: the ledger hears of it like of any receiver, on channel inbox.
        sent = [
            e.payload
            for e in await env.published(6)
            if isinstance(e.payload, NotificationSent) and e.payload.receiver == "oncall"
        ]
        assert sent
        assert {p.channel.value for p in sent} == {"inbox"}

    async def test_low_tier_alert_goes_to_the_digest(self, shipped: UnitRouter) -> None:
        env = shipped
        system = await system_of_tier(env, "doc-search", "low")
        await env.handle(raised(system, starts_at=env.clock.now()))
        await env.advance(timedelta(minutes=4, seconds=59))
        assert await inbox_of(env) == []
        await env.advance(timedelta(seconds=1))  # low-digest: group_wait 5m
        [message] = await inbox_of(env)
        assert (message.receiver, message.route, message.kind) == ("digest", "low-digest", "alerts")

    async def test_probe_passes_against_the_inboxes(self, shipped: UnitRouter) -> None:
        env = shipped
        system = await system_of_tier(env, "loan-scorer", "high")
        await env.settle()
        async with env.sessionmaker() as session:
            probes = (await session.execute(select(Probe))).scalars().all()
        # The example tier decision requires drift and safety monitoring: one probe each.
        assert sorted(p.signal for p in probes) == ["drift", "safety"]
        assert all(p.ok for p in probes), [p.detail for p in probes]
        assert all((p.detail or "").startswith("delivered to oncall, team") for p in probes)
        completed = [
            e.payload
            for e in await env.published(2, topic=SIGNALS)
            if isinstance(e.payload, MonitoringProbeCompleted)
        ]
        assert {(c.probe, c.ok) for c in completed} == {
            ("drift-alert-route", True),
            ("safety-alert-route", True),
        }
        assert {m.kind for m in await inbox_of(env, system_id=system)} == {"probe"}


class TestRetention:
    async def test_each_inbox_keeps_its_newest(self, shipped: UnitRouter) -> None:
        env = shipped
        for i in range(5):
            # The digest groups by team: one team per system, one message per system.
            await env.handle(registered(f"sys-{i}", team=f"team-{i}"))
            await env.handle(tier_assigned(f"sys-{i}", "low"))
            await env.handle(raised(f"sys-{i}", starts_at=env.clock.now()))
            await env.advance(timedelta(minutes=5))
        kept = await inbox_of(env, receiver="digest")
        # Newest first, and only the newest three (AIGOV_ROUTER_INBOX_MAX=3 here).
        assert [m.system_id for m in kept] == ["sys-4", "sys-3", "sys-2"]
        async with env.sessionmaker() as session:
            assert len((await session.execute(select(InboxMessage))).scalars().all()) == 3


class TestRouterOpenedIncident:
    async def test_is_reported_once_and_reading_it_back_changes_nothing(
        self, shipped: UnitRouter
    ) -> None:
        env = shipped
        system = await system_of_tier(env, "loan-scorer", "high")
        await env.settle()
        starts = env.clock.now()
        alert = raised(
            system, signal="safety", severity="critical", alert_id="a-77", starts_at=starts
        )
        await env.handle(alert)
        await env.handle(alert)  # the same alert again: still one incident, one report
        await env.settle()
        reports = [
            e
            for e in await env.published(6, topic=SIGNALS)
            if isinstance(e.payload, IncidentReported)
        ]
        [event] = reports
        report = event.payload
        assert isinstance(report, IncidentReported)
        assert report.incident_id.startswith("alert-")
        assert report.incident_id.endswith(f"-{int(starts.timestamp())}")
        assert (report.system_id, report.severity.value, report.category) == (
            system,
            "critical",
            "safety",
        )
        assert report.reported_by == "monitoring route high-safety-incident"
        assert (report.serious, report.occurred_at, report.alert_ids) == (False, starts, ["a-77"])

        async def state() -> tuple[
            list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[object, ...]]
        ]:
            async with env.sessionmaker() as session:
                incidents = (await session.execute(select(Incident))).scalars().all()
                deadlines = (await session.execute(select(Deadline))).scalars().all()
                timers = (await session.execute(select(Timer))).scalars().all()
            return (
                [(i.incident_id, i.opened_at, i.escalation_step, i.opened_by) for i in incidents],
                sorted((d.sla, d.due_at) for d in deadlines),
                sorted(
                    (t.kind, t.ref, t.due_at) for t in timers if t.kind in ("deadline", "escalate")
                ),
            )

        before = await state()
        [opened] = before[0]
        assert opened[2] == 0  # the first escalation step (the owner) was told
        told = len(await env.notifications(incident_id=report.incident_id))
        env.clock.advance(timedelta(minutes=5))
        await env.dispatch(event)  # the router consumes its own report from the signals topic
        await env.settle()
        assert await state() == before
        assert len(await env.notifications(incident_id=report.incident_id)) == told
