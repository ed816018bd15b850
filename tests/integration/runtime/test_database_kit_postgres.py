"""The SQL kit of `aigov_runtime.database` on the real PostgreSQL server: the scenarios of the
SQLite unit tests, in a throwaway schema (so on schema-qualified tables too)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import MetaData, Table, text

from aigov_runtime.database import create_engine, create_sessionmaker, dialect_name
from tests.unit.runtime.test_runtime_database_kit import SCENARIOS, Sessions, counters

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]


@pytest_asyncio.fixture
async def postgres(local_stack: Any) -> AsyncIterator[tuple[Sessions, Table]]:
    """An empty `kit_counters` in a schema of its own."""
    schema = f"kit_{uuid.uuid4().hex[:12]}"
    engine = create_engine(local_stack.postgres_url)
    metadata = MetaData(schema=schema)
    table = counters(metadata)
    async with engine.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        await connection.run_sync(metadata.create_all)
    try:
        yield create_sessionmaker(engine), table
    finally:
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.__name__)
async def test_scenario(scenario: Any, postgres: tuple[Sessions, Table]) -> None:
    sessions, table = postgres
    async with sessions() as session:
        assert dialect_name(session) == "postgresql"
    await scenario(sessions, table)
