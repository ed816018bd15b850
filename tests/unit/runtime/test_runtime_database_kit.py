"""The SQL kit of `aigov_runtime.database` on SQLite: ON CONFLICT, one row and many, a model's table.

The scenarios take a sessionmaker and a table of `counters(metadata)`, so the PostgreSQL test
(`tests/integration/runtime/test_database_kit_postgres.py`) runs the same ones there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import (
    JSON,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from aigov_runtime.database import (
    UtcDateTime,
    copy_rows,
    create_engine,
    create_sessionmaker,
    dialect_name,
    excluded,
    insert_if_new,
    insert_ignore,
    insert_rows,
    table_of,
    upsert,
)

Sessions = async_sessionmaker[AsyncSession]


def counters(metadata: MetaData) -> Table:
    """The table every scenario writes to."""
    return Table(
        "kit_counters",
        metadata,
        Column("key", String(50), primary_key=True),
        Column("label", String(50), nullable=False),
        Column("hits", Integer, nullable=False),
        # A reserved word: the proposed value has to be quoted (`excluded."order"`).
        Column("order", Integer, nullable=False),
        # Types with bind processing, for copy_rows (which bypasses the INSERT compiler).
        Column("detail", JSON, nullable=True),
        Column("seen", UtcDateTime, nullable=True),
    )


def row(key: str, label: str, hits: int, order: int) -> dict[str, Any]:
    """A row of `kit_counters`."""
    return {"key": key, "label": label, "hits": hits, "order": order}


async def stored(sessions: Sessions, table: Table) -> dict[str, tuple[str, int, int]]:
    """Every row, by key: (label, hits, order)."""
    async with sessions() as session:
        result = await session.execute(
            select(table.c.key, table.c.label, table.c.hits, table.c["order"])
        )
        return {key: (label, hits, order) for key, label, hits, order in result}


async def insert_ignore_keeps_the_existing_row(sessions: Sessions, table: Table) -> None:
    """A row whose key exists is left out; the others of the same statement go in."""
    async with sessions() as session, session.begin():
        await session.execute(table.insert().values(row("a", "first", 1, 1)))
        statement = insert_ignore(table, session)
        await insert_rows(session, statement, [row("a", "second", 2, 2), row("b", "new", 1, 1)])
    assert await stored(sessions, table) == {"a": ("first", 1, 1), "b": ("new", 1, 1)}


async def insert_if_new_says_whether_it_inserted(sessions: Sessions, table: Table) -> None:
    """True for a new row, False (and nothing changed) for one whose key exists."""
    async with sessions() as session, session.begin():
        first = await insert_if_new(session, table, row("a", "once", 1, 1))
        again = await insert_if_new(session, table, row("a", "twice", 2, 2))
    assert (first, again) == (True, False)
    assert await stored(sessions, table) == {"a": ("once", 1, 1)}


async def upsert_updates_from_the_proposed_row_where_allowed(
    sessions: Sessions, table: Table
) -> None:
    """SET mixes the existing row and `excluded`; where WHERE is false the row stays."""
    async with sessions() as session, session.begin():
        await insert_rows(session, table.insert(), [row("a", "a", 1, 1), row("b", "b", 5, 5)])
    async with sessions() as session, session.begin():
        proposed = excluded(table)
        statement = upsert(
            table,
            session,
            keys=["key"],
            update={
                "label": proposed.label,
                "hits": table.c.hits + proposed.hits,
                "order": proposed["order"],
            },
            # Only a later order replaces an earlier one.
            where=proposed["order"] > table.c["order"],
        )
        await insert_rows(
            session,
            statement,
            [row("a", "a2", 10, 2), row("b", "b2", 10, 3), row("c", "c", 1, 1)],
        )
    assert await stored(sessions, table) == {
        "a": ("a2", 11, 2),
        "b": ("b", 5, 5),
        "c": ("c", 1, 1),
    }


async def insert_rows_writes_every_row_and_none_for_no_rows(
    sessions: Sessions, table: Table
) -> None:
    """Thousands of rows in one call; an empty list runs no statement (not a row of defaults)."""
    rows = [row(f"k{i:05}", "bulk", i, i) for i in range(3000)]
    async with sessions() as session, session.begin():
        await insert_rows(session, table.insert(), [])
        await insert_rows(session, table.insert(), rows)
        await insert_rows(session, insert_ignore(table, session), [])
    async with sessions() as session:
        count, total = (await session.execute(select(func.count(), func.sum(table.c.hits)))).one()
    assert (count, total) == (3000, sum(range(3000)))


async def copy_rows_appends_in_the_callers_transaction(sessions: Sessions, table: Table) -> None:
    """COPY (on PostgreSQL) is part of the transaction, even as its first statement; JSON
    and times are processed as an INSERT would process them."""
    at = datetime(2026, 12, 4, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    rows = [
        {**row("a", "one", 1, 1), "detail": {"n": [1, 2.5, None]}, "seen": at},
        {**row("b", "two", 2, 2), "detail": None, "seen": None},
    ]
    async with sessions() as session:
        await session.begin()
        await copy_rows(session, table, rows)
        assert len(await stored(sessions, table)) == 0  # not visible outside yet
        await session.rollback()
    assert await stored(sessions, table) == {}
    async with sessions() as session, session.begin():
        await copy_rows(session, table, rows)
        await copy_rows(session, table, [])
    assert await stored(sessions, table) == {"a": ("one", 1, 1), "b": ("two", 2, 2)}
    async with sessions() as session:
        result = await session.execute(select(table.c.key, table.c.detail, table.c.seen))
        extra = {key: (detail, seen) for key, detail, seen in result}
    assert extra["a"] == ({"n": [1, 2.5, None]}, at)
    assert extra["a"][1].utcoffset() == timedelta(0)
    assert extra["b"][1] is None


async def copy_rows_fails_whole_on_a_broken_key(sessions: Sessions, table: Table) -> None:
    """A row that breaks a unique key fails the batch: none of its rows are kept."""
    async with sessions() as session, session.begin():
        await session.execute(table.insert().values(row("a", "first", 1, 1)))
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            await copy_rows(session, table, [row("b", "new", 1, 1), row("a", "again", 2, 2)])
    assert await stored(sessions, table) == {"a": ("first", 1, 1)}


SCENARIOS = (
    insert_ignore_keeps_the_existing_row,
    insert_if_new_says_whether_it_inserted,
    upsert_updates_from_the_proposed_row_where_allowed,
    insert_rows_writes_every_row_and_none_for_no_rows,
    copy_rows_appends_in_the_callers_transaction,
    copy_rows_fails_whole_on_a_broken_key,
)


@pytest_asyncio.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[tuple[Sessions, Table]]:
    """An empty `kit_counters` in a fresh SQLite file."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'kit.sqlite3'}")
    metadata = MetaData()
    table = counters(metadata)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield create_sessionmaker(engine), table
    await engine.dispose()


@pytest.mark.asyncio
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.__name__)
async def test_scenario(scenario: Any, sqlite: tuple[Sessions, Table]) -> None:
    await scenario(*sqlite)


@pytest.mark.asyncio
async def test_insert_rows_does_not_meet_the_bound_parameter_cap(tmp_path: Path) -> None:
    """100 rows of 4 columns under a cap of 10 parameters per statement: one VALUES list of
    them is refused, the kit's insert (one row's parameters per execution) is not."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'capped.sqlite3'}")

    def cap_parameters(dbapi_connection: Any, _record: Any) -> None:
        # aiosqlite owns the sqlite3 connection on its thread: set the limit there.
        dbapi_connection.run_async(
            lambda aio: aio._execute(aio._conn.setlimit, sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 10)
        )

    event.listen(engine.sync_engine, "connect", cap_parameters)
    metadata = MetaData()
    table = counters(metadata)
    rows = [row(f"k{i}", "capped", i, i) for i in range(100)]
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        sessions = create_sessionmaker(engine)
        with pytest.raises(OperationalError, match="too many SQL variables"):
            async with sessions() as session, session.begin():
                await session.execute(insert(table).values(rows))
        async with sessions() as session, session.begin():
            await insert_rows(session, insert_ignore(table, session), rows)
        assert len(await stored(sessions, table)) == 100
    finally:
        await engine.dispose()


class _Base(DeclarativeBase):
    metadata = MetaData()


class _Mapped(_Base):
    __tablename__ = "kit_mapped"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)


class TestTableAndDialect:
    def test_table_of_a_mapped_class_is_its_core_table(self) -> None:
        table = table_of(_Mapped)
        assert table is _Base.metadata.tables["kit_mapped"]
        assert [column.name for column in table.primary_key.columns] == ["key"]

    def test_table_of_an_unmapped_class_is_refused(self) -> None:
        with pytest.raises(TypeError, match="not mapped to a table"):
            table_of(dict)

    def test_a_dialect_without_on_conflict_is_refused(self) -> None:
        with pytest.raises(ValueError, match="mysql"):
            insert_ignore(counters(MetaData()), "mysql")

    @pytest.mark.asyncio
    async def test_the_dialect_comes_from_the_session(self, sqlite: tuple[Sessions, Table]) -> None:
        sessions, _ = sqlite
        async with sessions() as session:
            assert dialect_name(session) == "sqlite"
