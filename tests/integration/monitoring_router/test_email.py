"""The SMTP receiver against a real local SMTP server (the stdlib client talks real SMTP to it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
import pytest_asyncio

from aigov_monitoring_router.messages import AlertView, Message, Recipient
from aigov_monitoring_router.receivers import email
from aigov_monitoring_router.routing_config import EmailConfig

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

NOW = datetime(2026, 11, 20, 9, 31, tzinfo=UTC)


@dataclass
class SmtpServer:
    """A small RFC 5321 server on 127.0.0.1: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    port: int = 0
    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    rcpt_reply: str = "250 OK"
    """Reply to RCPT TO (set a 4xx or 5xx to test refusals)."""

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one SMTP session."""

        async def reply(line: str) -> None:
            writer.write(line.encode() + b"\r\n")
            await writer.drain()

        sender, recipients = "", list[str]()
        await reply("220 localhost aigov-test ESMTP")
        while line := (await reader.readline()).decode().rstrip("\r\n"):
            verb = line[:4].upper()
            if verb == "EHLO":
                await reply("250-localhost")
                await reply("250 8BITMIME")
            elif verb == "HELO" or verb in ("RSET", "NOOP"):
                await reply("250 OK")
            elif verb == "MAIL":
                sender, recipients = line.split(":", 1)[1].strip().strip("<>"), list[str]()
                await reply("250 OK")
            elif verb == "RCPT":
                if self.rcpt_reply.startswith("250"):
                    recipients.append(line.split(":", 1)[1].strip().strip("<>"))
                await reply(self.rcpt_reply)
            elif verb == "DATA":
                await reply("354 End data with <CR><LF>.<CR><LF>")
                lines: list[bytes] = []
                while (chunk := await reader.readline()) not in (b".\r\n", b""):
                    lines.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                parsed = message_from_bytes(b"".join(lines), policy=policy.default)
                assert isinstance(parsed, EmailMessage)
                self.received.append((sender, recipients, parsed))
                await reply("250 OK: queued")
            elif verb == "QUIT":
                await reply("221 Bye")
                break
            else:
                await reply("502 Command not implemented")
        writer.close()


@pytest_asyncio.fixture
async def smtp_server() -> AsyncIterator[SmtpServer]:
    """A started local SMTP server."""
    smtp = SmtpServer()
    server = await asyncio.start_server(smtp.session, "127.0.0.1", 0)
    smtp.port = server.sockets[0].getsockname()[1]
    async with server:
        yield smtp


def message() -> Message:
    """An incident escalation for the owner."""
    return Message(
        kind="escalation",
        action="trigger",
        title="[high] Incident INC-7 on support-bot escalated to owner",
        text="A summary included another customer's contact details",
        recipient=Recipient(
            system="support-bot", owner="dana.kim@example.com", team="support-ml", tier="high"
        ),
        dedup_key="aigov-incident-INC-7",
        severity="high",
        signal="privacy",
        route="incidents",
        incident_id="INC-7",
        alerts=[
            AlertView(
                fingerprint="3f2a9c1d7e6b5a40",
                status="firing",
                labels={"system": "support-bot"},
                summary="PII in summary",
                starts_at=NOW,
            )
        ],
        dashboard_url="https://aigov.example.com/dashboard",
    )


def config(port: int) -> EmailConfig:
    """E-mail to the system's owner through the local server."""
    return EmailConfig.model_validate(
        {
            "to": ["{owner}", "oncall@example.com"],
            "from": "router@aigov.test",
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            # The local test server speaks plain SMTP; STARTTLS is on by default.
            "starttls": False,
            "timeout": "5s",
        }
    )


async def test_delivers_the_exact_message(smtp_server: SmtpServer) -> None:
    result = await email.send(message(), config(smtp_server.port), notification_id="n-1", now=NOW)
    assert result.ok
    assert result.status_code == 250
    [(sender, recipients, mail)] = smtp_server.received
    assert sender == "router@aigov.test"
    assert recipients == ["dana.kim@example.com", "oncall@example.com"]
    assert mail["Subject"] == "[FIRING] [high] Incident INC-7 on support-bot escalated to owner"
    assert mail["To"] == "dana.kim@example.com, oncall@example.com"
    assert mail["X-Aigov-Notification-Id"] == "n-1"
    assert mail["Date"] == "Fri, 20 Nov 2026 09:31:00 +0000"
    body = mail.get_content().replace("\r\n", "\n")  # SMTP lines end in CRLF
    assert body == (
        "A summary included another customer's contact details\n\n"
        "System:   support-bot\n"
        "Tier:     high\n"
        "Team:     support-ml\n"
        "Signal:   privacy\n"
        "Severity: high\n"
        "Incident: INC-7\n\n"
        "Alerts:\n"
        "  - [firing] PII in summary\n\n"
        "Dashboard: https://aigov.example.com/dashboard/systems/support-bot\n"
        "Route: incidents\n"
    )


@pytest.mark.parametrize(
    ("reply", "retryable"), [("451 try later", True), ("550 no such user", False)]
)
async def test_refusals(smtp_server: SmtpServer, reply: str, retryable: bool) -> None:
    smtp_server.rcpt_reply = reply
    result = await email.send(message(), config(smtp_server.port), notification_id="n-2", now=NOW)
    assert not result.ok
    assert result.retryable is retryable
    assert result.status_code == int(reply[:3])
    assert smtp_server.received == []


async def test_unreachable_server_is_retryable() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    result = await email.send(message(), config(port), notification_id="n-3", now=NOW)
    assert (result.ok, result.retryable) == (False, True)


@pytest.mark.parametrize(
    "owner",
    [
        "victim@example.com, attacker@evil.example",
        "victim@example.com\r\nBcc: attacker@evil.example",
    ],
)
async def test_owner_with_extra_recipients_sends_nothing(
    smtp_server: SmtpServer, owner: str
) -> None:
    hostile = message()
    hostile = hostile.model_copy(
        update={"recipient": hostile.recipient.model_copy(update={"owner": owner})}
    )
    result = await email.send(hostile, config(smtp_server.port), notification_id="n-4", now=NOW)
    assert (result.ok, result.retryable) == (False, False)
    assert smtp_server.received == []


async def test_starttls_is_required_by_default(smtp_server: SmtpServer) -> None:
    # The local server offers no STARTTLS: a receiver that did not turn it off sends nothing.
    on = EmailConfig.model_validate(
        {
            "to": ["{owner}"],
            "from": "router@aigov.test",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_server.port,
            "timeout": "5s",
        }
    )
    result = await email.send(message(), on, notification_id="n-5", now=NOW)
    assert not result.ok
    assert smtp_server.received == []
