"""The monitoring-coverage probe end to end on Kafka + PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from aigov_events.catalog import MonitoringProbeCompleted
from aigov_events.message import DomainEvent
from aigov_events.topics import SIGNALS
from tests.integration.monitoring_router.conftest import (
    OWNER,
    READER,
    RouterUnderTest,
    auth,
)
from tests.unit.monitoring_router.conftest import registered, tier_assigned

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def completed(probe_id: str) -> Any:
    """Selects the monitoring.probe.completed of one probe run."""

    def match(event: DomainEvent[Any]) -> bool:
        payload = event.payload
        return isinstance(payload, MonitoringProbeCompleted) and probe_id in (payload.detail or "")

    return match


async def outcome(
    router: RouterUnderTest, probe_id: str, system: str = "loan-scorer"
) -> dict[str, Any]:
    """Poll the probe until its deliveries all ended."""
    async with asyncio.timeout(20):
        while True:
            response = await router.client.get(
                f"/v1/probes/{system}/{probe_id}", headers=auth(READER)
            )
            assert response.status_code == 200
            if response.json()["ok"] is not None:
                return dict(response.json())
            await asyncio.sleep(0.1)


async def test_on_demand_probe_reaches_on_call_and_is_published(router: RouterUnderTest) -> None:
    await router.publish(
        registered("loan-scorer", team="credit-ml"), tier_assigned("loan-scorer", "high")
    )
    # tier.assigned (high) schedules the periodic probe at once: that is the first run, one
    # probe per signal the policy requires monitoring for (drift and safety in the example).
    await router.receivers.wait_for("/pd", 4, probes=True)  # two triggers, two resolves
    response = await router.client.post("/v1/probes/loan-scorer", headers=auth(OWNER))
    assert response.status_code == 202
    started = response.json()
    assert [(p["signal"], p["receivers"]) for p in started] == [
        ("drift", ["pd", "slack"]),
        ("safety", ["pd", "slack"]),
    ]
    for probe in started:
        result = await outcome(router, probe["probe_id"])
        assert result["ok"] is True
        assert result["latency_ms"] >= 0
    listed = await router.client.get("/v1/probes/loan-scorer", headers=auth(READER))
    assert len(listed.json()) == 4  # the scheduled first run and this one
    drift_id = started[0]["probe_id"]
    [event] = await router.published(SIGNALS, 1, where=completed(drift_id))
    payload = event.payload
    assert isinstance(payload, MonitoringProbeCompleted)
    # Evidence matches probes named `<signal>-...` to the policy's monitoring controls.
    assert (payload.system_id, payload.probe, payload.ok) == (
        "loan-scorer",
        "drift-alert-route",
        True,
    )
    assert "delivered to pd, slack" in (payload.detail or "")
    # What on-call saw: a clearly labelled, low-severity trigger that is then resolved.
    pages = [h.json() for h in router.receivers.at("/pd", probes=True)]
    mine = [p for p in pages if p["dedup_key"] == f"aigov-probe-{drift_id}"]
    assert mine[0]["event_action"] == "trigger"
    assert mine[0]["payload"]["severity"] == "info"
    assert mine[0]["payload"]["class"] == "drift"
    assert mine[0]["payload"]["summary"].startswith(
        "[aigov probe] Monitoring probe for loan-scorer"
    )
    slack = [h.json() for h in router.receivers.at("/slack", probes=True)]
    assert slack[-1]["text"].startswith("[aigov probe]")


async def test_probe_fails_when_on_call_does_not_confirm(router: RouterUnderTest) -> None:
    await router.publish(registered("loan-scorer"), tier_assigned("loan-scorer", "high"))
    await router.receivers.wait_for("/pd", 4, probes=True)  # first run: triggers and resolves
    router.receivers.scripts["/pd"] = [400, 400]
    response = await router.client.post("/v1/probes/loan-scorer", headers=auth(OWNER))
    for probe in response.json():
        result = await outcome(router, probe["probe_id"])
        assert result["ok"] is False
        # Which receiver failed and why, so the evidence gate can repeat it.
        assert (
            "not delivered to pd (pagerduty) after 1 attempt(s): HTTP 400 from 127.0.0.1"
            in (result["detail"])
        )
    [event] = await router.published(SIGNALS, 1, where=completed(response.json()[0]["probe_id"]))
    assert event.payload.ok is False
    assert "pd (pagerduty)" in event.payload.detail
    assert "HTTP 400" in event.payload.detail


async def test_probe_needs_the_owner_role(router: RouterUnderTest) -> None:
    response = await router.client.post("/v1/probes/loan-scorer", headers=auth(READER))
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
