"""The batch path on PostgreSQL + Kafka: the same effects as one event at a time on SQLite.

PostgreSQL runs tiering's set-based statements (multi-row upserts, row-value IN, UPDATE ...
RETURNING) through its own dialect; each test has a schema and topics of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import text

from aigov_events.embedded_bus import EmbeddedBus
from aigov_events.testing import drop_topics
from aigov_runtime.database import create_engine
from aigov_runtime.resources import open_bus
from aigov_tiering.settings import Settings
from tests.unit.tiering.batching import (
    HISTORY_DECISIONS,
    Store,
    by_system,
    history,
    history_systems,
    open_store,
    retier_scenario,
)
from tests.unit.tiering.helpers import default_pack

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]


@pytest_asyncio.fixture
async def postgres_store(local_stack: Any) -> AsyncIterator[Store]:
    """A store on PostgreSQL (a schema of its own) and Kafka (topics of its own)."""
    schema = f"tiering_{uuid.uuid4().hex[:10]}"
    settings = Settings(
        bus="kafka",
        kafka_bootstrap_servers=local_stack.kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        topic_partitions=1,
    )
    bus = open_bus(settings, client_id="tiering-batch-test")
    store = await open_store(local_stack.postgres_url, schema=schema, bus=bus, pack=default_pack())
    try:
        yield store
    finally:
        await store.close()
        await drop_topics(local_stack.kafka_bootstrap, settings.topic_prefix)
        engine = create_engine(local_stack.postgres_url)
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()


async def test_a_batch_on_postgres_has_the_effects_of_its_events_one_by_one(
    postgres_store: Store, tmp_path: Path
) -> None:
    lifecycle = history()
    await postgres_store.handler()(lifecycle)
    sqlite = await open_store(
        f"sqlite+aiosqlite:///{tmp_path / 'tiering.sqlite3'}",
        schema="tiering",
        bus=EmbeddedBus(tmp_path / "bus.sqlite3"),
        pack=default_pack(),
    )
    try:
        one_by_one = sqlite.handler()
        for event in lifecycle:
            await one_by_one([event])
        expected = await sqlite.decisions(HISTORY_DECISIONS)
        assert by_system(await postgres_store.decisions(HISTORY_DECISIONS, max_wait=30)) == (
            by_system(expected)
        )
        systems = history_systems()
        assert await postgres_store.rows(systems) == await sqlite.rows(systems)
    finally:
        await sqlite.close()
    assert postgres_store.publisher.calls == [HISTORY_DECISIONS]


async def test_retiering_in_chunks_on_postgres(postgres_store: Store, tmp_path: Path) -> None:
    await retier_scenario(postgres_store, tmp_path / "stricter", suffix="")
