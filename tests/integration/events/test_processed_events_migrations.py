"""Every service's processed_events migration: (consumer, source, event_id) after upgrading.

Runs each service's Alembic chain up to its first revision, records a processed event the old
way, upgrades to head and checks the old row survives and two sources may share an id.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, func, select, text

import aigov_monitoring_router
import aigov_tiering
from aigov_events.catalog import SystemRetired
from aigov_events.message import new_event
from aigov_runtime.database import create_engine, create_sessionmaker
from aigov_runtime.idempotency import claim, processed_events_table
from aigov_runtime.migrations import SCHEMA_OPTION, URL_OPTION

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

# The packages' migration folders (not their apps: a migration test needs no app import).
SERVICES = {
    "tiering": Path(aigov_tiering.__file__).parent / "migrations",
    "monitoring-router": Path(aigov_monitoring_router.__file__).parent / "migrations",
}


def _upgrade(migrations: Path, url: str, schema: str | None, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.attributes[URL_OPTION] = url
    config.attributes[SCHEMA_OPTION] = schema
    command.upgrade(config, revision)


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str | None]:
    """A database URL and schema: a private PostgreSQL schema, or a SQLite file."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'service.sqlite3'}", None
    stack = request.getfixturevalue("local_stack")
    return stack.postgres_url, f"pe_{uuid.uuid4().hex[:12]}"


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_upgrade_keys_processed_events_by_source_and_id(
    service: str, database: tuple[str, str | None]
) -> None:
    url, schema = database
    migrations = SERVICES[service]
    await asyncio.to_thread(_upgrade, migrations, url, schema, "0001")
    engine = create_engine(url, schema=schema)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO processed_events (consumer, event_id, event_type, processed_at) "
                    "VALUES ('c1', 'legacy-1', 'io.aigov.system.retired.v1', :t)"
                ),
                {"t": datetime.now(UTC)},
            )
        await engine.dispose()
        await asyncio.to_thread(_upgrade, migrations, url, schema, "head")
        engine = create_engine(url, schema=schema)
        table = processed_events_table(MetaData())
        payload = SystemRetired(system_id="sys-identity", reason="retired in a test")
        claims: list[Any] = []
        sessionmaker = create_sessionmaker(engine)
        for source in ("/tests/a", "/tests/b", "/tests/a"):
            event = new_event(payload, source=source, actor="tester", event_id="shared-1")
            async with sessionmaker() as session, session.begin():
                claims.append(await claim(session, table, consumer="c1", event=event))
        assert claims == [True, True, False]
        async with engine.connect() as connection:
            legacy = (
                await connection.execute(
                    select(table.c.source).where(table.c.event_id == "legacy-1")
                )
            ).scalar_one()
            total = (await connection.execute(select(func.count()).select_from(table))).scalar()
        assert legacy == ""
        assert total == 3
    finally:
        await engine.dispose()
        if schema is not None:
            cleanup = create_engine(url)
            async with cleanup.begin() as connection:
                await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await cleanup.dispose()
