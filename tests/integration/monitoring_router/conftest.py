"""The router against the real Kafka broker and PostgreSQL, with real local receivers.

Each test gets its own topic prefix and its own PostgreSQL schema (so timers left by one
test never fire in another), a local HTTP server that records what receivers are sent
(uvicorn on an ephemeral port) and, where needed, a local SMTP server.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
import uvicorn
from pydantic import SecretStr
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aigov_events.bus import NamespacedBus
from aigov_events.catalog import EventPayload
from aigov_events.envelope import from_kafka_record
from aigov_events.kafka_bus import KafkaBus
from aigov_events.message import DomainEvent, decode, new_event
from aigov_events.producer import Publisher
from aigov_events.testing import drop_topics, read_records
from aigov_monitoring_router.app import create_app
from aigov_monitoring_router.clock import Clock
from aigov_monitoring_router.settings import Settings
from aigov_runtime.database import create_engine
from aigov_runtime.testing import app_client

TOKENS: dict[str, tuple[str, list[str]]] = {
    "tok-owner-router-0123456789": ("dana.kim", ["owner"]),
    "tok-reader-router-012345678": ("dashboard", ["reader"]),
    "tok-admin-router-0123456789": ("admin", ["admin"]),
    "tok-publisher-router-012345": ("ci-bot", ["publisher"]),
}
OWNER = "tok-owner-router-0123456789"
READER = "tok-reader-router-012345678"
ADMIN = "tok-admin-router-0123456789"
PUBLISHER = "tok-publisher-router-012345"
WEBHOOK_SECRET = "router-test-webhook-secret-0123"


def auth(token: str) -> dict[str, str]:
    """The Authorization header for `token`."""
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Hit:
    """One request a receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def is_probe(self) -> bool:
        """Whether this is a monitoring-probe message (probe dedup key, or the Slack title)."""
        return b"aigov-probe-" in self.body or b"[aigov probe]" in self.body

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


@dataclass
class Receivers:
    """A real local HTTP server standing in for webhook, Slack and PagerDuty endpoints."""

    base_url: str = ""
    hits: list[Hit] = field(default_factory=list)
    scripts: dict[str, list[int]] = field(default_factory=dict)
    """Per path, the statuses to answer in turn (then 200 / 202)."""
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        """The URL of `path` on this server."""
        return f"{self.base_url}{path}"

    def at(self, path: str, *, probes: bool = False) -> list[Hit]:
        """Requests received on `path` (monitoring-probe messages only when `probes`)."""
        return [h for h in self.hits if h.path == path and h.is_probe is probes]

    async def wait_for(
        self, path: str, count: int = 1, *, probes: bool = False, within: float = 20.0
    ) -> list[Hit]:
        """Wait until `path` received `count` requests (of probes, or of everything else)."""
        async with asyncio.timeout(within):
            while len(self.at(path, probes=probes)) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.at(path, probes=probes)

    async def handle(self, request: Request) -> Response:
        """Record the request and answer from the script."""
        path = request.url.path
        self.hits.append(Hit(path=path, headers=dict(request.headers), body=await request.body()))
        self._arrived.set()
        script = self.scripts.get(path)
        status = script.pop(0) if script else (202 if path.startswith("/pd") else 200)
        if path.startswith("/pd") and status == 202:
            return JSONResponse(
                {"status": "success", "message": "Event processed", "dedup_key": "x"}, status
            )
        return Response("ok" if status == 200 else "nope", status_code=status)


@asynccontextmanager
async def local_receivers() -> AsyncIterator[Receivers]:
    """Serve `Receivers` on 127.0.0.1 on an ephemeral port."""
    receivers = Receivers()
    app = Starlette(routes=[Route("/{path:path}", receivers.handle, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", ws="none"
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  (uvicorn offers no event for "started")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    receivers.base_url = f"http://127.0.0.1:{port}"
    try:
        yield receivers
    finally:
        server.should_exit = True
        await task


def routing_yaml(receivers: Receivers, *, smtp_port: int = 9) -> str:
    """The integration tree: every receiver on the local server, short timers."""
    return f"""
global: {{dashboard_url: "https://aigov.example.com/dashboard"}}
route:
  receiver: hook
  group_by: [system, signal]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - name: flaky
      matchers: ['path="flaky"']
      receiver: flaky
    - name: broken
      matchers: ['path="broken"']
      receiver: broken
    - name: page
      matchers: ['tier="high"', 'severity=~"critical|high|warning"']
      receiver: pd
      continue: true
    - name: team
      matchers: ['tier=~"high|medium"']
      receiver: slack
receivers:
  - name: hook
    webhook: {{url: "{receivers.url("/hook")}", secret: "{WEBHOOK_SECRET}"}}
  - name: flaky
    webhook:
      url: "{receivers.url("/flaky")}"
      secret: "{WEBHOOK_SECRET}"
      retry: {{attempts: 4, initial_backoff: 50ms, max_backoff: 200ms}}
  - name: broken
    webhook: {{url: "{receivers.url("/broken")}", secret: "{WEBHOOK_SECRET}"}}
    fallback: fallback
  - name: fallback
    webhook: {{url: "{receivers.url("/fallback")}", secret: "{WEBHOOK_SECRET}"}}
  - name: pd
    pagerduty: {{url: "{receivers.url("/pd")}", routing_key: "R0UTINGKEY0123456789"}}
  - name: slack
    slack: {{url: "{receivers.url("/slack")}", channel: "#{{team}}-alerts"}}
  - name: owner
    webhook: {{url: "{receivers.url("/owner")}", secret: "{WEBHOOK_SECRET}"}}
  - name: mail
    email: {{to: ["{{owner}}"], from: "router@aigov.test", smtp_host: 127.0.0.1, smtp_port: {smtp_port}, starttls: false}}
  - name: governance
    webhook: {{url: "{receivers.url("/governance")}", secret: "{WEBHOOK_SECRET}"}}
incidents:
  slas:
    - {{tiers: [high], acknowledge: 24h, contain: 72h}}
    - {{acknowledge: 7d, contain: 30d}}
  escalation:
    - {{to: owner, receiver: owner, after: 0s}}
    - {{to: on-call, receiver: pd, after: 30m}}
    - {{to: governance-lead, receiver: governance, after: 4h}}
  breach_receiver: governance
  article73: {{escalate_to: governance}}
probe:
  tiers: [high]
  interval: 24h
"""


@dataclass
class RouterUnderTest:
    """A running router app, its settings, and a publisher/reader on its topics."""

    client: httpx.AsyncClient
    settings: Settings
    bus: NamespacedBus
    receivers: Receivers

    async def publish(self, *payloads: EventPayload) -> list[DomainEvent[Any]]:
        """Publish events as intake would (so the router consumes them from Kafka)."""
        events = [new_event(p, source="tests", actor="tester") for p in payloads]
        await Publisher(self.bus).publish_batch(events)
        return events

    async def published(
        self,
        topic: str,
        count: int,
        *,
        where: Callable[[DomainEvent[Any]], bool] | None = None,
        max_wait: float = 20.0,
    ) -> list[DomainEvent[Any]]:
        """Events on `topic` (from the start) passing `where`, waiting for `count` of them."""
        found: list[DomainEvent[Any]] = []
        async with asyncio.timeout(max_wait):
            while True:
                records = await read_records(self.bus, [topic], count=10_000, max_wait=1.0)
                found = [decode(from_kafka_record(r.value, r.headers)) for r in records]
                found = [e for e in found if where is None or where(e)]
                if len(found) >= count:
                    return found


def router_settings(local_stack: Any, config: Path | None, **overrides: Any) -> Settings:
    """Settings for a test-private router on the real broker and database."""
    values: dict[str, Any] = {
        "database_url": local_stack.postgres_url,
        "bus": "kafka",
        "kafka_bootstrap_servers": local_stack.kafka_bootstrap,
        "topic_prefix": f"t{uuid.uuid4().hex[:10]}.",
        "topic_partitions": 1,
        "router_db_schema": f"router_t{uuid.uuid4().hex[:10]}",
        "routing_config": config,
        "router_tick_seconds": 0.1,
        "auth_tokens": SecretStr(
            json.dumps({t: {"principal": p, "roles": r} for t, (p, r) in TOKENS.items()})
        ),
    }
    values.update(overrides)
    return Settings(**values)


async def drop_schema(postgres_url: str, schema: str) -> None:
    """Remove a test's private schema."""
    engine = create_engine(postgres_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await engine.dispose()


@dataclass
class RouterFactory:
    """Starts routers on one set of settings (to stop and restart them within a test)."""

    settings: Settings
    receivers: Receivers
    bus: NamespacedBus

    @asynccontextmanager
    async def running(self, clock: Clock | None = None) -> AsyncIterator[RouterUnderTest]:
        """A started router app (migrated, consuming, scheduling)."""
        async with app_client(create_app(self.settings, clock=clock)) as client:
            yield RouterUnderTest(
                client=client, settings=self.settings, bus=self.bus, receivers=self.receivers
            )


@pytest_asyncio.fixture
async def router_factory(local_stack: Any, tmp_path: Path) -> AsyncIterator[RouterFactory]:
    """Receivers, a routing file pointing at them, private topics and schema; all cleaned up."""
    async with local_receivers() as receivers:
        config = tmp_path / "routing.yaml"
        config.write_text(routing_yaml(receivers), encoding="utf-8")
        settings = router_settings(local_stack, config)
        bus = NamespacedBus(KafkaBus(local_stack.kafka_bootstrap), settings.topic_prefix)
        await bus.start()
        try:
            yield RouterFactory(settings=settings, receivers=receivers, bus=bus)
        finally:
            await bus.stop()
            await drop_topics(local_stack.kafka_bootstrap, settings.topic_prefix)
            await drop_schema(local_stack.postgres_url, settings.router_db_schema)


@pytest_asyncio.fixture
async def router(router_factory: RouterFactory) -> AsyncIterator[RouterUnderTest]:
    """One running router on the wall clock."""
    async with router_factory.running() as running:
        yield running


@pytest_asyncio.fixture
async def shipped_router(local_stack: Any) -> AsyncIterator[RouterUnderTest]:
    """A running router with the shipped routing file (every receiver the local inbox)."""
    async with local_receivers() as receivers:
        settings = router_settings(local_stack, None)
        bus = NamespacedBus(KafkaBus(local_stack.kafka_bootstrap), settings.topic_prefix)
        await bus.start()
        try:
            async with RouterFactory(
                settings=settings, receivers=receivers, bus=bus
            ).running() as r:
                yield r
        finally:
            await bus.stop()
            await drop_topics(local_stack.kafka_bootstrap, settings.topic_prefix)
            await drop_schema(local_stack.postgres_url, settings.router_db_schema)
