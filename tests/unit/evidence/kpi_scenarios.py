"""One release's KPIs, run on the embedded service (unit tests) and on Kafka + PostgreSQL
(integration tests): the same story must give the same figures on both databases.

One high-tier system goes through a realistic release: denied, then evidence, a waiver, an
approval, allowed, deployed, probed, an incident. The expected figures are worked out by hand
next to each assertion.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from aigov_events.catalog import ApprovalGranted, DeploymentCompleted, IncidentReported
from aigov_events.catalog.enums import DeploymentOutcome, IncidentSeverity
from aigov_events.message import new_event
from tests.unit.evidence import events as ev
from tests.unit.evidence.harness import READER, Harness, auth

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


async def the_figures_of_one_release(evidence: Harness) -> None:
    """The report over the default window: every figure of the story, worked out by hand."""
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


async def filters_and_window(evidence: Harness) -> None:
    """Team, tier and system filters narrow the report; a past window sees nothing."""
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
