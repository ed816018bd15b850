"""Alembic, the same way in every service: one env.py body, and `upgrade` at startup or in tests.

A service keeps its own `alembic.ini` and `migrations/`; its `env.py` calls `run_env(metadata,
schema=...)`. `upgrade_to_head(...)` runs them programmatically (the service's lifespan with
`AIGOV_MIGRATE_ON_START`, and the test suites, which never use `create_all`).
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from aigov_runtime.database import create_engine

__all__ = ["run_env", "upgrade_to_head"]

URL_OPTION = "aigov.database_url"
SCHEMA_OPTION = "aigov.schema"


def _configure_and_run(connection: Connection, metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def _lock_key(schema: str | None) -> int:
    digest = hashlib.sha256(f"aigov.migrations:{schema or ''}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def _run_online(url: str, schema: str | None, metadata: MetaData) -> None:
    engine = create_engine(url, schema=schema)
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Replicas that start together (and parallel test workers) migrate one at a
                # time: the others wait here, then find the schema at head. Without it, two
                # CREATE SCHEMA/TABLE race and one replica fails its startup.
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(schema)}
                )
                if schema is not None:
                    await connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            await connection.run_sync(_configure_and_run, metadata)
    finally:
        await engine.dispose()


def run_env(metadata: MetaData) -> None:
    """The body of a service's `migrations/env.py` (online mode only: we always have a DB)."""
    config = context.config
    url = config.attributes.get(URL_OPTION) or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: set AIGOV_DATABASE_URL or use upgrade_to_head()")
    schema = config.attributes.get(SCHEMA_OPTION)
    asyncio.run(_run_online(url, schema, metadata))


def upgrade_to_head(migrations_dir: Path, *, database_url: str, schema: str | None) -> None:
    """Apply every migration in `migrations_dir` (blocking: call it in a worker thread)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes[URL_OPTION] = database_url
    config.attributes[SCHEMA_OPTION] = schema
    command.upgrade(config, "head")
