"""The router on SQLite and the embedded bus, with a clock the tests move by hand.

Also the event builders the integration tests reuse (`from tests.unit.monitoring_router.conftest
import ...`).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aigov_events.bus import Bus
from aigov_events.buses import create_bus
from aigov_events.catalog import (
    AlertRaised,
    AlertResolved,
    EventPayload,
    IncidentReported,
    SystemRegistered,
    TierAssigned,
)
from aigov_events.envelope import from_kafka_record
from aigov_events.message import DomainEvent, decode, new_event
from aigov_events.producer import Publisher
from aigov_events.testing import read_records
from aigov_events.topics import ALL_TOPICS, NOTIFICATIONS
from aigov_monitoring_router.app import MIGRATIONS
from aigov_monitoring_router.clock import ManualClock
from aigov_monitoring_router.consumers import RouterIngest
from aigov_monitoring_router.models import NOTIFICATIONS as NOTIFICATION_ROWS
from aigov_monitoring_router.models import Notification
from aigov_monitoring_router.router import CompiledConfig, Router
from aigov_monitoring_router.routing_config import RoutingConfig, parse_config
from aigov_monitoring_router.scheduler import Scheduler
from aigov_runtime.database import create_engine, create_sessionmaker
from aigov_runtime.migrations import upgrade_to_head
from aigov_runtime.resources import ServiceResources

#: A tree with receivers that need no network (no integration): deliveries succeed at once.
UNIT_CONFIG = """
route:
  receiver: digest
  group_by: [system, signal]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - name: page
      matchers: ['tier="high"', 'severity=~"critical|high|warning"']
      receiver: page
      group_wait: 0s
      group_interval: 1m
      repeat_interval: 1h
      continue: true
    - name: incident
      matchers: ['tier="high"', 'signal="safety"', 'severity="critical"']
      receiver: team
      opens_incident: true
    - name: team
      matchers: ['tier=~"high|medium"']
      receiver: team
inhibit_rules:
  - source_matchers: ['aigov_incident="open"']
    target_matchers: ['signal="drift"']
    equal: [system]
receivers:
  - name: digest
  - name: page
  - name: team
  - name: owner
  - name: oncall
  - name: governance
incidents:
  slas:
    - {tiers: [high], acknowledge: 24h, contain: 72h}
    - {acknowledge: 7d, contain: 30d}
  escalation:
    - {to: owner, receiver: owner, after: 0s}
    - {to: on-call, receiver: oncall, after: 30m}
    - {to: governance-lead, receiver: governance, after: 4h}
  breach_receiver: governance
  article73: {escalate_to: governance}
probe:
  tiers: [high]
  interval: 24h
"""


def registered(system_id: str, **metadata: Any) -> SystemRegistered:
    """A system.registered for `system_id` (the catalog example, renamed)."""
    data = copy.deepcopy(dict(SystemRegistered.example))
    data["system_id"] = system_id
    data["manifest"]["metadata"].update({"id": system_id, **metadata})
    return SystemRegistered.model_validate(data)


def tier_assigned(system_id: str, tier: str, *, slas: bool = False) -> TierAssigned:
    """A tier.assigned for `system_id` (policy SLAs only when `slas`)."""
    data = copy.deepcopy(dict(TierAssigned.example))
    data.update({"system_id": system_id, "tier": tier})
    if not slas:
        data["incident_slas"] = []
    return TierAssigned.model_validate(data)


def raised(
    system_id: str,
    *,
    signal: str = "drift",
    severity: str = "warning",
    labels: dict[str, str] | None = None,
    alert_id: str = "a-1",
    starts_at: datetime,
) -> AlertRaised:
    """An alert.raised."""
    return AlertRaised(
        system_id=system_id,
        alert_id=alert_id,
        fingerprint="ignored-by-router",
        signal=signal,
        severity=severity,  # type: ignore[arg-type]
        summary=f"{signal} on {system_id}",
        labels=labels or {},
        starts_at=starts_at,
    )


def resolved(alert: AlertRaised, *, ends_at: datetime) -> AlertResolved:
    """The alert.resolved of `alert`."""
    data = alert.model_dump()
    data["ends_at"] = ends_at
    return AlertResolved.model_validate(data)


def reported(
    system_id: str,
    incident_id: str,
    *,
    severity: str = "high",
    serious: bool = False,
    category: str = "privacy",
    occurred_at: datetime,
) -> IncidentReported:
    """An incident.reported."""
    return IncidentReported(
        system_id=system_id,
        incident_id=incident_id,
        severity=severity,  # type: ignore[arg-type]
        category=category,
        summary="A summary included another customer's contact details",
        reported_by="support agent",
        serious=serious,
        occurred_at=occurred_at,
    )


def event(payload: EventPayload, *, at: datetime) -> DomainEvent[Any]:
    """`payload` in an envelope stamped at `at`."""
    return new_event(payload, source="tests", actor="tester", time=at)


@dataclass
class UnitRouter:
    """A router on SQLite + the embedded bus, its scheduler, and a manual clock."""

    router: Router
    clock: ManualClock
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    bus: Bus
    scheduler: Scheduler
    ingest: RouterIngest
    """The consumer's batch handler (one transaction per batch)."""

    async def dispatch(self, handled: DomainEvent[Any]) -> None:
        """Consume `handled` alone, as a batch of one."""
        await self.ingest([handled])

    async def handle(self, payload: EventPayload) -> DomainEvent[Any]:
        """Consume one event stamped now (through the consumer's batch handler)."""
        handled = event(payload, at=self.clock.now())
        await self.dispatch(handled)
        return handled

    async def settle(self) -> None:
        """Run scheduler rounds until nothing is due."""
        for _ in range(50):
            if not await self.scheduler.run_once():
                return
        raise AssertionError("the scheduler never settled")

    async def advance(self, delta: timedelta) -> None:
        """Move the clock and run what fell due."""
        self.clock.advance(delta)
        await self.settle()

    async def notifications(self, **where: str) -> list[Notification]:
        """Notifications created so far, oldest first."""
        query = select(Notification).order_by(NOTIFICATION_ROWS.c.created_at)
        for name, value in where.items():
            query = query.where(NOTIFICATION_ROWS.c[name] == value)
        async with self.sessionmaker() as session:
            return list((await session.execute(query)).scalars().all())

    async def published(self, count: int, topic: str = NOTIFICATIONS) -> list[DomainEvent[Any]]:
        """The first `count` (at least) events the router published on `topic`."""
        records = await read_records(self.bus, [topic], count=count, max_wait=2.0)
        return [decode(from_kafka_record(r.value, r.headers)) for r in records]


@asynccontextmanager
async def unit_router_with(
    tmp_path: Path, config: RoutingConfig, *, inbox_max: int = 1000
) -> AsyncIterator[UnitRouter]:
    """A migrated SQLite router with `config`, at 2026-11-20 09:00 UTC."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'router.sqlite3'}"
    await asyncio.to_thread(upgrade_to_head, MIGRATIONS, database_url=url, schema=None)
    engine = create_engine(url)
    bus = create_bus("embedded", embedded_path=str(tmp_path / "bus.sqlite3"), partitions=1)
    await bus.start()
    await bus.ensure_topics(ALL_TOPICS)
    clock = ManualClock()
    router = Router(compiled=CompiledConfig.build(config), clock=clock, inbox_max=inbox_max)
    sessionmaker = create_sessionmaker(engine)
    resources = cast(ServiceResources, {"sessionmaker": sessionmaker})
    try:
        async with httpx.AsyncClient() as http:
            router.http = http
            yield UnitRouter(
                router=router,
                clock=clock,
                engine=engine,
                sessionmaker=sessionmaker,
                bus=bus,
                scheduler=Scheduler(router, sessionmaker, Publisher(bus)),
                ingest=RouterIngest(resources, router),
            )
    finally:
        await bus.stop()
        await engine.dispose()


@pytest_asyncio.fixture
async def unit_router(tmp_path: Path) -> AsyncIterator[UnitRouter]:
    """A migrated SQLite router with the unit tree, at 2026-11-20 09:00 UTC."""
    async with unit_router_with(tmp_path, parse_config(UNIT_CONFIG, origin="unit")) as env:
        yield env
