"""What a denied release is told to do next, run on the embedded service (unit tests) and on
Kafka + PostgreSQL (integration tests): pending waiver requests and how to decide them, the CLI
commands of each step, and which receiver to fix for a monitoring control."""

from __future__ import annotations

from aigov_events.actors import MONITORING_ROUTER, TIERING
from aigov_events.catalog import (
    MonitoringProbeCompleted,
    NotificationFailed,
    NotificationSent,
    RequiredControl,
    TierAssigned,
    WaiverRejected,
)
from aigov_events.message import DomainEvent, new_event
from tests.unit.evidence import events as ev
from tests.unit.evidence.harness import READER, Harness, auth


async def decided_waiver_requests_are_no_longer_pending(evidence: Harness) -> None:
    """Requests show in the gate and the release, with how to decide them, until decided."""
    system = "guidance-decided"
    body = ev.request_body("waiver-request.json")
    await evidence.publish(
        ev.registered(system),
        ev.high_tier(system),
        *(
            ev.waiver_requested(system, body, waiver_id=w, expires_at=ev.in_days(9))
            for w in ("W-GRANTME1", "W-REJECTME1")
        ),
    )
    before = await evidence.gate(system, ev.VERSION)
    assert {w["waiver_id"] for w in before["pending_waivers"]} == {"W-GRANTME1", "W-REJECTME1"}
    steps = " ".join(before["next_steps"])
    assert "`aigov waiver grant W-REJECTME1 --rationale …`" in steps
    assert "(POST /v1/waivers/W-REJECTME1/reject)" in steps
    release = await evidence.client.get(f"/v1/releases/{system}/{ev.VERSION}", headers=auth(READER))
    assert release.status_code == 200, release.text
    assert {w["waiver_id"] for w in release.json()["pending_waivers"]} == {
        "W-GRANTME1",
        "W-REJECTME1",
    }
    rejected = WaiverRejected(
        system_id=system, version=ev.VERSION, waiver_id="W-REJECTME1", rationale="No."
    )
    await evidence.publish(
        ev.waiver_granted(system, waiver_id="W-GRANTME1"),
        new_event(rejected, source=ev.SOURCE, actor=ev.APPROVER),
    )
    after = await evidence.gate(system, ev.VERSION)
    assert after["pending_waivers"] == []
    assert "W-GRANTME1" not in " ".join(after["next_steps"])
    assert "W-REJECTME1" not in " ".join(after["next_steps"])
    assert {w["waiver_id"] for w in after["waived_controls"]} == {"W-GRANTME1"}
    release = await evidence.client.get(f"/v1/releases/{system}/{ev.VERSION}", headers=auth(READER))
    assert release.json()["pending_waivers"] == []


async def a_material_change_step_names_the_release(evidence: Harness) -> None:
    """The material-change step is a runnable `aigov approve` with the release."""
    system = "guidance-changed"
    await evidence.publish(
        ev.registered(system),
        ev.high_tier(system),
        ev.material_change(system, change_id="mc-embedded-1"),
    )
    steps = " ".join((await evidence.gate(system, ev.VERSION))["next_steps"])
    assert "(mc-embedded-1)" in steps
    assert (
        f"`aigov approve --system {system} --version {ev.VERSION} --material-change "
        "<change id> --rationale …` (POST /v1/approvals with scope material_change)"
    ) in steps


async def a_failing_probe_says_which_receiver_to_fix(evidence: Harness) -> None:
    """No probe yet: run one. A failed probe: its detail, the failed receiver, the fix."""
    system = "guidance-unrouted"
    await evidence.publish(ev.registered(system), _monitored_tier(system))
    never = (await evidence.gate(system, ev.VERSION))["next_steps"]
    assert (
        f"no monitoring probe has run for {system} yet: run one with `aigov probe run "
        f"{system}` (POST /v1/probes/{system} on the monitoring router), and ask the gate "
        "again"
    ) in never
    detail = "not delivered to pd (pagerduty) after 2 attempts: HTTP 400 from 127.0.0.1"
    await evidence.publish(
        _failed(system, "pd", "pagerduty", "HTTP 400 from 127.0.0.1: bad key", attempt=2),
        _probe(system, ok=False, detail=detail),
    )
    gate = await evidence.gate(system, ev.VERSION)
    missing = {m["control_id"]: m["reason"] for m in gate["missing_controls"]}
    assert detail in missing["monitoring.alert_routes"]
    steps = " ".join(gate["next_steps"])
    assert detail in steps
    assert (
        "the latest notification to pd (pagerduty) on route support-ml/critical failed after "
        "2 attempts: HTTP 400 from 127.0.0.1: bad key"
    ) in steps
    assert (
        "fix or configure the receiver (docs/services/monitoring-router.md, "
        '"Receivers and formats")' in steps
    )
    assert f"then run a probe: `aigov probe run {system}`" in steps
    # Fixing comes before asking the gate again, which stays the last step.
    assert gate["next_steps"][-1].startswith("then ask the gate again")


async def a_receiver_that_delivered_since_is_not_named(evidence: Harness) -> None:
    """Only receivers whose latest notification failed are named."""
    system = "guidance-recovered"
    await evidence.publish(
        ev.registered(system),
        _monitored_tier(system),
        _failed(system, "pd", "pagerduty", "HTTP 503 from events.pagerduty.com"),
        _failed(system, "mail", "email", "connection refused by 127.0.0.1:25"),
        new_event(
            NotificationSent.model_validate(
                {**NotificationSent.example, "system_id": system, "receiver": "pd"}
            ),
            source=ROUTER_SOURCE,
            actor=MONITORING_ROUTER,
        ),
        _probe(system, ok=False, detail="not delivered to mail (email)"),
    )
    steps = " ".join((await evidence.gate(system, ev.VERSION))["next_steps"])
    assert "notification to mail (email)" in steps
    assert "connection refused by 127.0.0.1:25" in steps
    assert "notification to pd" not in steps
    assert "events.pagerduty.com" not in steps


async def a_probe_by_anyone_but_the_router_is_not_a_probe_run(evidence: Harness) -> None:
    """A client's probe result does not count as a probe run."""
    system = "guidance-self-probed"
    forged = new_event(
        MonitoringProbeCompleted(
            system_id=system, probe="drift", ok=True, observed_at=ev.in_days(0)
        ),
        source=ev.SOURCE,
        actor=ev.SUBMITTER,
    )
    await evidence.publish(ev.registered(system), _monitored_tier(system), forged)
    steps = " ".join((await evidence.gate(system, ev.VERSION))["next_steps"])
    assert f"no monitoring probe has run for {system} yet" in steps


ROUTER_SOURCE = "/aigov/monitoring-router"


def _monitored_tier(system: str) -> DomainEvent[TierAssigned]:
    """The high tier plus a monitoring control over the `drift` signal."""
    tier = ev.high_tier(system)
    monitoring = RequiredControl.model_validate(
        {
            "control_id": "monitoring.alert_routes",
            "evidence": [{"kind": "monitoring", "signals": ["drift"]}],
        }
    )
    payload = tier.payload.model_copy(
        update={"required_controls": [*tier.payload.required_controls, monitoring]}
    )
    return new_event(payload, source="/aigov/tiering", actor=TIERING)


def _failed(
    system: str, receiver: str, channel: str, error: str, *, attempt: int = 1
) -> DomainEvent[NotificationFailed]:
    """notification.failed from the monitoring router."""
    payload = NotificationFailed.model_validate(
        {
            **NotificationFailed.example,
            "system_id": system,
            "receiver": receiver,
            "channel": channel,
            "error": error,
            "attempt": attempt,
        }
    )
    return new_event(payload, source=ROUTER_SOURCE, actor=MONITORING_ROUTER)


def _probe(system: str, *, ok: bool, detail: str) -> DomainEvent[MonitoringProbeCompleted]:
    """A `drift` probe result from the monitoring router."""
    payload = MonitoringProbeCompleted(
        system_id=system, probe="drift", ok=ok, detail=detail, observed_at=ev.in_days(0)
    )
    return new_event(payload, source=ROUTER_SOURCE, actor=MONITORING_ROUTER)
