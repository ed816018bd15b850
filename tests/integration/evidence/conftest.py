"""Evidence against the real Kafka broker and PostgreSQL: private topics and a private schema per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from sqlalchemy import text

from aigov_events.testing import drop_topics
from aigov_evidence.settings import Settings
from aigov_runtime.database import create_engine
from tests.unit.evidence.harness import AUTH_TOKENS, Harness, serve


def private_settings(local_stack: Any, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings of a test-private evidence service: its own topic prefix and PostgreSQL schema."""
    tag = uuid.uuid4().hex[:10]
    values: dict[str, Any] = {
        "database_url": local_stack.postgres_url,
        "bus": "kafka",
        "kafka_bootstrap_servers": local_stack.kafka_bootstrap,
        "topic_prefix": f"t{tag}.",
        "topic_partitions": 3,
        "evidence_schema": f"evidence_t{tag}",
        "evidence_consumer_group": f"evidence-{tag}",
        "evidence_dev_signing_key_path": tmp_path / "signing-key.pem",
        "evidence_checkpoint_interval_seconds": 0,
        "evidence_waiver_sweep_interval_seconds": 0,
        "shutdown_timeout_seconds": 10,
        "auth_tokens": AUTH_TOKENS,
    }
    values.update(overrides)
    return Settings(**values)


async def drop_private(local_stack: Any, settings: Settings) -> None:
    """Delete a test's topics and schema, so the broker and the database stay small."""
    await drop_topics(local_stack.kafka_bootstrap, settings.topic_prefix)
    engine = create_engine(local_stack.postgres_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(f'DROP SCHEMA IF EXISTS "{settings.evidence_schema}" CASCADE')
            )
    finally:
        await engine.dispose()


@pytest_asyncio.fixture
async def evidence(local_stack: Any, tmp_path: Path) -> AsyncIterator[Harness]:
    """A started evidence service (schema migrated, topics created, ledger consumer joined)."""
    settings = private_settings(local_stack, tmp_path)
    try:
        async with serve(settings) as harness:
            yield harness
    finally:
        await drop_private(local_stack, settings)
