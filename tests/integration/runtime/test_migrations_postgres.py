"""Migrations on the real PostgreSQL server when several processes start at once.

Replicas of a service rolling out together (and the test suite's parallel workers) all run
`upgrade_to_head` on the same schema at startup. Each must either apply the migrations or
find them applied: never fail on a table or schema another one is creating.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest
from sqlalchemy import inspect, text

from aigov_evidence.app import MIGRATIONS
from aigov_runtime.database import create_engine
from aigov_runtime.migrations import upgrade_to_head

pytestmark = pytest.mark.integration

REPLICAS = 4


def migrate_at(start: float, url: str, schema: str) -> None:
    """In a replica process: wait for the common start time, then migrate (as at startup)."""
    time.sleep(max(start - time.time(), 0.0))
    upgrade_to_head(MIGRATIONS, database_url=url, schema=schema)


async def _tables_and_versions(url: str, schema: str) -> tuple[set[str], int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(
                lambda sync: set(inspect(sync).get_table_names(schema=schema))
            )
            versions = (
                await connection.execute(text(f'SELECT count(*) FROM "{schema}".alembic_version'))
            ).scalar_one()
        return tables, int(versions)
    finally:
        await engine.dispose()


async def _drop(url: str, schema: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await engine.dispose()


def test_replicas_migrating_one_fresh_schema_at_once_all_succeed(local_stack: Any) -> None:
    schema = f"migrate_{uuid.uuid4().hex[:10]}"
    url = local_stack.postgres_url
    try:
        # Processes, as replicas are (Alembic's command context is one per process).
        spawn = multiprocessing.get_context("spawn")
        start = time.time() + 8.0
        with ProcessPoolExecutor(REPLICAS, mp_context=spawn) as pool:
            runs = [
                # All at once: spawning takes seconds, so they start together at `start`.
                pool.submit(migrate_at, start, url, schema)
                for _ in range(REPLICAS)
            ]
            errors = [repr(run.exception()) for run in runs if run.exception() is not None]
        assert errors == []
        tables, versions = asyncio.run(_tables_and_versions(url, schema))
        assert {"ledger", "systems", "alembic_version"} <= tables
        assert versions == 1
    finally:
        asyncio.run(_drop(url, schema))
