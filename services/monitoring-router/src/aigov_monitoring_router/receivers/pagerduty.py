"""PagerDuty Events API v2: trigger, acknowledge and resolve with a stable `dedup_key`."""

from __future__ import annotations

from typing import Any, Final

import httpx

from aigov_monitoring_router.messages import Message
from aigov_monitoring_router.receivers.base import AttemptResult, post
from aigov_monitoring_router.receivers.slack import system_url
from aigov_monitoring_router.routing_config import PagerDutyConfig

#: aigov severities -> PagerDuty's (critical, error, warning, info).
SEVERITY: Final = {
    "critical": "critical",
    "high": "error",
    "medium": "warning",
    "warning": "warning",
    "low": "info",
    "info": "info",
}
CLIENT: Final = "aigov monitoring router"


def render(message: Message, *, config: PagerDutyConfig, timestamp: str) -> dict[str, Any]:
    """The event body; acknowledge/resolve carry only the routing and dedup keys."""
    body: dict[str, Any] = {
        "routing_key": config.routing_key.get_secret_value(),
        "dedup_key": message.dedup_key,
        "event_action": message.action,
    }
    if message.action != "trigger":
        return body
    details: dict[str, Any] = {
        "system": message.recipient.system,
        "tier": message.recipient.tier,
        "team": message.recipient.team,
        "route": message.route,
        "text": message.text,
    }
    if message.incident_id:
        details["incident_id"] = message.incident_id
    if message.alerts:
        details["alerts"] = [
            {"fingerprint": a.fingerprint, "status": a.status, "summary": a.summary}
            for a in message.alerts[:20]
        ]
    body["payload"] = {
        "summary": (("[aigov probe] " if message.probe else "") + message.title)[:1024],
        "timestamp": timestamp,
        "source": f"aigov:{message.recipient.system}",
        # A probe must not wake anyone up at night: it still proves the route works.
        "severity": "info" if message.probe else SEVERITY.get(message.severity, "warning"),
        "component": message.recipient.system,
        "group": message.recipient.team or "unknown",
        "class": message.signal or message.kind,
        "custom_details": details,
    }
    body["links"] = [{"href": system_url(message), "text": "aigov dashboard"}]
    body["client"] = CLIENT
    body["client_url"] = message.dashboard_url
    return body


async def send(
    message: Message, config: PagerDutyConfig, *, http: httpx.AsyncClient, timestamp: str
) -> AttemptResult:
    """POST the event to the Events API (202 on success)."""
    return await post(
        http,
        config.url,
        json_body=render(message, config=config, timestamp=timestamp),
        within_seconds=config.timeout.total_seconds(),
    )
