"""The timer loop: claim due timers from the database, run them, publish the outbox.

Timers are rows, not coroutines: whatever was due while no router ran is picked up by the
next one. A claimed timer is leased (`lease_until`) so replicas never run one twice at the
same time, and a replica that dies mid-run leaves a lease that simply expires.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_events.catalog import payload_model
from aigov_events.message import new_event
from aigov_events.producer import Publisher
from aigov_monitoring_router import alerting, incidents, probes, silences
from aigov_monitoring_router.models import OUTBOX, OutboxEvent
from aigov_monitoring_router.outbound import DELIVER, deliver
from aigov_monitoring_router.repository import cancel, claim_due, holds_lease
from aigov_monitoring_router.router import ACTOR, SOURCE, Router

log = logging.getLogger(__name__)

_OUTBOX_BATCH: Final = 500
TimerAction = Callable[[AsyncSession, Router, str], Awaitable[object]]

#: Timer kinds whose work is a database transaction (deliveries do I/O outside one).
TRANSACTIONAL: Final[dict[str, TimerAction]] = {
    alerting.FLUSH: alerting.flush,
    incidents.DEADLINE: incidents.check_deadline,
    incidents.ESCALATE: incidents.escalate,
    probes.PROBE: probes.scheduled_probe,
    silences.SILENCE_END: silences.silence_ended,
}


class Scheduler:
    """Runs due timers and relays the outbox until stopped."""

    def __init__(
        self,
        router: Router,
        sessionmaker: async_sessionmaker[AsyncSession],
        publisher: Publisher,
        *,
        tick_seconds: float = 1.0,
        batch: int = 200,
        lease_seconds: float = 120.0,
        concurrency: int = 64,
    ) -> None:
        self._router = router
        self._sessionmaker = sessionmaker
        self._publisher = publisher
        self._tick = tick_seconds
        self._batch = batch
        self._lease = timedelta(seconds=lease_seconds)
        self._slots = asyncio.Semaphore(concurrency)
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish the current round and return from run()."""
        self._stopping.set()
        self._router.wake()

    async def run(self) -> None:
        """Work until stop(); errors of one round are logged and the loop carries on."""
        log.info("scheduler started", extra={"instance": self._router.instance})
        while not self._stopping.is_set():
            try:
                busy = await self.run_once()
            except Exception:
                log.exception("scheduler round failed; retrying")
                busy = False
            if not busy and not self._stopping.is_set():
                await self._router.wait_for_work(self._tick)
        log.info("scheduler stopped")

    async def run_once(self) -> bool:
        """One round: run every due timer, then publish the outbox. True if anything happened."""
        now = self._router.clock.now()
        async with self._sessionmaker() as session, session.begin():
            claimed = await claim_due(
                session,
                now=now,
                owner=self._router.instance,
                lease_until=now + self._lease,
                limit=self._batch,
            )
        if claimed:
            await asyncio.gather(*(self._run_timer(kind, ref) for kind, ref in claimed))
        published = await self.relay_outbox()
        return bool(claimed) or published > 0

    async def _run_timer(self, kind: str, ref: str) -> None:
        async with self._slots:
            try:
                if kind == DELIVER:
                    notification = await deliver(self._sessionmaker, self._router, ref)
                    if (
                        notification is not None
                        and notification.probe_id
                        and notification.status != "pending"
                    ):
                        async with self._sessionmaker() as session, session.begin():
                            await probes.settle_probe(session, self._router, notification.probe_id)
                    return
                action = TRANSACTIONAL.get(kind)
                async with self._sessionmaker() as session, session.begin():
                    if not await holds_lease(session, kind, ref, self._router.instance):
                        return
                    if action is None:
                        log.warning("unknown timer kind dropped", extra={"kind": kind, "ref": ref})
                        await cancel(session, kind, ref)
                        return
                    await action(session, self._router, ref)
            except Exception:
                # The lease expires and the timer runs again; log once per failure.
                log.exception("timer failed", extra={"kind": kind, "ref": ref})

    async def relay_outbox(self) -> int:
        """Publish queued events (oldest first) and delete them once the broker acknowledged."""
        total = 0
        while True:
            async with self._sessionmaker() as session, session.begin():
                rows = (
                    (
                        await session.execute(
                            select(OutboxEvent)
                            .order_by(OUTBOX.c.occurred_at, OUTBOX.c.event_id)
                            .limit(_OUTBOX_BATCH)
                            .with_for_update(skip_locked=True)
                        )
                    )
                    .scalars()
                    .all()
                )
                if not rows:
                    return total
                events = [
                    new_event(
                        payload_model(row.event_type).model_validate(row.payload),
                        source=SOURCE,
                        actor=ACTOR,
                        event_id=row.event_id,
                        time=row.occurred_at,
                    )
                    for row in rows
                ]
                await self._publisher.publish_batch(events)
                await session.execute(
                    delete(OUTBOX).where(OUTBOX.c.event_id.in_([row.event_id for row in rows]))
                )
                total += len(rows)
