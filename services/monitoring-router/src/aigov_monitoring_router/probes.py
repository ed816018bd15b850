"""The monitoring-coverage probe: a synthetic alert through a high-risk system's real route.

The probe builds the label set a real critical alert of the system would carry (plus
`aigov_probe="true"`), resolves it through the routing tree, and sends a clearly labelled
message to every receiver it reaches, through the normal delivery path (retries included).
It passes when every receiver accepted the message; `monitoring.probe.completed` carries the
outcome, the receivers and the latency, and is the evidence for "monitoring route verified".
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aigov_events.catalog import MonitoringProbeCompleted
from aigov_monitoring_router import alerts as labels_of
from aigov_monitoring_router.alerting import recipient
from aigov_monitoring_router.messages import AlertView, Message
from aigov_monitoring_router.models import (
    ATTEMPTS,
    NOTIFICATIONS,
    Notification,
    Probe,
    SystemInfo,
)
from aigov_monitoring_router.outbound import notify
from aigov_monitoring_router.repository import cancel, emit, schedule
from aigov_monitoring_router.router import Router

PROBE: Final = "probe"
GENERIC_SIGNAL: Final = "other"
"""Signal probed when the tiering policy names none."""
_ERROR_CHARS: Final = 200
"""Longest receiver error repeated in a probe's detail (the whole error is in the log)."""
_MAX_DETAIL_CHARS: Final = 3800
"""A probe's detail stays within the catalog's Text (4000) with the probe id appended."""


def probe_name(signal: str) -> str:
    """The published probe's name: evidence matches `<signal>` or `<signal>-...` to a control."""
    return f"{signal}-alert-route"


def probe_labels(
    router: Router, system_id: str, info: SystemInfo | None, signal: str
) -> dict[str, str]:
    """The label set of the system's synthetic probe alert for `signal`."""
    labels = {
        labels_of.SEVERITY: "critical",
        **router.config.probe.labels,
        labels_of.SIGNAL: signal,
        labels_of.PROBE_LABEL: "true",
        "alertname": "AigovMonitoringProbe",
    }
    return labels_of.routing_labels(
        {**labels, labels_of.SYSTEM: system_id},
        tier=info.tier if info else None,
        team=info.team if info else None,
    )


async def start_probes(session: AsyncSession, router: Router, system_id: str) -> list[Probe]:
    """Probe the route of every signal the policy requires monitoring for (or a generic one)."""
    info = await session.get(SystemInfo, system_id)
    signals = (info.monitoring_signals if info else []) or [GENERIC_SIGNAL]
    return [await start_probe(session, router, system_id, signal) for signal in signals]


async def start_probe(session: AsyncSession, router: Router, system_id: str, signal: str) -> Probe:
    """Send the synthetic alert for `signal` to every receiver the system's route reaches."""
    now = router.clock.now()
    info = await session.get(SystemInfo, system_id)
    labels = probe_labels(router, system_id, info, signal)
    routes = router.compiled.tree.match(labels)
    probe = Probe(
        probe_id=f"p-{uuid.uuid4().hex[:20]}",
        system_id=system_id,
        signal=signal,
        receivers=sorted({r.receiver for r in routes}),
        started_at=now,
    )
    session.add(probe)
    fingerprint = labels_of.fingerprint(labels)
    reachable = [r for r in routes if router.config.receiver(r.receiver).integration is not None]
    if info is None or not reachable:
        reason = (
            f"system {system_id!r} is not known to the router"
            if info is None
            else "the route reaches no receiver with an integration"
        )
        await _complete(session, router, probe, ok=False, detail=reason, now=now)
        return probe
    for route in reachable:
        message = Message(
            kind="probe",
            action="trigger",
            title=f"Monitoring probe for {system_id}, {signal} (synthetic alert, no action needed)",
            text=(
                "aigov checks that this system's critical alerts reach this receiver. "
                "This is a synthetic alert; no action is needed."
            ),
            recipient=recipient(system_id, info),
            dedup_key=f"aigov-probe-{probe.probe_id}",
            severity=labels[labels_of.SEVERITY],
            signal=labels[labels_of.SIGNAL],
            route=route.name,
            group_labels=route.group_labels(labels),
            common_labels=labels,
            alerts=[
                AlertView(
                    fingerprint=fingerprint,
                    status="firing",
                    labels=labels,
                    summary="aigov monitoring probe (synthetic)",
                    starts_at=now,
                )
            ],
            dashboard_url=router.config.global_.dashboard_url,
            probe=True,
        )
        await notify(
            session,
            router,
            message=message,
            receiver=route.receiver,
            kind="probe",
            probe_id=probe.probe_id,
        )
    return probe


async def settle_probe(session: AsyncSession, router: Router, probe_id: str) -> None:
    """Complete a probe once all its deliveries are final (called after each one ends)."""
    probe = await session.get(Probe, probe_id, with_for_update=True)
    if probe is None or probe.completed_at is not None:
        return
    notifications = (
        (await session.execute(select(Notification).where(NOTIFICATIONS.c.probe_id == probe_id)))
        .scalars()
        .all()
    )
    if any(n.status == "pending" for n in notifications):
        return
    now = router.clock.now()
    failed = [n for n in notifications if n.status != "sent"]
    latency = max(
        ((n.updated_at - probe.started_at).total_seconds() * 1000 for n in notifications),
        default=0.0,
    )
    probe.latency_ms = round(latency, 1)
    detail = (
        f"delivered to {', '.join(sorted(n.receiver for n in notifications))} "
        f"in {probe.latency_ms:.0f} ms"
        if not failed
        else await _failures(session, failed)
    )
    await _complete(session, router, probe, ok=not failed, detail=detail, now=now)
    # PagerDuty keeps a triggered event open: resolve the probe's at once.
    for n in notifications:
        if n.status == "sent" and n.channel == "pagerduty":
            message = Message.model_validate(n.message).model_copy(update={"action": "resolve"})
            await notify(session, router, message=message, receiver=n.receiver, kind="probe")


async def _failures(session: AsyncSession, failed: list[Notification]) -> str:
    """`not delivered to <receiver> (<channel>): <last error>; ...`, short enough to repeat."""
    parts = []
    for n in sorted(failed, key=lambda n: n.receiver):
        error = await session.scalar(
            select(ATTEMPTS.c.error)
            .where(ATTEMPTS.c.notification_id == n.notification_id)
            .order_by(ATTEMPTS.c.attempt.desc())
            .limit(1)
        )
        reason = " ".join((error or n.status).split())[:_ERROR_CHARS]
        parts.append(f"{n.receiver} ({n.channel}) after {n.attempts} attempt(s): {reason}")
    return "not delivered to " + "; ".join(parts)


async def _complete(
    session: AsyncSession, router: Router, probe: Probe, *, ok: bool, detail: str, now: datetime
) -> None:
    detail = detail[:_MAX_DETAIL_CHARS]
    probe.completed_at = now
    probe.ok = ok
    probe.detail = detail
    await emit(
        session,
        MonitoringProbeCompleted(
            system_id=probe.system_id,
            probe=probe_name(probe.signal),
            ok=ok,
            detail=f"{detail} (probe {probe.probe_id}, latency_ms={probe.latency_ms or 0:.0f})",
            observed_at=now,
        ),
        at=now,
    )


async def scheduled_probe(session: AsyncSession, router: Router, system_id: str) -> None:
    """The periodic probe of one system: run it and book the next one (or stop)."""
    info = await session.get(SystemInfo, system_id)
    if info is None or info.retired or info.tier not in router.config.probe.tiers:
        await cancel(session, PROBE, system_id)
        return
    await start_probes(session, router, system_id)
    await schedule(session, PROBE, system_id, router.clock.now() + router.config.probe.interval)
