"""`GET /v1/kpis` and the `aigov_kpi_*` gauges on a running evidence service (SQLite, embedded bus).

The release story and its hand-computed figures are in kpi_scenarios (PostgreSQL runs them too).
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aigov_events.actors import MONITORING_ROUTER
from aigov_events.catalog import (
    IncidentReported,
    SlaBreached,
)
from aigov_events.catalog.enums import IncidentSeverity
from aigov_events.message import new_event
from aigov_evidence.kpis.gauges import COLLECTOR
from tests.unit.evidence import events as ev
from tests.unit.evidence import kpi_scenarios as scenario
from tests.unit.evidence.conftest import embedded_settings
from tests.unit.evidence.harness import PUBLISHER, READER, Harness, auth, serve

pytestmark = pytest.mark.asyncio


async def test_the_figures_of_one_release(evidence: Harness) -> None:
    await scenario.the_figures_of_one_release(evidence)


async def test_filters_and_window(evidence: Harness) -> None:
    await scenario.filters_and_window(evidence)


async def test_the_default_window_is_the_last_30_days(evidence: Harness) -> None:
    body = (await evidence.client.get("/v1/kpis", headers=auth(READER))).json()
    start, end = datetime.fromisoformat(body["start"]), datetime.fromisoformat(body["end"])
    assert end - start == timedelta(days=30)
    assert abs((datetime.now(UTC) - end).total_seconds()) < 60


async def test_authentication(evidence: Harness) -> None:
    assert (await evidence.client.get("/v1/kpis")).status_code == 401
    assert (await evidence.client.get("/v1/kpis", headers=auth(PUBLISHER))).status_code == 403


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, "must be before"),
        ({"from": "2026-11-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, "must be before"),
        ({"from": "2025-01-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, "longer than 366 days"),
        ({"from": "2026-11-01T00:00:00"}, "UTC offset"),
        ({"tier": "extreme"}, "query.tier"),
        ({"team": "x" * 201}, "query.team"),
        ({"system": "Not A System"}, "query.system"),
        ({"form": "2026-11-01T00:00:00Z"}, "unknown query parameter"),
        ({"to": "yesterday"}, "query.to"),
    ],
)
async def test_bad_input_is_a_422(evidence: Harness, params: dict[str, str], detail: str) -> None:
    response = await evidence.client.get("/v1/kpis", params=params, headers=auth(READER))
    assert response.status_code == 422, response.text
    assert detail in response.text


def sample(metrics: str, name: str, **labels: str) -> float | None:
    """The value of the series `name{labels}` in Prometheus text, if present."""
    for line in metrics.splitlines():
        series, _, value = line.rpartition(" ")
        if not series.startswith(f"{name}{{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', series[len(name) :]))
        if found == labels:
            return float(value)
    return None


async def test_gauges_after_a_refresh(tmp_path: Path) -> None:
    # The refresh job runs at startup and then every 0.2 s.
    settings = embedded_settings(tmp_path, evidence_kpi_refresh_seconds=0.2)
    async with serve(settings) as evidence:
        await scenario.release_story(evidence)
        async with asyncio.timeout(20):
            while True:
                text = (await evidence.client.get("/metrics", headers=auth(READER))).text
                coverage = sample(text, "aigov_kpi_control_coverage_ratio", tier="high")
                if coverage is not None and sample(
                    text, "aigov_kpi_incidents", tier="all", severity="high"
                ):
                    break
                await asyncio.sleep(0.1)
    # The same figures as the API: 4/4 controls, 2/3 automated, one high-severity incident.
    assert coverage == 1.0
    assert sample(text, "aigov_kpi_control_automation_ratio", tier="all") == pytest.approx(2 / 3)
    assert sample(text, "aigov_kpi_incidents", tier="all", severity="high") == 1.0
    assert sample(text, "aigov_kpi_incidents_by_signal", tier="high", signal="privacy") == 1.0
    assert sample(text, "aigov_kpi_evidence_quality_releases", tier="all", score="5") == 1.0
    assert sample(text, "aigov_kpi_waiver_dependency_ratio", tier="high") == 1.0
    assert COLLECTOR.report is not None


async def test_a_refresh_replaces_the_served_report(evidence: Harness) -> None:
    await scenario.release_story(evidence)
    now = datetime.now(UTC)
    await COLLECTOR.refresh(evidence.sessionmaker, now=now)
    text = (await evidence.client.get("/metrics", headers=auth(READER))).text
    assert sample(text, "aigov_kpi_monitoring_coverage_ratio", tier="high") == 1.0
    # Thirty days from a year ago: nothing recorded yet, the high-tier series is gone.
    await COLLECTOR.refresh(evidence.sessionmaker, now=now - timedelta(days=365))
    text = (await evidence.client.get("/metrics", headers=auth(READER))).text
    assert sample(text, "aigov_kpi_monitoring_coverage_ratio", tier="high") is None
    assert sample(text, "aigov_kpi_active_systems", tier="all") == 0.0


async def test_sla_breaches_count_from_the_router_only_and_by_the_ledger_clock(
    evidence: Harness,
) -> None:
    system = "kpi-incidents"
    # Claimed a decade ago: the ledger records it now, so it is in the default window.
    reported = new_event(
        IncidentReported(
            system_id=system,
            incident_id="INC-7",
            severity=IncidentSeverity.CRITICAL,
            category="safety",
            summary="Unsafe advice",
            reported_by="support agent",
            serious=False,
            occurred_at=datetime(2016, 1, 1, tzinfo=UTC),
        ),
        source=ev.SOURCE,
        actor=ev.OWNER,
        time=datetime(2016, 1, 1, tzinfo=UTC),
    )

    def breach(actor: str) -> Any:
        due = datetime.now(UTC)
        return new_event(
            SlaBreached(
                system_id=system,
                incident_id="INC-7",
                sla="acknowledge",
                due_at=due,
                breached_at=due,
            ),
            source="/aigov/monitoring-router",
            actor=actor,
        )

    await evidence.publish(ev.registered(system), ev.high_tier(system), reported, breach("mallory"))
    params = {"system": system}
    body = (await evidence.client.get("/v1/kpis", params=params, headers=auth(READER))).json()
    assert body["incidents"]["overall"]["by_severity"] == {"critical": 1}
    # mallory's breach is recorded but not trusted; no SLA for critical in the decision: pending.
    sla = body["sla_adherence"]["overall"]
    assert (sla["numerator"], sla["denominator"], sla["pending"]) == (0, 0, 1)
    await evidence.publish(breach(MONITORING_ROUTER))
    body = (await evidence.client.get("/v1/kpis", params=params, headers=auth(READER))).json()
    sla = body["sla_adherence"]["overall"]
    # The router's breach: 0 met of 1 with an outcome.
    assert (sla["numerator"], sla["denominator"], sla["pending"]) == (0, 1, 0)
