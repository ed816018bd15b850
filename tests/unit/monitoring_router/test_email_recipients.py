"""E-mail recipients come from the manifest: only a single address each, and a mail that
cannot be built fails over to the fallback at once instead of being retried forever."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aigov_monitoring_router.messages import Message, Recipient
from aigov_monitoring_router.models import ATTEMPTS, SystemInfo
from aigov_monitoring_router.receivers import email
from aigov_monitoring_router.router import CompiledConfig
from aigov_monitoring_router.routing_config import EmailConfig, parse_config
from tests.unit.monitoring_router.conftest import UnitRouter, raised, registered, tier_assigned

NOW = datetime(2026, 11, 20, 9, 31, tzinfo=UTC)

#: Every alert goes to the owner by e-mail (an SMTP port nothing listens on), falling back
#: to a receiver without integration.
MAIL_CONFIG = """
route: {receiver: owner-mail, group_by: [system], group_wait: 0s}
receivers:
  - name: owner-mail
    email: {to: ["{owner}"], from: "router@aigov.test", smtp_host: 127.0.0.1, smtp_port: 9,
            starttls: false, retry: {attempts: 5, initial_backoff: 1m}}
    fallback: spare
  - name: spare
incidents:
  slas: [{acknowledge: 1h, contain: 2h}]
  escalation: [{to: owner, receiver: spare, after: 0s}]
  breach_receiver: spare
  article73: {escalate_to: spare}
"""

HOSTILE_OWNERS = [
    "victim@example.com, attacker@evil.example",
    "victim@example.com;attacker@evil.example",
    "victim@example.com\r\nBcc: attacker@evil.example",
    "victim@example.com\nBcc: attacker@evil.example",
    "Team: victim@example.com, attacker@evil.example;",
    "not-an-address",
    "victim@",
]


def message(owner: str, *, title: str = "drift on chat-helper") -> Message:
    """A notification for a system owned by `owner`."""
    return Message(
        kind="alerts",
        action="trigger",
        title=title,
        text="t",
        recipient=Recipient(system="chat-helper", owner=owner, team="ml", tier="low"),
        dedup_key="k",
        severity="warning",
        signal="drift",
        route="0",
        dashboard_url="https://aigov.example.com/dashboard",
    )


def mail_config(*to: str) -> EmailConfig:
    """An e-mail receiver to `to` on a port nothing listens on."""
    return EmailConfig.model_validate(
        {
            "to": list(to),
            "from": "router@aigov.test",
            "smtp_host": "127.0.0.1",
            "smtp_port": 9,
            "starttls": False,
            "timeout": "1s",
        }
    )


class TestRecipients:
    @pytest.mark.asyncio
    @pytest.mark.parametrize("owner", HOSTILE_OWNERS)
    async def test_hostile_owner_is_a_permanent_failure(self, owner: str) -> None:
        result = await email.send(
            message(owner), mail_config("{owner}"), notification_id="n-1", now=NOW
        )
        assert (result.ok, result.retryable) == (False, False)
        assert result.error is not None
        assert "single e-mail address" in result.error

    @pytest.mark.parametrize("owner", HOSTILE_OWNERS)
    def test_render_refuses_more_than_one_recipient(self, owner: str) -> None:
        with pytest.raises(email.UnbuildableMail):
            email.render(
                message(owner), config=mail_config("{owner}"), notification_id="n", now=NOW
            )

    @pytest.mark.parametrize(
        "owner", ["dana.kim@example.com", "Dana Kim <dana.kim@example.com>", "o'neil@example.co.uk"]
    )
    def test_single_addresses_are_accepted(self, owner: str) -> None:
        mail = email.render(
            message(owner), config=mail_config("{owner}"), notification_id="n", now=NOW
        )
        assert len(mail["To"].addresses) == 1

    def test_crlf_in_the_title_cannot_add_headers(self) -> None:
        mail = email.render(
            message("dana@example.com", title="drift\r\nBcc: attacker@evil.example"),
            config=mail_config("{owner}"),
            notification_id="n",
            now=NOW,
        )
        assert mail["Bcc"] is None
        assert "\n" not in mail["Subject"]
        assert "\r" not in mail["Subject"]


@pytest.mark.asyncio
class TestFailover:
    @pytest.mark.parametrize(
        "owner", ["victim@example.com, attacker@evil.example", "victim@example.com\r\nBcc: x@y.z"]
    )
    async def test_unbuildable_mail_fails_over_at_once(
        self, unit_router: UnitRouter, owner: str
    ) -> None:
        env = unit_router
        env.router.compiled = CompiledConfig.build(parse_config(MAIL_CONFIG, origin="unit"))
        await env.handle(registered("chat-helper"))
        await env.handle(tier_assigned("chat-helper", "low"))
        # The event model now refuses such owners; a projection written before it did (or a
        # future manifest field) must still not reach the SMTP server.
        async with env.sessionmaker() as session, session.begin():
            info = await session.get(SystemInfo, "chat-helper")
            assert info is not None
            info.owner = owner
        await env.handle(raised("chat-helper", starts_at=env.clock.now()))
        await env.advance(timedelta(seconds=1))
        primary, fallback = await env.notifications()
        assert (primary.receiver, primary.status, primary.attempts) == ("owner-mail", "failed", 1)
        assert (fallback.receiver, fallback.fallback_of) == ("spare", primary.notification_id)
        assert fallback.status == "dropped"
        async with env.sessionmaker() as session:
            query = ATTEMPTS.select().where(ATTEMPTS.c.notification_id == primary.notification_id)
            [attempt] = (await session.execute(query)).mappings().all()
        assert attempt["retryable"] is False
        assert "single e-mail address" in attempt["error"]
