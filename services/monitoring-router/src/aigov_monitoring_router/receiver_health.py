"""Per-receiver health: a failing receiver is reported once, not once per attempt.

In memory (per process): the transition to failing logs one WARNING naming the receiver,
its channel and the error (errors name hosts only, never URL paths, and go through the log
redaction); the recovery logs one INFO line; repeated failures log at DEBUG. Metrics:
`aigov_router_receiver_up{receiver}` and `aigov_router_delivery_attempts_total{receiver,
outcome}`, in the process-wide registry every service app exposes on `/metrics`.

What `GET /v1/routes` shows is computed from `delivery_attempts` instead (`last_deliveries`),
so it survives restarts and is the same on every replica.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from prometheus_client import Counter, Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aigov_monitoring_router.models import ATTEMPTS
from aigov_monitoring_router.receivers import AttemptResult
from aigov_monitoring_router.schemas import DeliveryStatus
from aigov_runtime.redaction import redact_text

log = logging.getLogger(__name__)

RECEIVER_UP = Gauge(
    "aigov_router_receiver_up",
    "1 while a receiver's last delivery attempt succeeded, 0 while it is failing "
    "(as this process saw it).",
    ["receiver"],
)
DELIVERY_ATTEMPTS = Counter(
    "aigov_router_delivery_attempts_total",
    "Delivery attempts this process made, by receiver and outcome (sent, failed, dropped).",
    ["receiver", "outcome"],
)


class Health(Enum):
    """What this process last saw of a receiver."""

    UNKNOWN = "unknown"
    HEALTHY = "healthy"
    FAILING = "failing"


@dataclass
class ReceiverHealth:
    """The health of each receiver as this process saw it, logging only the transitions."""

    _state: dict[str, Health] = field(default_factory=dict)

    def state(self, receiver: str) -> Health:
        """What this process last saw of `receiver`."""
        return self._state.get(receiver, Health.UNKNOWN)

    def observe(self, receiver: str, channel: str, outcome: str, result: AttemptResult) -> None:
        """Count one attempt; log when the receiver starts failing or recovers."""
        DELIVERY_ATTEMPTS.labels(receiver, outcome).inc()
        if outcome == "dropped":
            return  # a "null" receiver reaches nobody and cannot fail: it has no health
        before = self.state(receiver)
        now = Health.HEALTHY if result.ok else Health.FAILING
        self._state[receiver] = now
        RECEIVER_UP.labels(receiver).set(1 if result.ok else 0)
        context = {"receiver": receiver, "channel": channel}
        if now is Health.FAILING and before is not Health.FAILING:
            error = redact_text(result.error or "delivery failed")
            log.warning(
                "receiver %s (%s) is failing: %s; its notifications are retried, then go to "
                "its fallback (GET /v1/routes shows its last delivery)",
                receiver,
                channel,
                error,
                extra={**context, "error": error},
            )
        elif now is Health.HEALTHY and before is Health.FAILING:
            log.info("receiver %s (%s) delivers again", receiver, channel, extra=context)
        elif now is Health.FAILING:
            log.debug("receiver %s (%s) still failing", receiver, channel, extra=context)


async def last_deliveries(
    session: AsyncSession, receivers: Iterable[str]
) -> dict[str, DeliveryStatus | None]:
    """Each receiver's last delivery attempt and its failures since the last success."""
    statuses: dict[str, DeliveryStatus | None] = {}
    for receiver in receivers:
        newest = (
            select(ATTEMPTS.c.attempted_at, ATTEMPTS.c.outcome, ATTEMPTS.c.error)
            .where(ATTEMPTS.c.receiver == receiver)
            .order_by(ATTEMPTS.c.attempted_at.desc(), ATTEMPTS.c.id.desc())
            .limit(1)
        )
        row = (await session.execute(newest)).first()
        if row is None:
            statuses[receiver] = None
            continue
        failures = 0
        if row.outcome == "failed":
            last_success = await session.scalar(
                select(func.max(ATTEMPTS.c.attempted_at)).where(
                    ATTEMPTS.c.receiver == receiver, ATTEMPTS.c.outcome != "failed"
                )
            )
            since = select(func.count()).where(
                ATTEMPTS.c.receiver == receiver, ATTEMPTS.c.outcome == "failed"
            )
            if last_success is not None:
                since = since.where(ATTEMPTS.c.attempted_at > last_success)
            failures = int(await session.scalar(since) or 0)
        statuses[receiver] = DeliveryStatus(
            last_attempt_at=row.attempted_at,
            outcome=row.outcome,
            error=row.error if row.outcome == "failed" else None,
            consecutive_failures=failures,
        )
    return statuses
