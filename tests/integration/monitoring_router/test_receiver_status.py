"""A failing receiver on Kafka + PostgreSQL: one ledger outcome, one log line, its status."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import REGISTRY

from aigov_events.catalog import NotificationFailed, NotificationSent
from aigov_events.message import DomainEvent
from aigov_events.topics import NOTIFICATIONS
from tests.integration.monitoring_router.conftest import READER, RouterUnderTest, auth
from tests.unit.monitoring_router.conftest import raised

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

STARTS = datetime(2026, 11, 20, 9, 31, tzinfo=UTC)
HEALTH_LOGGER = "aigov_monitoring_router.receiver_health"


def outcome(event: DomainEvent[Any]) -> bool:
    """A notification.sent or notification.failed."""
    return isinstance(event.payload, NotificationSent | NotificationFailed)


def attempts_total(receiver: str, result: str) -> float:
    value = REGISTRY.get_sample_value(
        "aigov_router_delivery_attempts_total", {"receiver": receiver, "outcome": result}
    )
    return 0.0 if value is None else value


async def receiver_status(router: RouterUnderTest, name: str) -> dict[str, Any]:
    response = await router.client.get("/v1/routes", headers=auth(READER))
    assert response.status_code == 200
    [receiver] = [r for r in response.json()["receivers"] if r["name"] == name]
    return dict(receiver)


async def test_receiver_failing_n_times_is_one_failure_one_warning(
    router: RouterUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    failed_before = attempts_total("flaky", "failed")
    router.receivers.scripts["/flaky"] = [503, 503, 503, 503]  # every one of its 4 attempts
    with caplog.at_level(logging.DEBUG, logger=HEALTH_LOGGER):
        await router.publish(raised("doc-search", labels={"path": "flaky"}, starts_at=STARTS))
        await router.receivers.wait_for("/flaky", 4)
        [event] = await router.published(NOTIFICATIONS, 1, where=outcome)
    payload = event.payload
    assert isinstance(payload, NotificationFailed)
    assert (payload.receiver, payload.attempt, payload.retryable) == ("flaky", 4, False)
    assert payload.next_attempt_at is None
    assert "HTTP 503" in payload.error
    # The delivery log keeps every attempt.
    log = await router.client.get(
        "/v1/deliveries", params={"receiver": "flaky"}, headers=auth(READER)
    )
    assert [a["outcome"] for a in log.json()] == ["failed"] * 4
    # Reported once: one WARNING over four failures, naming receiver, channel and error,
    # never the URL's path.
    warnings = [r for r in caplog.records if r.name == HEALTH_LOGGER and r.levelno >= logging.INFO]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    message = warnings[0].getMessage()
    assert "flaky" in message
    assert "webhook" in message
    assert "HTTP 503 from 127.0.0.1" in message
    assert "/flaky" not in message
    assert attempts_total("flaky", "failed") - failed_before == 4
    assert REGISTRY.get_sample_value("aigov_router_receiver_up", {"receiver": "flaky"}) == 0
    # GET /v1/routes shows the receiver's last delivery status, from the delivery log.
    status = (await receiver_status(router, "flaky"))["last_delivery"]
    assert status["outcome"] == "failed"
    assert status["consecutive_failures"] == 4
    assert "HTTP 503" in status["error"]
    assert status["last_attempt_at"]
    assert (await receiver_status(router, "owner"))["last_delivery"] is None


async def test_recovery_is_logged_once_and_resets_the_status(
    router: RouterUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    router.receivers.scripts["/flaky"] = [503, 200]
    with caplog.at_level(logging.INFO, logger=HEALTH_LOGGER):
        await router.publish(raised("doc-search", labels={"path": "flaky"}, starts_at=STARTS))
        [event] = await router.published(NOTIFICATIONS, 1, where=outcome)
    assert isinstance(event.payload, NotificationSent)
    levels = [r.levelno for r in caplog.records if r.name == HEALTH_LOGGER]
    assert levels == [logging.WARNING, logging.INFO]
    # The attempt is recorded in the transaction that queued the event: no wait needed.
    status = (await receiver_status(router, "flaky"))["last_delivery"]
    assert status["outcome"] == "sent"
    assert (status["consecutive_failures"], status["error"]) == (0, None)
    assert REGISTRY.get_sample_value("aigov_router_receiver_up", {"receiver": "flaky"}) == 1


async def test_status_survives_a_restart(router_factory: Any) -> None:
    router_factory.receivers.scripts["/broken"] = [400]
    async with router_factory.running() as first:
        await first.publish(raised("doc-search", labels={"path": "broken"}, starts_at=STARTS))
        await first.receivers.wait_for("/fallback")
        await first.published(NOTIFICATIONS, 2, where=outcome)
    async with router_factory.running() as second:  # a new process: nothing in memory
        broken = (await receiver_status(second, "broken"))["last_delivery"]
        fallback = (await receiver_status(second, "fallback"))["last_delivery"]
    assert (broken["outcome"], broken["consecutive_failures"]) == ("failed", 1)
    assert "HTTP 400" in broken["error"]
    assert (fallback["outcome"], fallback["consecutive_failures"]) == ("sent", 0)
