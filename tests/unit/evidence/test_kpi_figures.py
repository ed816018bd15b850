"""Each governance KPI on a hand-built ledger, expected values worked out by hand below.

The window is November 2026: [2026-11-01, 2026-12-01). Four systems:

- alpha (high, team ml): registered Oct 20, model card complete, evaluation from the MLflow
  webhook, denied once then allowed Nov 4, deployed, drift route verified, incident INC-1
  (high, privacy) acknowledged after 10 min and resolved after 2 h;
- beta (high, team ml): registered Nov 1, model card lacks `limitations` (waived by W-1 until
  Dec 31), untraced evaluation, approval without evidence references, allowed Nov 7 with the
  waiver, deployed, drift probe failed (another principal's ok probe is ignored), incident INC-2
  (critical, safety) with a router SLA breach;
- gamma (medium, team web): failing evaluation from a CI pipeline's raw CloudEvent, denied
  Nov 10, a deployment in October (outside the window), INC-3 (medium, performance)
  acknowledged after 2 h (the SLA is 60 min), INC-4 (low, privacy) still open, no SLA;
- delta (untiered, team web): registered and retired in the window, one incident recorded
  exactly at the window's end (outside it).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from aigov_evidence.kpis.facts import Facts, Record
from aigov_evidence.kpis.figures import (
    TYPED_SOURCE_PREFIX,
    compute,
    machine_sent,
    nearest_rank,
)
from aigov_evidence.kpis.report import KpiReport, Ratio
from aigov_intake.api.typed_common import SOURCE_PREFIX
from tests.unit.evidence.kpi_records import (
    APPROVAL,
    HIGH_SLAS,
    MEDIUM_SLAS,
    MINIMUMS,
    MODEL_CARD,
    Chain,
    at,
)

START, END = at(1), at(1, month=12)
NOW = at(3, month=12)
COMPLETE = {"intended_use": "Agents' summaries.", "limitations": "Long cases."}


def alpha() -> Chain:
    c = Chain("alpha")
    c.registered(at(20, month=10))  # 1
    c.tier(
        at(20, month=10),
        "high",
        controls=[MODEL_CARD, MINIMUMS, APPROVAL],
        signals=["drift"],
        slas=HIGH_SLAS,
    )  # 2
    c.artifact(at(2), "1.0", COMPLETE)  # 3, typed: manual
    c.evaluation(
        at(2), "1.0", 0.9, traced=True, actor="webhook:mlflow", source="urn:aigov:webhook:mlflow"
    )  # 4, machine
    c.gate(at(3), "1.0", allowed=False, tier="high")  # 5
    c.approval(at(3), "1.0", evidence=["evaluation run-1"])  # 6, typed: manual
    c.gate(at(4), "1.0", allowed=True, tier="high")  # 7
    c.deployed(at(4), "1.0")  # 8
    c.probe(at(5), ok=True)  # 9
    c.incident(at(10, 12), "INC-1", severity="high", category="privacy", version="1.0")  # 10
    c.acknowledged(at(10, 12, 10), "INC-1")  # 11: 10 min <= 15
    c.resolved(at(10, 14), "INC-1")  # 12: 120 min <= 240
    return c


def beta() -> Chain:
    c = Chain("beta")
    c.registered(at(1))  # 1
    c.tier(
        at(1), "high", controls=[MODEL_CARD, MINIMUMS, APPROVAL], signals=["drift"], slas=HIGH_SLAS
    )  # 2
    c.artifact(at(5), "2.0", {"intended_use": "Agents' summaries."})  # 3: lacks limitations
    c.evaluation(at(5), "2.0", 0.85, traced=False)  # 4, typed: manual
    c.waiver(at(5), "2.0", "W-1", expires=at(31, month=12))  # 5
    c.waiver_granted(at(6), "2.0", "W-1")  # 6
    c.approval(at(6), "2.0", evidence=[])  # 7
    waived = [
        {
            "control_id": "artifact.model_card",
            "waiver_id": "W-1",
            "expires_at": "2026-12-31T00:00:00Z",
        }
    ]
    c.gate(at(7), "2.0", allowed=True, tier="high", waived=waived)  # 8
    c.deployed(at(7), "2.0")  # 9
    c.probe(at(8), ok=False)  # 10
    c.probe(at(8, 1), ok=True, actor="mallory")  # 11: not the router, ignored
    c.incident(at(20), "INC-2", severity="critical", category="safety", version="2.0")  # 12
    c.sla_breached(at(20, 0, 20), "INC-2", due=at(20, 0, 15))  # 13
    return c


def gamma() -> Chain:
    c = Chain("gamma", team="web")
    c.registered(at(1, month=10))  # 1
    c.tier(at(1, month=10), "medium", controls=[MINIMUMS], slas=MEDIUM_SLAS)  # 2
    c.deployed(at(15, month=10), "0.9")  # 3: before the window
    c.evaluation(at(10), "3.0", 0.5, traced=True, source="/ci/pipeline")  # 4: raw CloudEvent
    c.gate(at(10), "3.0", allowed=False, tier="medium")  # 5
    c.incident(at(25), "INC-3", severity="medium", category="performance")  # 6
    c.acknowledged(at(25, 2), "INC-3")  # 7: 120 min > 60
    c.incident(at(30, 12), "INC-4", severity="low", category="privacy", version="3.0")  # 8
    return c


def delta() -> Chain:
    c = Chain("delta", team="web")
    c.registered(at(15))
    c.retired(at(20))
    c.incident(END, "INC-5", severity="low", category="other")  # at the end: outside
    return c


def facts(*chains: Chain, start: datetime = START, end: datetime = END) -> Facts:
    return Facts(start=start, end=end, systems=tuple(c.facts() for c in chains))


@pytest.fixture(scope="module")
def report() -> KpiReport:
    return compute(facts(alpha(), beta(), gamma(), delta()), now=NOW)


def r(numerator: int, denominator: int) -> Ratio:
    return Ratio(
        numerator=numerator,
        denominator=denominator,
        rate=numerator / denominator if denominator else None,
    )


def test_active_systems(report: KpiReport) -> None:
    # alpha, beta, gamma; delta was retired in the window.
    assert report.active_systems == 3
    assert (report.start, report.end, report.computed_at) == (START, END, NOW)


def test_artifact_completion(report: KpiReport) -> None:
    # Deployed in the window: alpha 1.0 (model card complete before the deployment record: yes)
    # and beta 2.0 (card lacks `limitations`: no; a waiver is not an artifact). gamma's 0.9 was
    # deployed in October. 1 of 2.
    assert report.artifact_completion.overall == r(1, 2)
    assert report.artifact_completion.by_tier == {"high": r(1, 2)}


def test_artifact_recorded_after_the_deployment_does_not_count() -> None:
    c = Chain("late")
    c.registered(at(1))
    c.tier(at(1), "low", controls=[MODEL_CARD])
    c.deployed(at(2), "1.0")
    # Recorded later in the ledger (higher sequence), whatever its claimed time.
    c.artifact(at(2), "1.0", COMPLETE)
    assert compute(facts(c), now=NOW).artifact_completion.overall == r(0, 1)


def test_control_coverage(report: KpiReport) -> None:
    # Current releases (last gate decision): alpha 1.0, beta 2.0, gamma 3.0.
    # alpha: card, minimums (0.9 >= 0.8), approval (risk-officer submitted nothing): 3 of 3.
    # beta: card waived by W-1 (granted by risk-officer, not the requester ci-bot, expires after
    # the end), minimums 0.85 >= 0.8, approval: 3 of 3.  gamma: minimums 0.5 < 0.8: 0 of 1.
    # Overall (3 + 3 + 0) / (3 + 3 + 1) = 6/7.
    assert report.control_coverage.overall == r(6, 7)
    assert report.control_coverage.by_tier == {"high": r(6, 6), "medium": r(0, 1)}


def test_coverage_is_as_of_the_end_of_the_window() -> None:
    # A window ending Jan 15 2027: W-1 expired on Dec 31, so beta's card is missing: 2 of 3.
    later = compute(facts(beta(), start=at(16, month=12), end=at(15, month=1, year=2027)), now=NOW)
    assert later.control_coverage.overall == r(2, 3)


def test_incident_rates(report: KpiReport) -> None:
    # In the window: INC-1 (high, privacy), INC-2 (critical, safety), INC-3 (medium,
    # performance), INC-4 (low, privacy); INC-5 is at the end, outside. 4 incidents / 3 active.
    overall = report.incidents.overall
    assert overall.incidents == 4
    assert overall.active_systems == 3
    assert overall.per_active_system == pytest.approx(4 / 3)
    assert overall.by_severity == {"critical": 1, "high": 1, "low": 1, "medium": 1}
    assert overall.by_category == {"performance": 1, "privacy": 2, "safety": 1}
    high, medium = report.incidents.by_tier["high"], report.incidents.by_tier["medium"]
    # high: INC-1 + INC-2 over alpha and beta = 1.0; medium: INC-3 + INC-4 over gamma = 2.0.
    assert (high.incidents, high.active_systems, high.per_active_system) == (2, 2, 1.0)
    assert (medium.incidents, medium.active_systems, medium.per_active_system) == (2, 1, 2.0)
    assert set(report.incidents.by_tier) == {"high", "medium"}  # delta: inactive, no incident


def test_escape_rate(report: KpiReport) -> None:
    # Escaped: alpha 1.0 (INC-1 after the allow at seq 7), beta 2.0 (INC-2 after seq 8).
    # Caught: gamma 3.0 (denied Nov 10; INC-4 names it but it was never allowed).
    # alpha 1.0 was denied too, but it escaped, so it is not caught. 2 / (2 + 1).
    assert report.escape_rate.overall == r(2, 3)
    assert report.escape_rate.by_tier == {"high": r(2, 2), "medium": r(0, 1)}


def test_evidence_quality(report: KpiReport) -> None:
    # alpha 1.0: evaluated, traceable (raw outputs + run url), card complete, approval with
    # evidence -> 1 + 4 = 5.  beta 2.0: evaluated only -> 2.  gamma 3.0: evaluated, traceable,
    # no artifact, no approval -> 3.  Mean (5 + 2 + 3) / 3.
    quality = report.evidence_quality
    assert quality.overall.releases == 3
    assert quality.overall.mean == pytest.approx(10 / 3)
    assert quality.overall.scores == {"1": 0, "2": 1, "3": 1, "4": 0, "5": 1}
    assert quality.by_tier["high"].mean == pytest.approx(3.5)  # (5 + 2) / 2
    assert quality.by_tier["medium"].mean == 3.0
    scores = {(q.system_id, q.version): q.score for q in quality.releases}
    assert scores == {("alpha", "1.0"): 5, ("beta", "2.0"): 2, ("gamma", "3.0"): 3}
    beta_q = next(q for q in quality.releases if q.system_id == "beta")
    assert (beta_q.evaluated, beta_q.traceable_evaluation) == (True, False)
    assert (beta_q.complete_artifacts, beta_q.justified_approvals) == (False, False)
    assert quality.releases_truncated is False


def test_cycle_time(report: KpiReport) -> None:
    # alpha: Oct 20 00:00 -> Nov 4 00:00 = 15 days = 1,296,000 s; beta: Nov 1 -> Nov 7 =
    # 6 days = 518,400 s; gamma was never allowed. Median of two = (518,400 + 1,296,000) / 2 =
    # 907,200; p90 by nearest rank: ceil(0.9 * 2) = 2nd smallest = 1,296,000.
    overall = report.cycle_time.overall
    assert overall.systems == 2
    assert overall.median_seconds == 907_200
    assert overall.p90_seconds == 1_296_000
    assert report.cycle_time.by_tier["high"] == overall


def test_rework_rate(report: KpiReport) -> None:
    # First allowed in the window: alpha 1.0 (denied before: rework), beta 2.0 (never denied).
    assert report.rework_rate.overall == r(1, 2)


def test_monitoring_coverage(report: KpiReport) -> None:
    # High-tier active systems: alpha (router's drift probe ok) and beta (router's latest drift
    # probe failed; mallory's ok result does not count). 1 of 2.
    assert report.monitoring_coverage.overall == r(1, 2)
    assert report.monitoring_coverage.by_tier == {"high": r(1, 2)}


def test_sla_adherence(report: KpiReport) -> None:
    # INC-1 met (10 min <= 15, 2 h <= 240 min, resolved). INC-2 breached (router). INC-3
    # breached by the ledger clock (acknowledged after 120 min, SLA 60). INC-4 open, no SLA for
    # low, no breach: pending. Met / (met + breached) = 1 / 3.
    sla = report.sla_adherence
    assert (sla.overall.numerator, sla.overall.denominator, sla.overall.pending) == (1, 3, 1)
    assert sla.overall.rate == pytest.approx(1 / 3)
    assert (sla.by_tier["high"].numerator, sla.by_tier["high"].denominator) == (1, 2)
    assert (sla.by_tier["medium"].denominator, sla.by_tier["medium"].pending) == (1, 1)


def test_sla_deadline_passing_unacknowledged_is_a_breach() -> None:
    c = Chain("quiet")
    c.registered(at(1))
    c.tier(at(1), "high", slas=HIGH_SLAS)
    c.incident(at(30, 23, 30), "INC-9", severity="high", category="safety")
    # 30 min before the end: the 15-minute acknowledgement deadline passed unanswered.
    sla = compute(facts(c), now=NOW).sla_adherence.overall
    assert (sla.numerator, sla.denominator, sla.pending) == (0, 1, 0)


def test_control_automation(report: KpiReport) -> None:
    # Satisfied (not waived) controls: alpha card (typed: manual), alpha minimums (MLflow
    # webhook: machine), alpha approval (typed: manual), beta minimums (typed), beta approval
    # (typed); beta's card is waived, gamma's minimums missing. 1 of 5.
    assert report.control_automation.overall == r(1, 5)
    assert report.control_automation.by_tier == {"high": r(1, 5)}


def test_waiver_dependency(report: KpiReport) -> None:
    # High-tier releases allowed in the window: alpha 1.0 (no waiver), beta 2.0 (W-1). 1 of 2.
    assert report.waiver_dependency.overall == r(1, 2)


def test_tier_filter_keeps_that_tier_only() -> None:
    medium = compute(facts(alpha(), beta(), gamma(), delta()), tier="medium", now=NOW)
    # Only gamma: 1 active system, coverage 0/1, INC-3 and INC-4.
    assert medium.active_systems == 1
    assert medium.control_coverage.overall == r(0, 1)
    assert medium.incidents.overall.incidents == 2
    assert medium.artifact_completion.overall == r(0, 0)
    assert medium.artifact_completion.overall.rate is None
    assert medium.tier == "medium"


def record(actor: str, source: str) -> Record:
    return Record("s", 1, "e", "t", None, actor, source, START, None)


def test_machine_sent_rule() -> None:
    assert TYPED_SOURCE_PREFIX == f"{SOURCE_PREFIX}/"  # the same prefix intake stamps
    assert not machine_sent(record("ci-bot", "/aigov/intake/evaluations"))
    assert machine_sent(record("ci-bot", "urn:aigov:webhook:openlineage"))
    assert machine_sent(record("webhook:github", "https://github.com"))
    assert machine_sent(record("aigov-monitoring-router", "/aigov/intake/x"))
    assert machine_sent(record("ci-bot", "/ci/pipeline"))


def test_nearest_rank() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0, 9.0, 8.0, 7.0, 6.0]
    # n = 10: p90 is the ceil(9.0) = 9th smallest = 9; p50 the 5th = 5.
    assert nearest_rank(values, 0.9) == 9.0
    assert nearest_rank(values, 0.5) == 5.0
    assert nearest_rank([], 0.9) is None


def test_per_release_quality_is_bounded() -> None:
    c = Chain("busy")
    c.registered(at(1))
    c.tier(at(1), "low")
    for n in range(501):
        c.gate(at(2), f"1.{n}", allowed=False, tier="low")
    quality = compute(facts(c), now=NOW).evidence_quality
    # 501 releases scored (nothing recorded for them: score 1 each), 500 listed.
    assert quality.overall.releases == 501
    assert quality.overall.scores["1"] == 501
    assert len(quality.releases) == 500
    assert quality.releases_truncated is True
