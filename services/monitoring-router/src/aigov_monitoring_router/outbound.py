"""Creating notifications and delivering them: retries with backoff, the log, fallbacks.

A notification is written (with a `deliver` timer due now) in the transaction that decided
it; the scheduler then delivers it. Each attempt's outcome is logged in `delivery_attempts`;
the notification's settled outcome is published once through the outbox: `notification.sent`
when an attempt succeeds, `notification.failed` when retries are exhausted or the error is
permanent (failed attempts before that are in the log only, not in the ledger).
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import datetime, timedelta
from typing import Final, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_events.catalog import NotificationFailed, NotificationSent
from aigov_monitoring_router import inbox, receivers
from aigov_monitoring_router.messages import Message
from aigov_monitoring_router.models import NOTIFICATIONS, DeliveryAttempt, Notification
from aigov_monitoring_router.receivers import AttemptResult
from aigov_monitoring_router.repository import cancel, emit, holds_lease, schedule
from aigov_monitoring_router.router import Router
from aigov_monitoring_router.routing_config import ReceiverConfig, RetryConfig

DELIVER: Final = "deliver"
NotificationKind = Literal["alerts", "incident", "escalation", "breach", "probe"]


def backoff(retry: RetryConfig, failed_attempts: int) -> timedelta:
    """Delay before the next attempt: exponential, capped, with jitter in [50 %, 100 %]."""
    ceiling = min(
        retry.max_backoff.total_seconds(),
        retry.initial_backoff.total_seconds() * 2 ** (failed_attempts - 1),
    )
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


async def notify(
    session: AsyncSession,
    router: Router,
    *,
    message: Message,
    receiver: str,
    kind: NotificationKind,
    group_key: str | None = None,
    incident_id: str | None = None,
    probe_id: str | None = None,
    fallback_of: str | None = None,
) -> Notification:
    """Record a notification to `receiver` and schedule its first delivery attempt now."""
    now = router.clock.now()
    config = router.config.receiver(receiver)
    notification = Notification(
        notification_id=f"n-{uuid.uuid4().hex[:20]}",
        kind=kind,
        system_id=message.recipient.system,
        route=message.route,
        receiver=receiver,
        channel=receivers.channel_of(config).value,
        group_key=group_key,
        incident_id=incident_id,
        probe_id=probe_id,
        message=message.model_dump(mode="json"),
        status="pending",
        attempts=0,
        fallback_of=fallback_of,
        created_at=now,
        updated_at=now,
    )
    session.add(notification)
    await schedule(session, DELIVER, notification.notification_id, now)
    return notification


async def deliver(
    sessionmaker: async_sessionmaker[AsyncSession], router: Router, notification_id: str
) -> Notification | None:
    """Make one delivery attempt of a notification whose `deliver` timer we hold."""
    async with sessionmaker() as session:
        notification = await session.get(Notification, notification_id)
        if notification is None or notification.status != "pending":
            await cancel(session, DELIVER, notification_id)
            await session.commit()
            return None
    try:
        receiver: ReceiverConfig | None = router.config.receiver(notification.receiver)
    except KeyError:
        receiver = None
    started = time.perf_counter()
    if receiver is None:
        result = AttemptResult(
            ok=False, error=f"receiver {notification.receiver!r} is no longer configured"
        )
    elif receiver.inbox is not None:
        result = AttemptResult(ok=True)  # no I/O: the inbox row is written with the record
    else:
        result = await receivers.send(
            Message.model_validate(notification.message),
            receiver,
            http=router.client(),
            notification_id=notification_id,
            now=router.clock.now(),
        )
    latency_ms = (time.perf_counter() - started) * 1000
    async with sessionmaker() as session, session.begin():
        if not await holds_lease(session, DELIVER, notification_id, router.instance):
            return None  # our lease ran out and another replica took over
        current = await session.get(Notification, notification_id, with_for_update=True)
        if current is None or current.status != "pending":
            return None
        outcome = await _record(session, router, current, receiver, result, latency_ms)
    # Committed: only now is the attempt a fact worth a metric or a log line.
    router.health.observe(current.receiver, current.channel, outcome, result)
    return current


async def _record(
    session: AsyncSession,
    router: Router,
    notification: Notification,
    receiver: ReceiverConfig | None,
    result: AttemptResult,
    latency_ms: float,
) -> str:
    """Log the attempt and settle the notification if it is over; the attempt's outcome."""
    now = router.clock.now()
    attempt = notification.attempts + 1
    notification.attempts = attempt
    notification.updated_at = now
    outcome = (
        ("dropped" if receiver and receiver.integration is None else "sent")
        if result.ok
        else "failed"
    )
    session.add(
        DeliveryAttempt(
            notification_id=notification.notification_id,
            attempt=attempt,
            receiver=notification.receiver,
            channel=notification.channel,
            outcome=outcome,
            status_code=result.status_code,
            error=result.error,
            retryable=result.retryable,
            latency_ms=round(latency_ms, 3),
            attempted_at=now,
        )
    )
    message = Message.model_validate(notification.message)
    common = {
        "system_id": notification.system_id,
        "notification_id": notification.notification_id,
        "route": notification.route,
        "receiver": notification.receiver,
        "channel": notification.channel,
        "alert_fingerprints": [a.fingerprint for a in message.alerts][:500],
        "incident_id": notification.incident_id,
        "attempt": min(attempt, 100),
    }
    if result.ok and receiver is not None and receiver.integration is None:
        # A null receiver reached nobody: logged as dropped, never published as "sent",
        # so the evidence service cannot mistake it for proof that someone was told.
        notification.status = "dropped"
        await cancel(session, DELIVER, notification.notification_id)
        return outcome
    if result.ok:
        notification.status = "sent"
        await cancel(session, DELIVER, notification.notification_id)
        if receiver is not None and receiver.inbox is not None:
            await inbox.store(session, notification, at=now, keep=router.inbox_max)
        await emit(session, NotificationSent.model_validate(common), at=now)
        return outcome
    retry = receiver.retry if receiver is not None else RetryConfig()
    error = result.error or "delivery failed"
    if result.retryable and attempt < retry.attempts:
        # Not published: one notification is one outcome in the ledger, not one per attempt.
        await schedule(
            session, DELIVER, notification.notification_id, now + backoff(retry, attempt)
        )
        return outcome
    notification.status = "failed"
    await cancel(session, DELIVER, notification.notification_id)
    await emit(
        session,
        NotificationFailed.model_validate({**common, "error": error, "retryable": False}),
        at=now,
    )
    # One hop only: a failing fallback does not cascade to the fallback's fallback.
    if receiver is not None and receiver.fallback and notification.fallback_of is None:
        await notify(
            session,
            router,
            message=message,
            receiver=receiver.fallback,
            kind=notification.kind,  # type: ignore[arg-type]
            group_key=notification.group_key,
            incident_id=notification.incident_id,
            probe_id=None,
            fallback_of=notification.notification_id,
        )
    return outcome


async def sent_receivers(
    session: AsyncSession, *, incident_id: str, channel: str
) -> list[tuple[str, dict[str, object]]]:
    """Receivers (and a message) an incident was delivered to on `channel`, once each."""
    rows = (
        await session.execute(
            select(NOTIFICATIONS.c.receiver, NOTIFICATIONS.c.message)
            .where(
                NOTIFICATIONS.c.incident_id == incident_id,
                NOTIFICATIONS.c.channel == channel,
                NOTIFICATIONS.c.status == "sent",
            )
            .order_by(NOTIFICATIONS.c.created_at)
        )
    ).all()
    seen: dict[str, dict[str, object]] = {}
    for receiver, message in rows:
        seen.setdefault(receiver, message)
    return list(seen.items())


def utc_ms(value: datetime) -> str:
    """ISO-8601 UTC with a `Z`, for messages."""
    return value.isoformat().replace("+00:00", "Z")
