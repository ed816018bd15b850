"""Tiering against the real Kafka broker and PostgreSQL: an app per test with private topics."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from aigov_events.testing import drop_topics
from aigov_tiering.settings import Settings
from tests.unit.tiering.harness import RunningTiering, running_tiering, token_settings


@pytest_asyncio.fixture
async def tiering(local_stack: Any) -> AsyncIterator[RunningTiering]:
    """A started tiering service on Kafka + PostgreSQL; its topics are deleted afterwards."""
    settings = Settings(
        database_url=local_stack.postgres_url,
        bus="kafka",
        kafka_bootstrap_servers=local_stack.kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        topic_partitions=1,
        shutdown_timeout_seconds=10,
        **token_settings(),
    )
    try:
        async with running_tiering(settings) as running:
            yield running
    finally:
        await drop_topics(local_stack.kafka_bootstrap, settings.topic_prefix)


def unique(system_id: str) -> str:
    """A system id no other test (or earlier run on the same database) uses."""
    return f"{system_id}-{uuid.uuid4().hex[:8]}"
