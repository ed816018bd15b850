"""Incident timers live in PostgreSQL: stop the router mid-wait, restart it, escalation still fires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aigov_events.catalog import IncidentAcknowledged, IncidentEscalated, SlaBreached
from aigov_events.message import DomainEvent
from aigov_events.topics import NOTIFICATIONS
from aigov_monitoring_router.clock import ManualClock
from tests.integration.monitoring_router.conftest import READER, RouterFactory, auth
from tests.unit.monitoring_router.conftest import registered, reported, tier_assigned

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

AHEAD = timedelta(seconds=30)


def escalated(event: DomainEvent[Any]) -> bool:
    """An incident.escalated."""
    return isinstance(event.payload, IncidentEscalated)


async def incident_view(client: Any, incident_id: str) -> dict[str, Any]:
    """The router's view of one incident."""
    response = await client.get("/v1/escalations", headers=auth(READER))
    assert response.status_code == 200
    [found] = [i for i in response.json() if i["incident_id"] == incident_id]
    return dict(found)


async def test_escalation_survives_a_restart(router_factory: RouterFactory) -> None:
    # Deadlines count from the event time (the wall clock at publish): start just ahead of it.
    clock = ManualClock(datetime.now(UTC) + AHEAD)
    async with router_factory.running(clock) as first:
        await first.publish(
            registered("claims-triage", owner="ana@example.com"),
            tier_assigned("claims-triage", "high"),
            reported("claims-triage", "INC-77", occurred_at=clock.now()),
        )
        [owner_hit] = await first.receivers.wait_for("/owner")
        assert owner_hit.json()["aigov"]["incidentId"] == "INC-77"
        clock.advance(timedelta(minutes=10))
        first_view = await incident_view(first.client, "INC-77")
        assert first_view["escalation_step"] == 0
        assert {d["sla"] for d in first_view["deadlines"]} == {"acknowledge", "contain"}
    # No router runs while the on-call wait (30 min) runs out.
    clock.advance(timedelta(minutes=25))
    assert router_factory.receivers.at("/pd") == []
    async with router_factory.running(clock) as second:
        [page] = await second.receivers.wait_for("/pd")
        body = page.json()
        assert body["event_action"] == "trigger"
        assert body["dedup_key"] == "aigov-incident-INC-77"
        assert "escalated to on-call" in body["payload"]["summary"]
        [event] = await second.published(NOTIFICATIONS, 1, where=escalated)
        assert isinstance(event.payload, IncidentEscalated)
        assert (event.payload.incident_id, event.payload.level, event.payload.to) == (
            "INC-77",
            1,
            "on-call",
        )
        assert (await incident_view(second.client, "INC-77"))["escalation_step"] == 1

        # Acknowledging stops the chain and acknowledges the page in PagerDuty.
        await second.publish(IncidentAcknowledged(system_id="claims-triage", incident_id="INC-77"))
        _, ack = await second.receivers.wait_for("/pd", 2)
        assert ack.json() == {
            "routing_key": "R0UTINGKEY0123456789",
            "dedup_key": "aigov-incident-INC-77",
            "event_action": "acknowledge",
        }
        view = await incident_view(second.client, "INC-77")
        assert view["status"] == "acknowledged"


async def test_sla_breach_fires_after_restart(router_factory: RouterFactory) -> None:
    clock = ManualClock(datetime.now(UTC) + AHEAD)
    async with router_factory.running(clock) as first:
        await first.publish(
            registered("claims-triage"),
            tier_assigned("claims-triage", "high"),
            reported("claims-triage", "INC-78", occurred_at=clock.now()),
        )
        await first.receivers.wait_for("/owner")
        await first.publish(IncidentAcknowledged(system_id="claims-triage", incident_id="INC-78"))
        await first.published(NOTIFICATIONS, 1)  # the owner notification went out
    clock.advance(timedelta(hours=73))
    async with router_factory.running(clock) as second:
        [breach] = await second.published(
            NOTIFICATIONS, 1, where=lambda e: isinstance(e.payload, SlaBreached)
        )
        assert isinstance(breach.payload, SlaBreached)
        assert breach.payload.sla == "contain"
        assert breach.payload.breached_at >= breach.payload.due_at
        [told] = await second.receivers.wait_for("/governance")
        assert "contain SLA breached" in told.json()["aigov"]["title"]
