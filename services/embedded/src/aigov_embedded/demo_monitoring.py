"""The demo's monitoring part: alerts routed to the local inbox by tier, a probe, an incident.

After the releases the demo raises a drift warning on the medium-tier system and a critical
prompt-injection alert on the high-tier one (intake `POST /v1/alerts`), probes the high-tier
system's alert routes (router `POST /v1/probes/{system}`), waits for what arrives at once —
the notifications of routes without a group wait, and the incident a route opens — and
acknowledges that incident through intake. Notifications of routes that wait longer
(the shipped file: high-tier team 10 s, medium 30 s, low digest 5 min) are not waited for:
the summary says when they arrive.

Which routes and receivers an alert reaches is read from the router (`POST /v1/routes/test`
with the labels it routes on), so the demo follows whatever routing file is in force.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Final

from aigov_embedded.demo_client import DemoClient
from aigov_monitoring_router.durations import format_duration, parse_duration

#: Routes that wait at most this long before their first notification are waited for.
PROMPT: Final = timedelta(seconds=1)
#: How long the demo waits for what arrives at once before it says it did not.
WITHIN_S: Final = 30.0

INJECTION_SUMMARY: Final = "Jailbreak prompts got through the guardrail (12 in 10 min)"
ACK_NOTE: Final = "Demo: acknowledged by the owner; escalation to on-call stops here."


@dataclass(frozen=True)
class Reach:
    """One receiver an alert reaches, through which route, and whether it got it yet."""

    receiver: str
    route: str
    group_wait: timedelta
    integration: str | None
    delivered: bool


@dataclass(frozen=True)
class RaisedAlert:
    """An alert the demo raised and where the routing tree sends it."""

    system: str
    tier: str
    signal: str
    severity: str
    summary: str
    labels: Mapping[str, str]
    """The labels the router routes it on (its own, system, signal, severity, tier, team)."""
    reaches: tuple[Reach, ...]
    opens_incident: bool


@dataclass(frozen=True)
class Shown:
    """What the monitoring part showed: the alerts, the probe runs and the incident."""

    alerts: tuple[RaisedAlert, ...]
    probes: tuple[Mapping[str, Any], ...]
    incident: Mapping[str, Any] | None


def alert_requests(demo: DemoClient, *, high: str, medium: str) -> list[dict[str, Any]]:
    """The two alerts: the example drift alert moved to `medium`, a critical injection on `high`."""
    drift = {**demo.example_request("alert.json"), "system": medium}
    injection = {
        "system": high,
        "signal": "prompt_injection",
        "severity": "critical",
        "summary": INJECTION_SUMMARY,
        "labels": {"detector": "guardrail"},
    }
    return [drift, injection]


async def show(demo: DemoClient, *, high: str, medium: str) -> Shown:
    """Raise the alerts, probe `high`, wait for the prompt deliveries, acknowledge the incident."""
    integrations = await _integrations(demo)
    raised = alert_requests(demo, high=high, medium=medium)
    for body in raised:
        await demo.post("intake", "/v1/alerts", "publisher", body)
    started = await demo.send("POST", "router", f"/v1/probes/{high}", "owner", expect=(202,))
    alerts = [await _routed(demo, body, integrations) for body in raised]
    probes = tuple([await _probe_outcome(demo, high, probe) for probe in started])
    alerts = [await _arrived(demo, alert) for alert in alerts]
    incident = None
    opener = next((a for a in alerts if a.opens_incident), None)
    if opener is not None:
        incident = await _acknowledged(demo, opener)
    return Shown(alerts=tuple(alerts), probes=probes, incident=incident)


async def _integrations(demo: DemoClient) -> dict[str, str | None]:
    tree = await demo.get("router", "/v1/routes")
    return {receiver["name"]: receiver.get("integration") for receiver in tree["receivers"]}


async def _routed(
    demo: DemoClient, body: Mapping[str, Any], integrations: Mapping[str, str | None]
) -> RaisedAlert:
    """Where the tree sends the alert, from the labels the router routes it on."""
    system = await demo.get("evidence", f"/v1/systems/{body['system']}")
    tier = system.get("tier") or "unknown"
    labels = {
        **body.get("labels", {}),
        "system": body["system"],
        "signal": body["signal"],
        "severity": body["severity"],
        "tier": tier,
        "team": system.get("team") or "unknown",
    }
    tested = await demo.send(
        "POST", "router", "/v1/routes/test", "reader", expect=(200,), json={"labels": labels}
    )
    reaches = tuple(
        Reach(
            receiver=route["receiver"],
            route=route["name"],
            group_wait=parse_duration(route["group_wait"]),
            integration=integrations.get(route["receiver"]),
            delivered=False,
        )
        for route in tested["routes"]
        # A receiver with no integration drops what it gets (Alertmanager's "null").
        if integrations.get(route["receiver"]) is not None
    )
    return RaisedAlert(
        system=body["system"],
        tier=tier,
        signal=body["signal"],
        severity=body["severity"],
        summary=body["summary"],
        labels=labels,
        reaches=reaches,
        opens_incident=any(route["opens_incident"] for route in tested["routes"]),
    )


async def _arrived(demo: DemoClient, alert: RaisedAlert) -> RaisedAlert:
    """`alert` once every inbox its prompt routes reach holds it (later ones are not awaited)."""
    awaited = {
        reach.receiver
        for reach in alert.reaches
        if reach.integration == "inbox" and reach.group_wait <= PROMPT
    }

    async def delivered_to() -> set[str] | None:
        answer = await demo.get(
            "router", "/v1/inbox", params={"system": alert.system, "kind": "alerts", "limit": 100}
        )
        got = {
            message["receiver"]
            for message in answer["messages"]
            if any(_is(alert, shown) for shown in message["message"].get("alerts", []))
        }
        return got if awaited <= got else None

    got = await demo.until(
        f"the {alert.signal} alert of {alert.system} in the inbox of {', '.join(sorted(awaited))}",
        delivered_to,
        within=WITHIN_S,
    )
    reaches = tuple(replace(reach, delivered=reach.receiver in got) for reach in alert.reaches)
    return replace(alert, reaches=reaches)


def _is(alert: RaisedAlert, shown: Mapping[str, Any]) -> bool:
    """Whether an alert a notification carries is `alert` (same summary and labels)."""
    labels = shown.get("labels") or {}
    return shown.get("summary") == alert.summary and all(
        labels.get(name) == value for name, value in alert.labels.items()
    )


async def _probe_outcome(
    demo: DemoClient, system: str, probe: Mapping[str, Any]
) -> Mapping[str, Any]:
    async def done() -> Mapping[str, Any] | None:
        found: Mapping[str, Any] = await demo.get(
            "router", f"/v1/probes/{system}/{probe['probe_id']}"
        )
        return found if found.get("ok") is not None else None

    return await demo.until(f"probe {probe['probe_id']} of {system}", done, within=WITHIN_S)


async def _acknowledged(demo: DemoClient, alert: RaisedAlert) -> Mapping[str, Any]:
    """The incident the alert's route opened, once intake lists it, acknowledged by the owner."""

    async def listed() -> Mapping[str, Any] | None:
        answer = await demo.get(
            "intake", "/v1/incidents", params={"system": alert.system, "opened_by": "alert"}
        )
        return next(
            (
                incident
                for incident in answer["incidents"]
                if incident.get("category") == alert.signal
                and incident.get("summary") == alert.summary
            ),
            None,
        )

    incident = await demo.until(
        f"the incident opened by the {alert.signal} alert of {alert.system}",
        listed,
        within=WITHIN_S,
    )
    incident_id = incident["incident_id"]
    if incident["status"] == "reported":
        await demo.post(
            "intake", f"/v1/incidents/{incident_id}/acknowledge", "owner", {"note": ACK_NOTE}
        )

    async def acknowledged() -> Mapping[str, Any] | None:
        found: Mapping[str, Any] = await demo.get("intake", f"/v1/incidents/{incident_id}")
        return found if found.get("status") != "reported" else None

    return await demo.until(f"incident {incident_id} acknowledged", acknowledged, within=WITHIN_S)


def summary_lines(shown: Shown, *, inbox: str, incidents: str, docs: str) -> list[str]:
    """A few lines: which inbox got which alert (by tier), the probe, the incident, where to look."""
    lines = ["monitoring — the routing tree sends each alert by tier:"]
    for alert in shown.alerts:
        lines.append(
            f"  {alert.system} ({alert.tier}) {alert.signal} {alert.severity} → "
            f"{_reached(alert.reaches)}"
        )
    if shown.incident is not None:
        lines.append(
            f"  incident {shown.incident['incident_id']} opened by the route, "
            f"{shown.incident['status']} by the owner (escalation stopped)"
        )
    if shown.probes:
        failed = [p for p in shown.probes if not p.get("ok")]
        system = shown.probes[0]["system_id"]
        signals = ", ".join(str(p["signal"]) for p in shown.probes)
        if failed:
            details = "; ".join(f"{p['signal']}: {p.get('detail')}" for p in failed)
            lines.append(f"  probe {system} FAILED ({details})")
        else:
            lines.append(f"  probe {system}: ok ({signals} delivered)")
    lines.append(f"  look: {inbox}  {incidents}  {docs}")
    return lines


def _reached(reaches: Sequence[Reach]) -> str:
    if not reaches:
        return "no receiver (dropped)"
    parts = []
    for reach in reaches:
        if reach.integration != "inbox":
            parts.append(f"{reach.receiver} by {reach.integration} (see /v1/deliveries)")
        elif reach.delivered:
            parts.append(f"{reach.receiver} inbox now")
        else:
            wait = format_duration(reach.group_wait)
            parts.append(f"{reach.receiver} inbox after its {wait} group wait")
    return ", ".join(parts)
