"""Slack incoming webhook: a Block Kit message with system, tier, signal and dashboard links."""

from __future__ import annotations

from typing import Any, Final

import httpx

from aigov_monitoring_router.messages import Message
from aigov_monitoring_router.receivers.base import AttemptResult, post, render_template
from aigov_monitoring_router.routing_config import SlackConfig

_MAX_ALERT_LINES: Final = 10
_EMOJI: Final = {
    "trigger": ":rotating_light:",
    "acknowledge": ":eyes:",
    "resolve": ":white_check_mark:",
}


def _field(label: str, value: str | None) -> dict[str, str]:
    return {"type": "mrkdwn", "text": f"*{label}*\n{value or 'unknown'}"}


def system_url(message: Message) -> str:
    """Dashboard page of the message's system."""
    return f"{message.dashboard_url.rstrip('/')}/systems/{message.recipient.system}"


def render(message: Message, *, config: SlackConfig, notification_id: str) -> dict[str, Any]:
    """The webhook body: `text` (notification fallback) and Block Kit `blocks`."""
    prefix = "[aigov probe] " if message.probe else ""
    title = f"{prefix}{message.title}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": True}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"{_EMOJI[message.action]} {message.text}"[:3000]},
        },
        {
            "type": "section",
            "fields": [
                _field("System", f"<{system_url(message)}|{message.recipient.system}>"),
                _field("Tier", message.recipient.tier),
                _field("Signal", message.signal),
                _field("Severity", message.severity),
            ],
        },
    ]
    if message.alerts:
        lines = [
            f"• {'~' if a.status == 'resolved' else ''}{a.summary}{'~' if a.status == 'resolved' else ''}"
            + (f" (<{a.source_url}|source>)" if a.source_url else "")
            for a in message.alerts[:_MAX_ALERT_LINES]
        ]
        if len(message.alerts) > _MAX_ALERT_LINES:
            lines.append(f"… and {len(message.alerts) - _MAX_ALERT_LINES} more")
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}}
        )
    buttons: list[dict[str, Any]] = [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Open in aigov dashboard"},
            "url": system_url(message),
        }
    ]
    if message.incident_id:
        buttons.append(
            {
                "type": "button",
                "text": {"type": "plain_text", "text": f"Incident {message.incident_id}"},
                "url": f"{message.dashboard_url.rstrip('/')}/incidents/{message.incident_id}",
            }
        )
    blocks.append({"type": "actions", "elements": buttons})
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"aigov monitoring router · route `{message.route}` · notification `{notification_id}`",
                }
            ],
        }
    )
    body: dict[str, Any] = {"text": title, "blocks": blocks}
    if config.channel:
        body["channel"] = render_template(config.channel, message)
    return body


async def send(
    message: Message, config: SlackConfig, *, http: httpx.AsyncClient, notification_id: str
) -> AttemptResult:
    """POST the message to the incoming webhook."""
    return await post(
        http,
        config.url,
        json_body=render(message, config=config, notification_id=notification_id),
        within_seconds=config.timeout.total_seconds(),
    )
