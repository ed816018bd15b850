"""Receivers: turn a `Message` into one delivery attempt on one integration."""

from __future__ import annotations

from datetime import datetime

import httpx

from aigov_events.catalog.enums import Channel
from aigov_monitoring_router.messages import Message
from aigov_monitoring_router.receivers import email, pagerduty, slack, webhook
from aigov_monitoring_router.receivers.base import AttemptResult
from aigov_monitoring_router.routing_config import ReceiverConfig

__all__ = ["AttemptResult", "channel_of", "send"]


def channel_of(receiver: ReceiverConfig) -> Channel:
    """The delivery channel of a receiver (a receiver without integration counts as webhook)."""
    if receiver.inbox is not None:
        return Channel.INBOX
    if receiver.slack:
        return Channel.SLACK
    if receiver.pagerduty:
        return Channel.PAGERDUTY
    if receiver.email:
        return Channel.EMAIL
    return Channel.WEBHOOK


async def send(
    message: Message,
    receiver: ReceiverConfig,
    *,
    http: httpx.AsyncClient,
    notification_id: str,
    now: datetime,
) -> AttemptResult:
    """Deliver once through the receiver's integration.

    The inbox makes no I/O here: its row is written with the attempt's record
    (`outbound.deliver`), so this only says the attempt succeeded.
    """
    if receiver.webhook:
        return await webhook.send(
            message,
            receiver.webhook,
            http=http,
            receiver=receiver.name,
            notification_id=notification_id,
            now=now,
        )
    if receiver.slack:
        return await slack.send(message, receiver.slack, http=http, notification_id=notification_id)
    if receiver.pagerduty:
        return await pagerduty.send(
            message, receiver.pagerduty, http=http, timestamp=now.isoformat()
        )
    if receiver.email:
        return await email.send(message, receiver.email, notification_id=notification_id, now=now)
    # The inbox, or a receiver with no integration (Alertmanager's "null" receiver, which
    # swallows notifications): nothing to send.
    return AttemptResult(ok=True)
