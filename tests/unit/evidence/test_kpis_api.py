"""`GET /v1/kpis` and the `aigov_kpi_*` gauges on a running evidence service (SQLite, embedded bus).

One high-tier system goes through a realistic release: denied, then evidence, a waiver, an
approval, allowed, deployed, probed, an incident. The expected figures are worked out by hand
next to each assertion.
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
    ApprovalGranted,
    DeploymentCompleted,
    IncidentReported,
    SlaBreached,
)
from aigov_events.catalog.enums import DeploymentOutcome, IncidentSeverity
from aigov_events.message import new_event
from aigov_evidence.kpis.gauges import COLLECTOR
from tests.unit.evidence import events as ev
from tests.unit.evidence.conftest import embedded_settings
from tests.unit.evidence.harness import PUBLISHER, READER, Harness, auth, serve

pytestmark = pytest.mark.asyncio

SYSTEM = "kpi-summarizer"
TEAM = "support-ml"  # the example manifest's team


async def release_story(evidence: Harness) -> dict[str, str]:
    """Publish the story; return when the ledger recorded the denial and the allow."""
    await evidence.publish(ev.registered(SYSTEM), ev.high_tier(SYSTEM))
    denied = await evidence.gate(SYSTEM, ev.VERSION)  # nothing yet: denied
    assert denied["decision"] == "deny"
    manual_approval = new_event(
        ApprovalGranted(
            system_id=SYSTEM,
            version=ev.VERSION,
            rationale="Minimums met; prompt injection covered by the waiver.",
            evidence=["release-evaluation run 8812"],
        ),
        source="/aigov/intake/approvals",  # a typed endpoint: a manual upload
        actor=ev.APPROVER,
    )
    await evidence.publish(
        ev.evaluation(SYSTEM, ev.request_body("evaluation.json")),
        ev.artifact(SYSTEM, ev.request_body("artifact.json")),
        ev.waiver_requested(
            SYSTEM,
            ev.request_body("waiver-request.json"),
            waiver_id="W-1",
            expires_at=ev.in_days(20),
        ),
        ev.waiver_granted(SYSTEM, waiver_id="W-1"),
        manual_approval,
    )
    allowed = await evidence.gate(SYSTEM, ev.VERSION)
    assert allowed["decision"] == "allow", allowed
    deployed = new_event(
        DeploymentCompleted(
            system_id=SYSTEM,
            version=ev.VERSION,
            environment="production",
            region="EU",
            outcome=DeploymentOutcome.SUCCEEDED,
        ),
        source=ev.SOURCE,
        actor=ev.SUBMITTER,
    )
    incident = new_event(
        IncidentReported(
            system_id=SYSTEM,
            incident_id="INC-1",
            version=ev.VERSION,
            severity=IncidentSeverity.HIGH,
            category="privacy",
            summary="A summary included another customer's contact details",
            reported_by="support agent",
            serious=False,
            occurred_at=datetime.now(UTC),
        ),
        source=ev.SOURCE,
        actor=ev.OWNER,
    )
    await evidence.publish(
        deployed,
        ev.probe(SYSTEM, name="drift-alert-route"),
        ev.probe(SYSTEM, name="safety-alert-route"),
        incident,
    )
    return {
        "denied": (await evidence.wait_recorded(denied["gate_event_id"]))["recorded_at"],
        "allowed": (await evidence.wait_recorded(allowed["gate_event_id"]))["recorded_at"],
    }


async def registered_at(evidence: Harness) -> datetime:
    response = await evidence.client.get(
        f"/v1/systems/{SYSTEM}/evidence",
        params={"type": "io.aigov.system.registered.v1"},
        headers=auth(READER),
    )
    assert response.status_code == 200, response.text
    return datetime.fromisoformat(response.json()["items"][0]["recorded_at"])


def ratio(n: int, d: int) -> dict[str, Any]:
    return {"numerator": n, "denominator": d, "rate": n / d if d else None}


async def test_the_figures_of_one_release(evidence: Harness) -> None:
    times = await release_story(evidence)
    response = await evidence.client.get("/v1/kpis", headers=auth(READER))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["active_systems"] == 1
    # Deployed once; the model card (all three required sections) was recorded before: 1/1.
    assert body["artifact_completion"]["overall"] == ratio(1, 1)
    # Current release = the allowed one. Controls: model card, minimums and approval satisfied,
    # prompt injection (0.09 > 0.05) waived by W-1: 4 of 4.
    assert body["control_coverage"]["by_tier"] == {"high": ratio(4, 4)}
    # Satisfied: card and evaluation under the test's own source (raw CloudEvents: machine),
    # approval through a typed endpoint (manual): 2 of 3.
    assert body["control_automation"]["overall"] == ratio(2, 3)
    incidents = body["incidents"]["overall"]
    assert (incidents["incidents"], incidents["per_active_system"]) == (1, 1.0)
    assert incidents["by_severity"] == {"high": 1}
    assert incidents["by_category"] == {"privacy": 1}
    # The incident names the release after the gate allowed it: escaped, 1 / (1 + 0).
    assert body["escape_rate"]["overall"] == ratio(1, 1)
    # Evaluated, traceable (raw outputs + run url), card complete, approval with evidence: 5.
    quality = body["evidence_quality"]
    assert quality["overall"]["scores"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}
    assert quality["releases"][0]["score"] == 5
    # Registration to first allow, by the ledger's clock.
    seconds = (
        datetime.fromisoformat(times["allowed"]) - await registered_at(evidence)
    ).total_seconds()
    cycle = body["cycle_time"]["overall"]
    assert cycle["systems"] == 1
    assert cycle["median_seconds"] == pytest.approx(seconds)
    assert cycle["p90_seconds"] == pytest.approx(seconds)
    # Denied before its first allow: reworked, 1/1.
    assert body["rework_rate"]["overall"] == ratio(1, 1)
    # drift and safety routes verified by the router's probes: 1/1.
    assert body["monitoring_coverage"]["overall"] == ratio(1, 1)
    # The decision sets no incident SLA and the router recorded no breach; still open: pending.
    sla = body["sla_adherence"]["overall"]
    assert (sla["numerator"], sla["denominator"], sla["pending"]) == (0, 0, 1)
    # Allowed with W-1 waiving prompt injection: 1 of 1 high-tier releases.
    assert body["waiver_dependency"]["overall"] == ratio(1, 1)


async def test_filters_and_window(evidence: Harness) -> None:
    await release_story(evidence)
    by_team = await evidence.client.get("/v1/kpis", params={"team": TEAM}, headers=auth(READER))
    assert by_team.json()["active_systems"] == 1
    other = await evidence.client.get("/v1/kpis", params={"team": "nobody"}, headers=auth(READER))
    assert other.json()["active_systems"] == 0
    medium = await evidence.client.get("/v1/kpis", params={"tier": "medium"}, headers=auth(READER))
    assert medium.json()["control_coverage"]["overall"] == ratio(0, 0)
    one = await evidence.client.get("/v1/kpis", params={"system": SYSTEM}, headers=auth(READER))
    assert one.json()["system"] == SYSTEM
    assert one.json()["evidence_quality"]["releases"][0]["version"] == ev.VERSION
    # A window that ended before anything was recorded sees nothing.
    past = {"from": "2020-01-01T00:00:00Z", "to": "2020-02-01T00:00:00Z"}
    old = (await evidence.client.get("/v1/kpis", params=past, headers=auth(READER))).json()
    assert old["active_systems"] == 0
    assert old["start"].startswith("2020-01-01")
    assert old["end"].startswith("2020-02-01")


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
        await release_story(evidence)
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
    await release_story(evidence)
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
