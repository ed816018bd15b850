"""The shipped routing file on Kafka + PostgreSQL: everything lands in the local inbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from aigov_events.catalog import MonitoringProbeCompleted, NotificationSent
from aigov_events.topics import NOTIFICATIONS, SIGNALS
from tests.integration.monitoring_router.conftest import OWNER, READER, RouterUnderTest, auth
from tests.unit.monitoring_router.conftest import raised, registered, tier_assigned

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

STARTS = datetime(2026, 11, 20, 9, 31, tzinfo=UTC)


async def inbox(router: RouterUnderTest, count: int, **params: Any) -> list[dict[str, Any]]:
    """Wait until `GET /v1/inbox` with `params` lists `count` messages."""
    async with asyncio.timeout(20):
        while True:
            response = await router.client.get("/v1/inbox", params=params, headers=auth(READER))
            assert response.status_code == 200, response.text
            messages: list[dict[str, Any]] = response.json()["messages"]
            if len(messages) >= count:
                return messages
            await asyncio.sleep(0.1)


async def test_alerts_and_probes_land_in_the_inbox(shipped_router: RouterUnderTest) -> None:
    router = shipped_router
    await router.publish(
        registered("loan-scorer", team="credit-ml"), tier_assigned("loan-scorer", "high")
    )
    # The first probe runs when the tier is assigned; against inboxes it passes.
    probes = await inbox(router, 4, kind="probe")
    assert sorted({(m["receiver"], m["route"]) for m in probes}) == [
        ("oncall", "high-page-oncall"),
        ("team", "high-team"),
    ]
    completed = await router.published(
        SIGNALS, 2, where=lambda e: isinstance(e.payload, MonitoringProbeCompleted)
    )
    assert {(e.payload.probe, e.payload.ok) for e in completed} == {
        ("drift-alert-route", True),
        ("safety-alert-route", True),
    }
    await router.publish(raised("loan-scorer", severity="warning", starts_at=STARTS))
    [oncall] = await inbox(router, 1, kind="alerts", receiver="oncall")
    assert set(oncall) == {
        "notification_id",
        "receiver",
        "system_id",
        "kind",
        "route",
        "delivered_at",
        "message",
    }
    assert (oncall["system_id"], oncall["route"]) == ("loan-scorer", "high-page-oncall")
    assert oncall["message"]["alerts"][0]["labels"]["signal"] == "drift"
    assert oncall["message"]["alerts"][0]["labels"]["tier"] == "high"
    [team] = await inbox(router, 1, kind="alerts", receiver="team")  # after its 10s group_wait
    assert team["route"] == "high-team"
    everything = await inbox(router, 6, system="loan-scorer")
    times = [m["delivered_at"] for m in everything]
    assert times == sorted(times, reverse=True)  # newest first
    # Sent on channel inbox, as the ledger sees it.
    sent = await router.published(
        NOTIFICATIONS,
        1,
        where=lambda e: (
            isinstance(e.payload, NotificationSent)
            and e.payload.notification_id == oncall["notification_id"]
        ),
    )
    assert sent[0].payload.channel.value == "inbox"
    # A probe on demand passes too.
    response = await router.client.post("/v1/probes/loan-scorer", headers=auth(OWNER))
    assert response.status_code == 202
    async with asyncio.timeout(20):
        for probe in response.json():
            while True:
                result = await router.client.get(
                    f"/v1/probes/loan-scorer/{probe['probe_id']}", headers=auth(READER)
                )
                if result.json()["ok"] is not None:
                    assert result.json()["ok"] is True
                    break
                await asyncio.sleep(0.1)


async def test_unknown_filters_are_refused(shipped_router: RouterUnderTest) -> None:
    for path in ("/v1/deliveries", "/v1/inbox"):
        response = await shipped_router.client.get(
            path, params={"reciever": "oncall"}, headers=auth(READER)
        )
        assert response.status_code == 422
        assert "'reciever'" in response.json()["detail"]
