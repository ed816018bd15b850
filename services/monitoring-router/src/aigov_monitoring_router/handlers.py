"""Event handlers: `async def on_<event>(event, *, session, router)`, one per event type.

Each runs inside the transaction of its batch (`consumers.py`: the batch's event ids are
claimed in `processed_events` in the same transaction), so a redelivered event has no second
effect; the events before it in the batch have written through the same session.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from aigov_events.catalog import (
    AlertRaised,
    AlertResolved,
    IncidentAcknowledged,
    IncidentContained,
    IncidentReported,
    IncidentResolved,
    SystemRegistered,
    SystemRetired,
    SystemUpdated,
    TierAssigned,
)
from aigov_events.catalog.enums import IncidentSeverity
from aigov_events.message import DomainEvent
from aigov_monitoring_router import alerting, incidents, probes
from aigov_monitoring_router.models import SYSTEMS, SystemInfo
from aigov_monitoring_router.repository import cancel, emit, schedule, upsert_row
from aigov_monitoring_router.router import Router


async def on_system_registered(
    event: DomainEvent[SystemRegistered] | DomainEvent[SystemUpdated],
    *,
    session: AsyncSession,
    router: Router,
) -> None:
    """Learn (or update) a system's owner, team, on-call, regions and use case."""
    manifest = event.payload.manifest
    use_case = manifest.spec.use_case
    await upsert_row(
        session,
        SYSTEMS,
        {
            "system_id": event.system_id,
            "owner": manifest.metadata.owner,
            "team": manifest.metadata.team,
            "oncall": manifest.metadata.oncall,
            "regions": list(manifest.spec.deployment.regions),
            "use_cases": [use_case.category, *use_case.annex_iii],
            "incident_slas": [],
            "monitoring_signals": [],
            "retired": False,
            "updated_at": router.clock.now(),
        },
        keys=("system_id",),
        update_columns=("owner", "team", "oncall", "regions", "use_cases", "retired", "updated_at"),
    )


on_system_updated = on_system_registered


async def on_system_retired(
    event: DomainEvent[SystemRetired], *, session: AsyncSession, router: Router
) -> None:
    """Stop probing a retired system."""
    info = await session.get(SystemInfo, event.system_id)
    if info is not None:
        info.retired = True
        info.updated_at = router.clock.now()
    await cancel(session, probes.PROBE, event.system_id)


async def on_tier_assigned(
    event: DomainEvent[TierAssigned], *, session: AsyncSession, router: Router
) -> None:
    """Learn a system's tier and incident SLAs; start or stop its periodic probe."""
    payload = event.payload
    now = router.clock.now()
    await upsert_row(
        session,
        SYSTEMS,
        {
            "system_id": event.system_id,
            "tier": payload.tier.value,
            "incident_slas": [s.model_dump(mode="json") for s in payload.incident_slas],
            "monitoring_signals": sorted({m.signal for m in payload.monitoring}),
            "regions": [],
            "use_cases": [],
            "retired": False,
            "updated_at": now,
        },
        keys=("system_id",),
        update_columns=("tier", "incident_slas", "monitoring_signals", "updated_at"),
    )
    if payload.tier.value in router.config.probe.tiers:
        # The first probe runs soon after a system becomes high-risk, then every interval.
        await schedule(session, probes.PROBE, event.system_id, now, keep_earlier=True)
    else:
        await cancel(session, probes.PROBE, event.system_id)


def _incoming(payload: AlertRaised | AlertResolved, *, resolved: bool) -> alerting.IncomingAlert:
    return alerting.IncomingAlert(
        system_id=payload.system_id,
        alert_id=payload.alert_id,
        signal=payload.signal,
        severity=payload.severity.value,
        summary=payload.summary,
        labels=payload.labels,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        source_url=str(payload.source_url) if payload.source_url else None,
        resolved=resolved,
    )


async def on_alert_raised(
    event: DomainEvent[AlertRaised], *, session: AsyncSession, router: Router
) -> None:
    """Route a firing alert into its groups; open an incident if a route says so.

    An incident the router opens is also published as `incident.reported` (through the
    outbox), so intake knows it and people can acknowledge it through intake's endpoints.
    The router reads that event back from the signals topic: `open_incident` sees the id
    already open and does nothing.
    """
    payload = event.payload
    ingested = await alerting.ingest(session, router, _incoming(payload, resolved=False))
    opening = next((route for route in ingested.routes if route.opens_incident), None)
    if opening is None:
        return
    now = router.clock.now()
    new = incidents.NewIncident(
        incident_id=f"alert-{ingested.fingerprint}-{_epoch(payload.starts_at)}",
        system_id=payload.system_id,
        severity=incidents.ALERT_TO_INCIDENT_SEVERITY.get(payload.severity.value, "medium"),
        category=payload.signal,
        summary=payload.summary,
        serious=False,
        opened_by="alert",
        opened_at=now,
    )
    if not await incidents.open_incident(session, router, new):
        return  # the same alert series fired again: that incident is already open
    await emit(
        session,
        IncidentReported(
            system_id=new.system_id,
            incident_id=new.incident_id,
            version=payload.version,
            severity=IncidentSeverity(new.severity),
            category=new.category,
            summary=new.summary,
            reported_by=f"monitoring route {opening.name}",
            serious=False,
            occurred_at=payload.starts_at,
            alert_ids=[payload.alert_id],
        ),
        at=now,
    )


async def on_alert_resolved(
    event: DomainEvent[AlertResolved], *, session: AsyncSession, router: Router
) -> None:
    """Mark an alert resolved; its groups tell their receivers at their next flush."""
    await alerting.ingest(session, router, _incoming(event.payload, resolved=True))


async def on_incident_reported(
    event: DomainEvent[IncidentReported], *, session: AsyncSession, router: Router
) -> None:
    """Open an incident: deadlines, Article 73 clock, first escalation step."""
    payload = event.payload
    await incidents.open_incident(
        session,
        router,
        incidents.NewIncident(
            incident_id=payload.incident_id,
            system_id=payload.system_id,
            severity=payload.severity.value,
            category=payload.category,
            summary=payload.summary,
            serious=payload.serious,
            opened_by="report",
            # Deadlines count from when aigov learnt of it (the event time), not occurrence.
            opened_at=event.time,
        ),
    )


async def on_incident_acknowledged(
    event: DomainEvent[IncidentAcknowledged], *, session: AsyncSession, router: Router
) -> None:
    """Stop the escalation chain and meet the acknowledge deadline."""
    await incidents.progress(
        session, router, incident_id=event.payload.incident_id, status="acknowledged", at=event.time
    )


async def on_incident_contained(
    event: DomainEvent[IncidentContained], *, session: AsyncSession, router: Router
) -> None:
    """Meet the containment deadline."""
    await incidents.progress(
        session, router, incident_id=event.payload.incident_id, status="contained", at=event.time
    )


async def on_incident_resolved(
    event: DomainEvent[IncidentResolved], *, session: AsyncSession, router: Router
) -> None:
    """Stop every timer of the incident."""
    await incidents.progress(
        session, router, incident_id=event.payload.incident_id, status="resolved", at=event.time
    )


def _epoch(at: datetime) -> int:
    return int(at.timestamp())
