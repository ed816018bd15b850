"""Alerts from Kafka to real local receivers: exact payloads, retries, fallback, the log."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import pytest

from aigov_events.catalog import NotificationFailed, NotificationSent
from aigov_events.message import DomainEvent
from aigov_events.topics import NOTIFICATIONS
from tests.integration.monitoring_router.conftest import (
    READER,
    WEBHOOK_SECRET,
    RouterUnderTest,
    auth,
)
from tests.unit.monitoring_router.conftest import raised, registered, resolved, tier_assigned

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

STARTS = datetime(2026, 11, 20, 9, 31, tzinfo=UTC)


def sent(event: DomainEvent[Any]) -> bool:
    """A notification.sent."""
    return isinstance(event.payload, NotificationSent)


def failed(event: DomainEvent[Any]) -> bool:
    """A notification.failed."""
    return isinstance(event.payload, NotificationFailed)


class TestWebhook:
    async def test_signed_alertmanager_shaped_body(self, router: RouterUnderTest) -> None:
        await router.publish(
            registered("doc-search", team="search-ml"),
            tier_assigned("doc-search", "low"),
            raised("doc-search", labels={"feature": "length"}, starts_at=STARTS),
        )
        [hit] = await router.receivers.wait_for("/hook")
        body = hit.json()
        timestamp = hit.headers["x-aigov-timestamp"]
        expected = hmac.new(
            WEBHOOK_SECRET.encode(), timestamp.encode() + b"." + hit.body, hashlib.sha256
        ).hexdigest()
        assert hit.headers["x-aigov-signature"] == f"v1={expected}"
        assert hit.headers["idempotency-key"] == body["aigov"]["notificationId"]
        assert body["version"] == "4"
        assert body["status"] == "firing"
        assert body["receiver"] == "hook"
        assert body["groupLabels"] == {"system": "doc-search", "signal": "drift"}
        [alert] = body["alerts"]
        assert alert["labels"] == {
            "feature": "length",
            "system": "doc-search",
            "signal": "drift",
            "severity": "warning",
            "tier": "low",
            "team": "search-ml",
        }
        assert alert["startsAt"] == "2026-11-20T09:31:00Z"
        assert alert["endsAt"] == "0001-01-01T00:00:00Z"
        assert alert["annotations"] == {"summary": "drift on doc-search"}
        assert len(alert["fingerprint"]) == 16
        assert body["externalURL"] == "https://aigov.example.com/dashboard"
        [event] = await router.published(NOTIFICATIONS, 1, where=sent)
        assert event.payload.notification_id == body["aigov"]["notificationId"]
        assert event.payload.alert_fingerprints == [alert["fingerprint"]]
        assert event.system_id == "doc-search"
        log = await router.client.get(
            "/v1/deliveries", params={"system": "doc-search"}, headers=auth(READER)
        )
        assert log.status_code == 200
        [attempt] = log.json()
        assert (attempt["outcome"], attempt["status_code"], attempt["attempt"]) == ("sent", 200, 1)

    async def test_resolution_is_sent(self, router: RouterUnderTest) -> None:
        alert = raised("doc-search", starts_at=STARTS)
        await router.publish(tier_assigned("doc-search", "low"), alert)
        await router.receivers.wait_for("/hook")
        await router.publish(resolved(alert, ends_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC)))
        _, second = await router.receivers.wait_for("/hook", 2)
        body = second.json()
        assert body["status"] == "resolved"
        assert body["alerts"][0]["endsAt"] == "2026-11-20T10:00:00Z"


class TestRetries:
    async def test_5xx_and_429_are_retried_until_delivered(self, router: RouterUnderTest) -> None:
        router.receivers.scripts["/flaky"] = [503, 429, 500]
        await router.publish(raised("doc-search", labels={"path": "flaky"}, starts_at=STARTS))
        hits = await router.receivers.wait_for("/flaky", 4)
        assert len({h.headers["x-aigov-notification-id"] for h in hits}) == 1
        # One delivery, one outcome in the ledger: the retries are in the delivery log only.
        [event] = await router.published(NOTIFICATIONS, 1, where=lambda e: sent(e) or failed(e))
        assert isinstance(event.payload, NotificationSent)
        assert event.payload.attempt == 4
        log = await router.client.get("/v1/deliveries", headers=auth(READER))
        attempts = list(reversed(log.json()))
        assert [a["status_code"] for a in attempts] == [503, 429, 500, 200]
        assert [a["retryable"] for a in attempts[:3]] == [True, True, True]
        assert "HTTP 503" in attempts[0]["error"]
        assert not [e for e in await router.published(NOTIFICATIONS, 1) if failed(e)]

    async def test_other_4xx_is_not_retried_and_falls_back(self, router: RouterUnderTest) -> None:
        router.receivers.scripts["/broken"] = [400]
        await router.publish(raised("doc-search", labels={"path": "broken"}, starts_at=STARTS))
        [fallback] = await router.receivers.wait_for("/fallback")
        assert len(router.receivers.at("/broken")) == 1
        assert fallback.json()["alerts"][0]["labels"]["path"] == "broken"
        events = await router.published(NOTIFICATIONS, 2, where=lambda e: sent(e) or failed(e))
        give_up = next(e.payload for e in events if failed(e))
        assert isinstance(give_up, NotificationFailed)
        assert (give_up.receiver, give_up.retryable, give_up.next_attempt_at) == (
            "broken",
            False,
            None,
        )
        delivered = next(e.payload for e in events if sent(e))
        assert delivered.receiver == "fallback"
