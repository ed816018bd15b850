"""E-mail over SMTP (standard library client, run in a worker thread).

Recipients are filled in from the manifest (`{owner}`, `{oncall}`): each must be a single
address, or the mail is not built; a mail that cannot be built is a permanent failure, so
the delivery fails over to the receiver's fallback at once instead of being retried.
"""

from __future__ import annotations

import asyncio
import re
import smtplib
import ssl
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Final

from aigov_monitoring_router.email_addresses import InvalidAddress, single_address
from aigov_monitoring_router.messages import Message
from aigov_monitoring_router.receivers.base import AttemptResult, render_template
from aigov_monitoring_router.receivers.slack import system_url
from aigov_monitoring_router.routing_config import EmailConfig

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]+")


class UnbuildableMail(ValueError):
    """The e-mail cannot be built (e.g. a recipient is not a single address): do not retry."""


def recipients(message: Message, config: EmailConfig) -> list[Address]:
    """The receiver's `to` entries filled in; UnbuildableMail unless each is one address."""
    found = []
    for i, template in enumerate(config.to):
        try:
            found.append(single_address(render_template(template, message)))
        except InvalidAddress as exc:
            raise UnbuildableMail(f"to[{i}] ({template!r}): {exc}") from None
    return found


def render(
    message: Message, *, config: EmailConfig, notification_id: str, now: datetime
) -> EmailMessage:
    """The e-mail: subject with status and system, a plain-text body with links."""
    to = recipients(message, config)
    email = EmailMessage()
    prefix = "[aigov probe] " if message.probe else ""
    state = {"trigger": "FIRING", "acknowledge": "ACKNOWLEDGED", "resolve": "RESOLVED"}[
        message.action
    ]
    # Titles come from events: a CR or LF in one must not start a header of its own.
    title = _CONTROL.sub(" ", message.title)
    email["Subject"] = f"{prefix}[{state}] {title}"[:250]
    email["From"] = config.sender
    email["To"] = to
    email["Date"] = format_datetime(now)
    email["Message-ID"] = make_msgid(idstring=notification_id, domain="aigov.local")
    email["X-Aigov-Notification-Id"] = notification_id
    lines = [
        message.text,
        "",
        f"System:   {message.recipient.system}",
        f"Tier:     {message.recipient.tier or 'unknown'}",
        f"Team:     {message.recipient.team or 'unknown'}",
        f"Signal:   {message.signal or message.kind}",
        f"Severity: {message.severity}",
    ]
    if message.incident_id:
        lines.append(f"Incident: {message.incident_id}")
    if message.alerts:
        lines += ["", "Alerts:"] + [f"  - [{a.status}] {a.summary}" for a in message.alerts[:50]]
    lines += ["", f"Dashboard: {system_url(message)}", f"Route: {message.route}"]
    email.set_content("\n".join(lines) + "\n")
    return email


def _send_blocking(email: EmailMessage, to: list[Address], config: EmailConfig) -> None:
    timeout = config.timeout.total_seconds()
    with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=timeout) as smtp:
        if config.starttls:
            # smtplib's default context verifies nothing; this one checks certificate and host.
            smtp.starttls(context=ssl.create_default_context())
        if config.username and config.password:
            smtp.login(config.username, config.password.get_secret_value())
        smtp.send_message(email, to_addrs=[address.addr_spec for address in to])


async def send(
    message: Message, config: EmailConfig, *, notification_id: str, now: datetime
) -> AttemptResult:
    """Hand the e-mail to the SMTP server; 4xx replies and network errors are retried.

    A mail that cannot be built is a permanent failure (it would fail the same way again).
    """
    target = f"{config.smtp_host}:{config.smtp_port}"
    try:
        to = recipients(message, config)
        email = render(message, config=config, notification_id=notification_id, now=now)
    except ValueError as exc:  # UnbuildableMail, or a header the email package refuses
        return AttemptResult(ok=False, retryable=False, error=f"e-mail not built: {exc}"[:500])
    try:
        await asyncio.to_thread(_send_blocking, email, to, config)
    except smtplib.SMTPResponseException as exc:
        return AttemptResult(
            ok=False,
            retryable=400 <= exc.smtp_code < 500,
            status_code=exc.smtp_code,
            error=f"SMTP {exc.smtp_code} from {target}",
        )
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        return AttemptResult(
            ok=False,
            retryable=all(400 <= c < 500 for c in codes),
            status_code=codes[0] if codes else None,
            error=f"SMTP recipients refused by {target}",
        )
    except (OSError, smtplib.SMTPException) as exc:
        return AttemptResult(
            ok=False, retryable=True, error=f"SMTP to {target} failed: {exc!r}"[:500]
        )
    return AttemptResult(ok=True, status_code=250)
