"""Database access shared by the router's workflows: row upserts, timers, the outbox."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from aigov_events.catalog import EventPayload
from aigov_monitoring_router.models import TIMERS, OutboxEvent, SystemInfo
from aigov_runtime.database import excluded, insert_if_new, upsert


async def upsert_row(
    session: AsyncSession,
    table: Table,
    values: Mapping[str, Any],
    *,
    keys: Sequence[str],
    update_columns: Sequence[str],
) -> None:
    """Insert a row, or update `update_columns` of the existing one with the same `keys`."""
    proposed = excluded(table)
    statement = upsert(
        table, session, keys=keys, update={name: proposed[name] for name in update_columns}
    )
    await session.execute(statement.values(dict(values)))


async def schedule(
    session: AsyncSession, kind: str, ref: str, due_at: datetime, *, keep_earlier: bool = False
) -> None:
    """Make timer (kind, ref) fire at `due_at` (releasing any lease).

    With `keep_earlier`, an existing timer that is already due sooner is left alone.
    """
    if keep_earlier:
        if not await insert_if_new(session, TIMERS, {"kind": kind, "ref": ref, "due_at": due_at}):
            await session.execute(
                update(TIMERS)
                .where(TIMERS.c.kind == kind, TIMERS.c.ref == ref, TIMERS.c.due_at > due_at)
                .values(due_at=due_at)
            )
        return
    await upsert_row(
        session,
        TIMERS,
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
