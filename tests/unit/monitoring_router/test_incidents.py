"""Incidents on SQLite: escalation chain, SLA deadlines, Article 73 clock, acknowledgement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from aigov_events.catalog import (
    IncidentAcknowledged,
    IncidentEscalated,
    IncidentResolved,
    MonitoringProbeCompleted,
    SlaBreached,
)
from aigov_events.topics import SIGNALS
from aigov_monitoring_router import incidents, probes
from aigov_monitoring_router.models import Deadline, Incident, SystemInfo
from aigov_monitoring_router.routing_config import parse_config
from tests.unit.monitoring_router.conftest import (
    UNIT_CONFIG,
    UnitRouter,
    raised,
    registered,
    reported,
    tier_assigned,
)

pytestmark = pytest.mark.asyncio


async def high_system(
    env: UnitRouter, system_id: str = "support-bot", *, slas: bool = False
) -> str:
    """A high-tier system in the EU (the catalog example's regions: EU, US)."""
    await env.handle(registered(system_id))
    await env.handle(tier_assigned(system_id, "high", slas=slas))
    return system_id


class TestEscalation:
    async def test_chain_runs_owner_then_oncall_then_governance(
        self, unit_router: UnitRouter
    ) -> None:
        env = unit_router
        system = await high_system(env)
        await env.handle(reported(system, "INC-7", occurred_at=env.clock.now()))
        await env.settle()
        assert [n.receiver for n in await env.notifications(incident_id="INC-7")] == ["owner"]
        await env.advance(timedelta(minutes=29))
        assert len(await env.notifications(incident_id="INC-7")) == 1
        await env.advance(timedelta(minutes=1))
        await env.advance(timedelta(hours=4))
        receivers = [n.receiver for n in await env.notifications(incident_id="INC-7")]
        assert receivers == ["owner", "oncall", "governance"]
        escalated = [
            e.payload for e in await env.published(2) if isinstance(e.payload, IncidentEscalated)
        ]
        assert [(e.level, e.to) for e in escalated] == [(1, "on-call"), (2, "governance-lead")]
        assert escalated[0].reason == "Not acknowledged within 30m."

    async def test_acknowledge_stops_the_chain(self, unit_router: UnitRouter) -> None:
        env = unit_router
        system = await high_system(env)
        await env.handle(reported(system, "INC-8", occurred_at=env.clock.now()))
        await env.advance(timedelta(minutes=10))
        await env.handle(IncidentAcknowledged(system_id=system, incident_id="INC-8"))
        await env.advance(timedelta(days=10))
        chain = [n for n in await env.notifications(incident_id="INC-8") if n.kind != "breach"]
        assert [n.receiver for n in chain] == ["owner"]
        async with env.sessionmaker() as session:
            ack = await session.get(Deadline, ("INC-8", "acknowledge"))
            contain = await session.get(Deadline, ("INC-8", "contain"))
        assert ack is not None
        assert ack.met_at is not None
        assert ack.breached_at is None
        # Containment was never reported: that SLA is breached (detected when the clock got there).
        assert contain is not None
        assert contain.breached_at == env.clock.now()
        assert contain.due_at == ack.due_at + timedelta(hours=48)

    async def test_alert_route_can_open_an_incident(self, unit_router: UnitRouter) -> None:
        env = unit_router
        system = await high_system(env)
        await env.handle(
            raised(system, signal="safety", severity="critical", starts_at=env.clock.now())
        )
        await env.settle()
        async with env.sessionmaker() as session:
            [incident] = (await session.execute(select(Incident))).scalars().all()
        assert (incident.system_id, incident.opened_by, incident.severity) == (
            system,
            "alert",
            "critical",
        )


class TestDeadlines:
    async def test_breach_is_published_and_told(self, unit_router: UnitRouter) -> None:
        env = unit_router
        system = await high_system(env)
        opened = env.clock.now()
        await env.handle(reported(system, "INC-9", occurred_at=opened))
        await env.advance(timedelta(hours=24))
        breaches = [e.payload for e in await env.published(3) if isinstance(e.payload, SlaBreached)]
        assert [(b.sla, b.due_at) for b in breaches] == [
            ("acknowledge", opened + timedelta(hours=24))
        ]
        assert "governance" in [n.receiver for n in await env.notifications(kind="breach")]

    async def test_policy_sla_from_tier_assigned_wins(self, unit_router: UnitRouter) -> None:
        env = unit_router
        system = await high_system(env, slas=True)  # critical: ack 15 min, resolve 240 min
        opened = env.clock.now()
        await env.handle(reported(system, "INC-10", severity="critical", occurred_at=opened))
        async with env.sessionmaker() as session:
            ack = await session.get(Deadline, ("INC-10", "acknowledge"))
            resolve = await session.get(Deadline, ("INC-10", "resolve"))
        assert ack is not None
        assert ack.due_at == opened + timedelta(minutes=15)
        assert resolve is not None
        assert resolve.due_at == opened + timedelta(minutes=240)

    async def test_resolution_stops_every_timer(self, unit_router: UnitRouter) -> None:
        env = unit_router
        system = await high_system(env)
        await env.handle(reported(system, "INC-11", serious=True, occurred_at=env.clock.now()))
        await env.settle()
        await env.handle(
            IncidentResolved(system_id=system, incident_id="INC-11", resolution="fixed")
        )
        await env.advance(timedelta(days=30))
        assert [n.kind for n in await env.notifications(incident_id="INC-11")] == ["incident"]


NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


class TestArticle73:
    CONFIG = parse_config(UNIT_CONFIG, origin="unit")

    @pytest.mark.parametrize(
        ("serious", "tier", "regions", "category", "use_cases", "days"),
        [
            (True, "high", ["EU"], "privacy", ["customer-support"], 15),
            (True, "high", ["EEA", "US"], "death", [], 10),
            (True, "high", ["EU"], "critical-infrastructure", [], 2),
            (True, "high", ["EU"], "privacy", ["critical-infrastructure"], 2),
            (False, "high", ["EU"], "privacy", [], None),  # not serious
            (True, "medium", ["EU"], "privacy", [], None),  # not high-risk
            (True, "high", ["US"], "death", [], None),  # not placed in the EU
        ],
    )
    async def test_deadline(
        self,
        serious: bool,
        tier: str,
        regions: list[str],
        category: str,
        use_cases: list[str],
        days: int | None,
    ) -> None:
        info = SystemInfo(
            system_id="s", tier=tier, regions=regions, use_cases=use_cases, updated_at=NOW
        )
        new = incidents.NewIncident(
            incident_id="I",
            system_id="s",
            severity="high",
            category=category,
            summary="x",
            serious=serious,
            opened_by="report",
            opened_at=NOW,
        )
        due = incidents.article73_deadline(self.CONFIG, new, info)
        assert due == (None if days is None else NOW + timedelta(days=days))

    async def test_tracked_and_breached_like_any_sla(self, unit_router: UnitRouter) -> None:
        env = unit_router
        system = await high_system(env)
        await env.handle(reported(system, "INC-12", serious=True, occurred_at=env.clock.now()))
        await env.handle(IncidentAcknowledged(system_id=system, incident_id="INC-12"))
        await env.advance(timedelta(days=15))
        slas = [e.payload.sla for e in await env.published(3) if isinstance(e.payload, SlaBreached)]
        assert sorted(slas) == ["contain", "eu-ai-act-art73-report"]


class TestProbeWithoutReceivers:
    async def test_route_without_integration_fails_each_signal_probe(
        self, unit_router: UnitRouter
    ) -> None:
        env = unit_router
        system = await high_system(env)  # the policy requires drift and safety monitoring
        async with env.sessionmaker() as session, session.begin():
            started = await probes.start_probes(session, env.router, system)
        await env.settle()
        assert [(p.signal, p.ok) for p in started] == [("drift", False), ("safety", False)]
        ids = {p.probe_id for p in started}
        completed = [
            e.payload
            for e in await env.published(4, topic=SIGNALS)
            if isinstance(e.payload, MonitoringProbeCompleted)
            and any(i in (e.payload.detail or "") for i in ids)
        ]
        assert sorted((c.probe, c.ok) for c in completed) == [
            ("drift-alert-route", False),
            ("safety-alert-route", False),
        ]
        assert all("no receiver" in (c.detail or "") for c in completed)

    async def test_unknown_system_fails_the_generic_probe(self, unit_router: UnitRouter) -> None:
        async with unit_router.sessionmaker() as session, session.begin():
            [probe] = await probes.start_probes(session, unit_router.router, "ghost")
        assert (probe.signal, probe.ok) == ("other", False)
        assert "not known" in (probe.detail or "")
