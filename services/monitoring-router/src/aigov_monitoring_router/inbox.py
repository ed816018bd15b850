"""The built-in inbox receiver: notifications kept in the router's own `inbox` table.

Delivering to an inbox is a row written in the transaction that records the attempt as sent,
so it needs no network and cannot fail on its own. The table is bounded: each write keeps
only the newest `keep` messages of its receiver (`AIGOV_ROUTER_INBOX_MAX`), so a dev box
running the demo for weeks does not fill up.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from aigov_monitoring_router.models import INBOX, InboxMessage, Notification

DEFAULT_KEEP: Final = 1000
"""Messages kept per inbox receiver unless `AIGOV_ROUTER_INBOX_MAX` says otherwise."""


async def store(
    session: AsyncSession, notification: Notification, *, at: datetime, keep: int
) -> None:
    """Put the notification in its receiver's inbox and drop what is older than the newest `keep`."""
    session.add(
        InboxMessage(
            notification_id=notification.notification_id,
            receiver=notification.receiver,
            system_id=notification.system_id,
            kind=notification.kind,
            route=notification.route,
            incident_id=notification.incident_id,
            message=notification.message,
            delivered_at=at,
        )
    )
    await session.flush()
    # Ids grow with each write: the `keep`-th newest id of the receiver is the cut-off.
    cutoff = (
        select(INBOX.c.id)
        .where(INBOX.c.receiver == notification.receiver)
        .order_by(INBOX.c.id.desc())
        .offset(keep - 1)
        .limit(1)
        .scalar_subquery()
    )
    await session.execute(
        delete(INBOX).where(INBOX.c.receiver == notification.receiver, INBOX.c.id < cutoff)
    )


async def messages(
    session: AsyncSession,
    *,
    system_id: str | None,
    receiver: str | None,
    kind: str | None,
    limit: int,
) -> list[InboxMessage]:
    """Inbox messages, newest first, optionally of one system, receiver or kind."""
    query = select(InboxMessage).order_by(INBOX.c.delivered_at.desc(), INBOX.c.id.desc())
    if system_id is not None:
        query = query.where(INBOX.c.system_id == system_id)
    if receiver is not None:
        query = query.where(INBOX.c.receiver == receiver)
    if kind is not None:
        query = query.where(INBOX.c.kind == kind)
    return list((await session.execute(query.limit(limit))).scalars().all())
