"""The dashboard's pages over published events, run on the embedded service (unit tests) and
on Kafka + PostgreSQL (integration tests): register, filters, system page, queues, KPIs.

Expected values are worked out by hand from the events below (the high-tier decision of
`tests/unit/evidence/events.py` requires four controls):

- `support-summarizer` (team support-ml, high): evaluation (prompt injection 0.09 > 0.05,
  the other minimums met), a complete model card, waiver W-7 for evaluation.prompt_injection
  granted by risk-officer expiring in 5 days, W-8 for evaluation.minimums expiring in 30 days,
  no approval; the gate was recorded: deny. So model card and minimums are satisfied, prompt
  injection waived (W-7), approval.release missing; one open incident, escalated to level 2,
  notified to the `oncall` inbox and failed to PagerDuty after 4 attempts.
- `code-helper` (team dev-tools, low tier): registered and tiered, no release.
- `hr-assistant` (team people, no tier decision), named with hostile markup.
"""

from __future__ import annotations

import re
from typing import Final

from tests.unit.evidence import events as ev
from tests.unit.evidence.dashboard.helpers import (
    body_of,
    cookie_header,
    escalated,
    incident,
    notified,
    registered,
    sign_in,
)
from tests.unit.evidence.harness import READER, Harness

HIGH = "support-summarizer"
LOW = "code-helper"
HOSTILE = "hr-assistant"
HOSTILE_NAME = "<script>alert('x')</script> HR <b>assistant</b>"


#: Register queries and the systems each must show exactly.
FILTER_CASES: Final[list[tuple[str, set[str]]]] = [
    ("tier=high", {HIGH}),
    ("q=&tier=high&team=&gate=", {HIGH}),  # what the filter form sends
    ("q=&tier=&team=&gate=", {HIGH, LOW, HOSTILE}),
    ("tier=low", {LOW}),
    ("team=dev-tools", {LOW}),
    ("gate=deny", {HIGH}),
    ("gate=allow", set()),
    ("q=summar", {HIGH}),
    ("q=LEE.PARK", {LOW}),
    ("q=people", {HOSTILE}),
    ("q=code-helper", {LOW}),
    ("q=nothing-matches", set()),
    ("q=support&tier=low", set()),
]


async def publish_and_sign_in(evidence: Harness) -> dict[str, str]:
    """Publish the three systems and sign in as the reader; the session's Cookie header."""
    waiver = ev.request_body("waiver-request.json")
    minimums_waiver = {**waiver, "controls": ["evaluation.minimums"]}
    # The registration is recorded before the rest: registration and tier decision travel on
    # different topics, and the ledger's order across topics is the order they were consumed.
    await evidence.publish(registered(HIGH, name="Support case summarizer", team="support-ml"))
    await evidence.publish(
        ev.high_tier(HIGH),
        ev.evaluation(HIGH, ev.request_body("evaluation.json")),
        ev.artifact(HIGH, ev.request_body("artifact.json")),
        ev.waiver_requested(HIGH, waiver, waiver_id="W-7", expires_at=ev.in_days(5)),
        ev.waiver_granted(HIGH, waiver_id="W-7"),
        ev.waiver_requested(HIGH, minimums_waiver, waiver_id="W-8", expires_at=ev.in_days(30)),
        ev.waiver_granted(HIGH, waiver_id="W-8"),
        incident(HIGH, "INC-1"),
        escalated(HIGH, "INC-1", level=2, to="support-ml-manager"),
        notified(HIGH, "oncall"),
        notified(
            HIGH,
            "pagerduty-support-ml",
            channel="pagerduty",
            error="HTTP 503 <b>from</b> events.pagerduty.com",
            attempt=4,
        ),
        registered(LOW, name="Code helper", team="dev-tools", owner="lee.park@example.com"),
        ev.high_tier(LOW, tier="low"),
        registered(HOSTILE, name=HOSTILE_NAME, team="people"),
    )
    await evidence.gate(HIGH, ev.VERSION)
    cookie = await sign_in(evidence, READER)
    assert cookie is not None
    return cookie_header(cookie)


def rows(html: str) -> dict[str, str]:
    """Register/queue rows by their data-system attribute."""
    return {
        m.group(1): m.group(2)
        for m in re.finditer(r'<tr data-system="([^"]+)">(.*?)</tr>', html, re.S)
    }


def controls(html: str) -> dict[str, str]:
    """The control matrix: control id -> its row's state class."""
    return {
        m.group(2): m.group(1)
        for m in re.finditer(r'<tr class="state-(\w+)" data-control="([^"]+)">', html)
    }


async def every_system_with_tier_gate_and_gaps(
    evidence: Harness, signed_in: dict[str, str]
) -> None:
    """The register lists the three systems with tier, gate, gaps, incidents and owner."""
    html = body_of(await evidence.client.get("/dashboard", headers=signed_in))
    found = rows(html)
    assert set(found) == {HIGH, LOW, HOSTILE}
    high = found[HIGH]
    assert "tier-high" in high
    assert "✕ denied" in high
    assert ev.VERSION in high
    assert "1 missing" in high
    assert "approval.release" in high
    assert "1 waived" in high  # W-7 waives prompt injection; W-8's control is satisfied
    assert "1 open" in high
    assert "support-ml" in high
    assert "dana.kim@example.com" in high
    assert 'href="/dashboard/systems/support-summarizer"' in high
    low = found[LOW]
    assert "tier-low" in low
    assert "no release" in low
    assert "no decision" in low
    assert "not tiered" in found[HOSTILE]


async def filters_and_search_narrow_it(
    evidence: Harness, signed_in: dict[str, str], query: str, expected: set[str]
) -> None:
    """A filter or a search shows exactly the systems expected."""
    html = body_of(await evidence.client.get(f"/dashboard?{query}", headers=signed_in))
    assert set(rows(html)) == expected
    if not expected:
        assert "No AI system matches." in html


async def control_matrix_rules_and_evidence(evidence: Harness, signed_in: dict[str, str]) -> None:
    """The system page's control matrix, the rule behind the tier, the evidence links."""
    html = body_of(await evidence.client.get(f"/dashboard/systems/{HIGH}", headers=signed_in))
    assert controls(html) == {
        "artifact.model_card": "satisfied",
        "evaluation.prompt_injection": "waived",
        "evaluation.minimums": "satisfied",
        "approval.release": "missing",
    }
    # Why the tier: the rule that fired, and the policy.
    assert "genai-customer-personal-data" in html
    assert "generative model over customer-content and personal-data" in html
    assert "default 2026.11.0" in html
    # The waived control names its waiver; the missing one says why.
    assert "waiver W-7" in html
    assert "needs 1 approval of release 2026.11.3 in role approver" in html
    # Evidence links point at the timeline entries of the records used.
    for link in re.findall(r'href="#event-([^"]+)"', html):
        assert f'id="event-{link}"' in html
    assert len(re.findall(r'href="#event-', html)) >= 3


async def timeline_waivers_and_incidents(evidence: Harness, signed_in: dict[str, str]) -> None:
    """The timeline (newest first), the waivers' countdowns, the open incident."""
    html = body_of(await evidence.client.get(f"/dashboard/systems/{HIGH}", headers=signed_in))
    timeline = html.split('<ol class="timeline">', 1)[1].split("</ol>", 1)[0]
    labels = re.findall(r'<span class="what">([^<]+)</span>', timeline)
    # Newest first: the recorded gate decision is the latest record shown.
    assert labels[0] == "gate decided"
    assert labels[-1] == "system registered"
    assert "waiver granted" in labels
    assert "evaluation completed" in labels
    assert "denied; 1 missing control(s)" in timeline
    # Waivers with their countdown: W-7 is urgent (5 days), W-8 is not (30 days).
    assert re.search(r"⚠ 4 days \d+ h left", html)
    assert re.search(r"(?<!⚠ )29 days \d+ h left", html)
    # The incident, open, escalated to level 2.
    assert "INC-1" in html
    assert "level 2 → support-ml-manager" in html


async def who_was_notified(evidence: Harness, signed_in: dict[str, str]) -> None:
    """The system page's notifications: one line per delivery outcome, newest first."""
    html = body_of(await evidence.client.get(f"/dashboard/systems/{HIGH}", headers=signed_in))
    section = html.split('id="notifications"', 1)[1].split("</section>", 1)[0]
    lines = re.findall(r'<tr data-notification="[^"]+">(.*?)</tr>', section, re.S)
    assert len(lines) == 2
    failed, delivered = lines  # newest first: the PagerDuty failure was recorded last
    assert "<code>pagerduty-support-ml</code>" in failed
    assert "failed after 4 attempts" in failed
    assert "HTTP 503 &lt;b&gt;from&lt;/b&gt; events.pagerduty.com" in failed
    assert "<code>oncall</code>" in delivered
    assert "inbox" in delivered
    assert "delivered" in delivered
    assert "incident INC-1" in delivered
    assert f"GET /v1/inbox?system={HIGH}" in section


async def expiring_waivers_and_releases_waiting(
    evidence: Harness, signed_in: dict[str, str]
) -> None:
    """The queues: W-7 expires within 14 days; the high-tier release waits for approval."""
    html = body_of(await evidence.client.get("/dashboard/queues", headers=signed_in))
    expiring = re.findall(r'<tr data-waiver="([^"]+)">', html)
    assert expiring == ["W-7"]  # W-8 expires in 30 days, outside the 14-day window
    waiting = rows(html)
    assert set(waiting) == {HIGH}
    assert "approval.release" in waiting[HIGH]
    assert "A release waits for approval when" in html


async def every_figure_is_charted_over_six_windows(
    evidence: Harness, signed_in: dict[str, str]
) -> None:
    """The KPI page charts the eleven figures over six windows."""
    response = await evidence.client.get("/dashboard/kpis", headers=signed_in)
    html = body_of(response)
    sections = re.findall(r'<section class="card" id="kpi-([a-z_]+)">', html)
    assert len(sections) == 11
    assert "control_coverage" in sections
    charts = re.findall(r'<svg class="chart".*?</svg>', html, re.S)
    assert len(charts) == 11
    # Six windows per chart, each labelled on the x axis.
    incidents = html.split('id="kpi-incidents"', 1)[1].split("</section>", 1)[0]
    assert len(re.findall(r'text-anchor="middle">\d{2} \w{3}</text>', incidents)) == 6
    # One incident was reported this week, over the three registered systems.
    assert '<p class="figure">1</p>' in incidents
    assert "over 3 active systems" in incidents
    assert "<script" not in html
