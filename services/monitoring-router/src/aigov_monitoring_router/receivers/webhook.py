"""Generic webhook: an Alertmanager-v4-shaped JSON body, HMAC-SHA256 signed per receiver.

Signature: `X-Aigov-Signature: v1=<hex>` where hex = HMAC-SHA256(secret, "<timestamp>.<body>")
and `<timestamp>` is the `X-Aigov-Timestamp` header (Unix seconds). Signing the timestamp
lets a receiver refuse replays of an old delivery (Stripe's scheme).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any, Final

import httpx

from aigov_monitoring_router.messages import Message
from aigov_monitoring_router.receivers.base import AttemptResult, post
from aigov_monitoring_router.routing_config import WebhookConfig

SIGNATURE_HEADER: Final = "X-Aigov-Signature"
TIMESTAMP_HEADER: Final = "X-Aigov-Timestamp"
NOTIFICATION_HEADER: Final = "X-Aigov-Notification-Id"
#: Alertmanager's zero time, used for `endsAt` of alerts still firing.
ZERO_TIME: Final = "0001-01-01T00:00:00Z"


def _time(value: datetime | None) -> str:
    return value.isoformat().replace("+00:00", "Z") if value is not None else ZERO_TIME


def render(message: Message, *, receiver: str, notification_id: str) -> dict[str, Any]:
    """The JSON body (Alertmanager webhook v4 fields, plus aigov's own under `aigov`)."""
    return {
        "version": "4",
        "groupKey": message.group_key or message.dedup_key,
        "truncatedAlerts": 0,
        "status": message.status,
        "receiver": receiver,
        "groupLabels": message.group_labels,
        "commonLabels": message.common_labels,
        "commonAnnotations": {"summary": message.title},
        "externalURL": message.dashboard_url,
        "alerts": [
            {
                "status": alert.status,
                "labels": alert.labels,
                "annotations": {"summary": alert.summary},
                "startsAt": _time(alert.starts_at),
                "endsAt": _time(alert.ends_at),
                "generatorURL": alert.source_url or "",
                "fingerprint": alert.fingerprint,
            }
            for alert in message.alerts
        ],
        "aigov": {
            "notificationId": notification_id,
            "kind": message.kind,
            "action": message.action,
            "title": message.title,
            "text": message.text,
            "system": message.recipient.system,
            "incidentId": message.incident_id,
            "dedupKey": message.dedup_key,
            "probe": message.probe,
        },
    }


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """The `X-Aigov-Signature` value for `body` sent at `timestamp`."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


async def send(
    message: Message,
    config: WebhookConfig,
    *,
    http: httpx.AsyncClient,
    receiver: str,
    notification_id: str,
    now: datetime,
) -> AttemptResult:
    """POST the signed JSON to the webhook."""
    body = json.dumps(
        render(message, receiver=receiver, notification_id=notification_id),
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(config.secret.get_secret_value().encode(), timestamp, body),
        NOTIFICATION_HEADER: notification_id,
        "Idempotency-Key": notification_id,
    }
    return await post(
        http,
        config.url,
        content=body,
        headers=headers,
        within_seconds=config.timeout.total_seconds(),
    )
