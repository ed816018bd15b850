"""Intake against the real Kafka broker and PostgreSQL: an app per test with private topics."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio
from pydantic import SecretStr

from aigov_events.bus import IncomingRecord, NamespacedBus
from aigov_events.kafka_bus import KafkaBus
from aigov_events.testing import drop_topics, read_records
from aigov_intake.app import create_app
from aigov_intake.settings import Settings
from aigov_runtime.testing import app_client

#: token -> (principal, roles). Two approvers and two publishers, for separation-of-duty tests.
TOKENS: dict[str, tuple[str, list[str]]] = {
    "tok-publisher-ci-0123456789": ("ci-bot", ["publisher"]),
    "tok-publisher-ml-0123456789": ("ml-engineer", ["publisher", "owner"]),
    "tok-owner-0123456789abcdef": ("dana.kim", ["owner"]),
    "tok-approver-1-0123456789ab": ("risk-officer", ["approver"]),
    "tok-approver-2-0123456789ab": ("ml-lead", ["approver", "publisher"]),
    "tok-reader-0123456789abcdef": ("dashboard", ["reader"]),
    "tok-admin-0123456789abcdefg": ("admin", ["admin"]),
}
PUBLISHER = "tok-publisher-ci-0123456789"
PUBLISHER_2 = "tok-publisher-ml-0123456789"
OWNER = "tok-owner-0123456789abcdef"
APPROVER = "tok-approver-1-0123456789ab"
APPROVER_PUBLISHER = "tok-approver-2-0123456789ab"
READER = "tok-reader-0123456789abcdef"
ADMIN = "tok-admin-0123456789abcdefg"


def auth(token: str) -> dict[str, str]:
    """The Authorization header for `token`."""
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Intake:
    """A running intake app, an HTTP client for it, and a reader for its topics."""

    client: httpx.AsyncClient
    settings: Settings
    kafka_bootstrap: str

    async def records(self, topic: str, count: int, max_wait: float = 20.0) -> list[IncomingRecord]:
        """Read `count` records (at least) from the start of one of this app's topics."""
        bus = NamespacedBus(KafkaBus(self.kafka_bootstrap), self.settings.topic_prefix)
        await bus.start()
        try:
            return await read_records(bus, [topic], count=count, max_wait=max_wait)
        finally:
            await bus.stop()


def intake_settings(local_stack: Any, **overrides: Any) -> Settings:
    """Settings for a test-private intake on the real broker and database."""
    values: dict[str, Any] = {
        "database_url": local_stack.postgres_url,
        "bus": "kafka",
        "kafka_bootstrap_servers": local_stack.kafka_bootstrap,
        "topic_prefix": f"t{uuid.uuid4().hex[:10]}.",
        # One partition per topic: these tests check keys and headers, not partitioning.
        "topic_partitions": 1,
        "auth_tokens": SecretStr(
            json.dumps({t: {"principal": p, "roles": r} for t, (p, r) in TOKENS.items()})
        ),
    }
    values.update(overrides)
    settings = Settings(**values)
    _prefixes_in_use.append(settings.topic_prefix)
    return settings


@pytest_asyncio.fixture
async def intake(local_stack: Any) -> AsyncIterator[Intake]:
    """A started intake app (migrations applied, topics created) and its client."""
    settings = intake_settings(local_stack)
    async with app_client(create_app(settings)) as client:
        yield Intake(client=client, settings=settings, kafka_bootstrap=local_stack.kafka_bootstrap)


_prefixes_in_use: list[str] = []


@pytest_asyncio.fixture(autouse=True)
async def _drop_test_topics(local_stack: Any) -> AsyncIterator[None]:
    """Delete the topics of every intake a test started, so the broker stays small."""
    yield
    while _prefixes_in_use:
        await drop_topics(local_stack.kafka_bootstrap, _prefixes_in_use.pop())
