"""Database access shared by the router's workflows: upserts, timers, the outbox."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from aigov_events.catalog import EventPayload
from aigov_monitoring_router.models import TIMERS, OutboxEvent, SystemInfo, Timer


def table(model: Any) -> Table:
    """The Core table of a SQLModel class."""
    result: Table = model.__table__
    return result


def _insert(session: AsyncSession, target: Table) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(target)
    if dialect == "sqlite":
        return sqlite.insert(target)
    raise ValueError(f"unsupported database dialect {dialect}")


async def insert_ignore(session: AsyncSession, model: Any, values: Mapping[str, Any]) -> bool:
    """Insert a row unless its primary key exists; True if inserted."""
    statement = _insert(session, table(model)).values(**values).on_conflict_do_nothing()
    result: Any = await session.execute(statement)
    return bool(result.rowcount == 1)


async def upsert(
    session: AsyncSession,
    model: Any,
    values: Mapping[str, Any],
    *,
    keys: Sequence[str],
    update_columns: Sequence[str],
) -> None:
    """Insert a row, or update `update_columns` of the existing one with the same `keys`."""
    statement = _insert(session, table(model)).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: statement.excluded[name] for name in update_columns},
    )
    await session.execute(statement)


async def schedule(
    session: AsyncSession, kind: str, ref: str, due_at: datetime, *, keep_earlier: bool = False
) -> None:
    """Make timer (kind, ref) fire at `due_at` (releasing any lease).

    With `keep_earlier`, an existing timer that is already due sooner is left alone.
    """
    if keep_earlier:
        inserted = await insert_ignore(session, Timer, {"kind": kind, "ref": ref, "due_at": due_at})
        if not inserted:
            await session.execute(
                update(TIMERS)
                .where(TIMERS.c.kind == kind, TIMERS.c.ref == ref, TIMERS.c.due_at > due_at)
                .values(due_at=due_at)
            )
        return
    await upsert(
        session,
        Timer,
        {"kind": kind, "ref": ref, "due_at": due_at, "lease_until": None, "lease_owner": None},
        keys=("kind", "ref"),
        update_columns=("due_at", "lease_until", "lease_owner"),
    )


async def cancel(session: AsyncSession, kind: str, ref: str) -> None:
    """Remove timer (kind, ref) if it exists."""
    await session.execute(delete(TIMERS).where(TIMERS.c.kind == kind, TIMERS.c.ref == ref))


async def claim_due(
    session: AsyncSession, *, now: datetime, owner: str, lease_until: datetime, limit: int
) -> list[tuple[str, str]]:
    """Lease up to `limit` due timers to `owner` in one statement (skipping rows others hold)."""
    due = (
        select(TIMERS.c.kind, TIMERS.c.ref)
        .where(
            TIMERS.c.due_at <= now,
            or_(TIMERS.c.lease_until.is_(None), TIMERS.c.lease_until < now),
        )
        .order_by(TIMERS.c.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = await session.execute(
        update(TIMERS)
        .where(tuple_(TIMERS.c.kind, TIMERS.c.ref).in_(due))
        .values(lease_until=lease_until, lease_owner=owner)
        .returning(TIMERS.c.kind, TIMERS.c.ref)
    )
    return [(kind, ref) for kind, ref in claimed.all()]


async def holds_lease(session: AsyncSession, kind: str, ref: str, owner: str) -> bool:
    """Whether `owner` still holds the lease on timer (kind, ref)."""
    found = await session.scalar(
        select(TIMERS.c.kind).where(
            TIMERS.c.kind == kind, TIMERS.c.ref == ref, TIMERS.c.lease_owner == owner
        )
    )
    return found is not None


async def emit(session: AsyncSession, payload: EventPayload, *, at: datetime) -> None:
    """Queue an event for publication once this transaction commits (transactional outbox)."""
    session.add(
        OutboxEvent(
            event_id=str(uuid.uuid4()),
            event_type=payload.event_type,
            payload=payload.model_dump(mode="json", by_alias=True, exclude_none=True),
            occurred_at=at,
        )
    )


async def system_info(session: AsyncSession, system_id: str) -> SystemInfo | None:
    """What the router knows about a system."""
    return await session.get(SystemInfo, system_id)
