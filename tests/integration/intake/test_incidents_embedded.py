"""In the all-in-one process intake's consumer runs too: a router-opened incident can be acked.

The all-in-one builds each service's app as in production (`aigov_embedded.app`), so intake's
lifespan starts its consumer on the embedded bus; this publishes the router's
`incident.reported` there, as the router does, and acknowledges it through intake.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from aigov_embedded.app import create_app
from aigov_embedded.dispatch import ServiceDispatcher
from aigov_embedded.settings import Settings
from aigov_events.actors import MONITORING_ROUTER
from aigov_events.catalog import IncidentReported, IncidentSeverity
from aigov_events.message import new_event
from aigov_events.producer import Publisher
from aigov_runtime.testing import app_client

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

READER = {"Authorization": "Bearer dev-reader-token-please-change"}
OWNER = {"Authorization": "Bearer dev-owner-token-please-change"}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Developer shells may export AIGOV_*/OTEL_* variables; the all-in-one must not see them."""
    for name in list(os.environ):
        if name.startswith(("AIGOV_", "OTEL_")):
            monkeypatch.delenv(name)


def intake_publisher(app: ServiceDispatcher) -> Publisher:
    """The publisher of the hosted intake service (its lifespan state), on the embedded bus."""
    scope = {"type": "http", "method": "GET", "path": "/v1/incidents", "root_path": ""}
    hosted = app.target(scope)
    assert hosted is not None
    assert hosted.name == "intake"
    publisher: Publisher = hosted.state["publisher"]
    return publisher


async def test_a_router_opened_incident_is_listed_and_acknowledged(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    assert isinstance(app, ServiceDispatcher)
    incident_id = f"alert-{uuid.uuid4().hex[:16]}-1796172094"
    payload = IncidentReported(
        system_id="support-summarizer",
        incident_id=incident_id,
        severity=IncidentSeverity.CRITICAL,
        category="safety",
        summary="Safety classifier flagged 4% of summaries in the last hour",
        reported_by="monitoring route high-safety-incident",
        serious=False,
        occurred_at=datetime(2026, 11, 20, 9, 42, tzinfo=UTC),
    )
    async with app_client(app) as client:
        event = new_event(payload, source="/aigov/monitoring-router", actor=MONITORING_ROUTER)
        await intake_publisher(app).publish(event)
        listed: Any = None
        for _ in range(200):
            listed = (await client.get("/v1/incidents", headers=READER)).json()
            if listed["incidents"]:
                break
            await asyncio.sleep(0.1)
        assert [i["incident_id"] for i in listed["incidents"]] == [incident_id]
        assert listed["incidents"][0]["opened_by"] == "alert"
        acknowledged = await client.post(f"/v1/incidents/{incident_id}/acknowledge", headers=OWNER)
        assert acknowledged.status_code == 202, acknowledged.text
        one = await client.get(f"/v1/incidents/{incident_id}", headers=READER)
    assert one.json()["status"] == "acknowledged"
