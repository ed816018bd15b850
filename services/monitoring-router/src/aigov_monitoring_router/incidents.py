"""Incidents: SLA deadlines, the escalation chain and the EU AI Act Article 73 clock.

All timing lives in the `deadlines` and `timers` tables, so a restarted router carries on
where the stopped one left off: a deadline or escalation step that fell due while no router
ran fires as soon as one is back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aigov_events.catalog import IncidentEscalated, SlaBreached
from aigov_events.catalog.enums import Channel
from aigov_monitoring_router.alerting import recipient, touch_system
from aigov_monitoring_router.durations import format_duration
from aigov_monitoring_router.messages import Action, Message
from aigov_monitoring_router.models import DEADLINES, Deadline, Incident, SystemInfo
from aigov_monitoring_router.outbound import notify, sent_receivers
from aigov_monitoring_router.repository import cancel, emit, schedule
from aigov_monitoring_router.router import Router
from aigov_monitoring_router.routing_config import RoutingConfig

DEADLINE: Final = "deadline"
ESCALATE: Final = "escalate"
ACKNOWLEDGE: Final = "acknowledge"
CONTAIN: Final = "contain"
RESOLVE: Final = "resolve"
ARTICLE_73: Final = "eu-ai-act-art73-report"
#: Alert severities -> incident severities, for incidents opened by a route.
ALERT_TO_INCIDENT_SEVERITY: Final = {
    "critical": "critical",
    "high": "high",
    "warning": "medium",
    "info": "low",
}


@dataclass(frozen=True, slots=True)
class NewIncident:
    """What opening an incident needs."""

    incident_id: str
    system_id: str
    severity: str
    category: str
    summary: str
    serious: bool
    opened_by: str  # report | alert
    opened_at: datetime


def deadlines_for(
    config: RoutingConfig, incident: NewIncident, info: SystemInfo | None
) -> dict[str, datetime]:
    """The incident's SLA deadlines: config rules, the tiering policy's SLAs, Article 73."""
    tier = info.tier if info else None
    at = incident.opened_at
    deadlines: dict[str, datetime] = {}
    for rule in config.incidents.slas:
        if (not rule.tiers or tier in rule.tiers) and (
            not rule.severities or incident.severity in rule.severities
        ):
            deadlines[ACKNOWLEDGE] = at + rule.acknowledge
            deadlines[CONTAIN] = at + rule.contain
            break
    # The tiering policy pack is the source of truth where it states an SLA.
    for sla in info.incident_slas if info else []:
        if sla.get("severity") == incident.severity:
            deadlines[ACKNOWLEDGE] = at + timedelta(minutes=int(sla["acknowledge_within_minutes"]))
            deadlines[RESOLVE] = at + timedelta(minutes=int(sla["resolve_within_minutes"]))
    if (due := article73_deadline(config, incident, info)) is not None:
        deadlines[ARTICLE_73] = due
    return deadlines


def article73_deadline(
    config: RoutingConfig, incident: NewIncident, info: SystemInfo | None
) -> datetime | None:
    """When a serious incident must be reported under Art. 73 (None if it need not be)."""
    rules = config.incidents.article73
    if not incident.serious or info is None or info.tier not in rules.tiers:
        return None
    if not set(info.regions) & set(rules.regions):
        return None
    if incident.category in rules.death_categories:
        within = rules.death_within
    elif incident.category in rules.widespread_categories or set(info.use_cases) & set(
        rules.critical_infrastructure_use_cases
    ):
        within = rules.widespread_within
    else:
        within = rules.report_within
    return incident.opened_at + within


async def open_incident(session: AsyncSession, router: Router, new: NewIncident) -> bool:
    """Open an incident (once per id): deadlines, and the first escalation step."""
    if await session.get(Incident, new.incident_id) is not None:
        return False
    info = await session.get(SystemInfo, new.system_id)
    session.add(
        Incident(
            incident_id=new.incident_id,
            system_id=new.system_id,
            tier=info.tier if info else None,
            severity=new.severity,
            category=new.category,
            summary=new.summary,
            serious=new.serious,
            opened_by=new.opened_by,
            status="open",
            opened_at=new.opened_at,
            escalation_step=-1,
        )
    )
    for sla, due in deadlines_for(router.config, new, info).items():
        session.add(Deadline(incident_id=new.incident_id, sla=sla, due_at=due))
        await schedule(session, DEADLINE, f"{new.incident_id}|{sla}", due)
    first = router.config.incidents.escalation[0]
    await schedule(session, ESCALATE, new.incident_id, new.opened_at + first.after)
    return True


async def escalate(session: AsyncSession, router: Router, incident_id: str) -> None:
    """Run the next escalation step of an unacknowledged incident and schedule the one after."""
    incident = await session.get(Incident, incident_id, with_for_update=True)
    if incident is None or incident.status != "open":
        await cancel(session, ESCALATE, incident_id)
        return
    steps = router.config.incidents.escalation
    step_index = incident.escalation_step + 1
    if step_index >= len(steps):
        await cancel(session, ESCALATE, incident_id)
        return
    step = steps[step_index]
    now = router.clock.now()
    info = await session.get(SystemInfo, incident.system_id)
    waited = format_duration(step.after)
    reason = None if step_index == 0 else f"Not acknowledged within {waited}."
    await notify(
        session,
        router,
        message=_incident_message(
            router,
            incident,
            info,
            title=f"[{incident.severity}] Incident {incident.incident_id} on {incident.system_id}"
            + ("" if step_index == 0 else f" escalated to {step.to}"),
            text=incident.summary if reason is None else f"{reason} {incident.summary}",
            kind="incident" if step_index == 0 else "escalation",
        ),
        receiver=step.receiver,
        kind="incident" if step_index == 0 else "escalation",
        incident_id=incident.incident_id,
    )
    if step_index > 0:
        await emit(
            session,
            IncidentEscalated(
                system_id=incident.system_id,
                incident_id=incident.incident_id,
                level=min(step_index, 10),
                to=step.to,
                reason=reason,
            ),
            at=now,
        )
    incident.escalation_step = step_index
    if step_index + 1 < len(steps):
        await schedule(
            session, ESCALATE, incident_id, incident.opened_at + steps[step_index + 1].after
        )
    else:
        await cancel(session, ESCALATE, incident_id)


async def check_deadline(session: AsyncSession, router: Router, ref: str) -> None:
    """A deadline fell due: if not met, record and publish the breach and tell the right people."""
    await cancel(session, DEADLINE, ref)
    incident_id, _, sla = ref.partition("|")
    deadline = await session.get(Deadline, (incident_id, sla), with_for_update=True)
    incident = await session.get(Incident, incident_id)
    if deadline is None or incident is None or deadline.met_at or deadline.breached_at:
        return
    if incident.status == "resolved":
        return
    now = router.clock.now()
    deadline.breached_at = now
    await emit(
        session,
        SlaBreached(
            system_id=incident.system_id,
            incident_id=incident_id,
            sla=sla,
            due_at=deadline.due_at,
            breached_at=max(now, deadline.due_at),
        ),
        at=now,
    )
    policy = router.config.incidents
    receiver = policy.article73.escalate_to if sla == ARTICLE_73 else policy.breach_receiver
    info = await session.get(SystemInfo, incident.system_id)
    what = (
        "EU AI Act Article 73 report deadline passed"
        if sla == ARTICLE_73
        else f"{sla} SLA breached"
    )
    await notify(
        session,
        router,
        message=_incident_message(
            router,
            incident,
            info,
            title=f"[{incident.severity}] {what}: incident {incident_id} on {incident.system_id}",
            text=f"Due {deadline.due_at.isoformat()}. {incident.summary}",
            kind="breach",
        ),
        receiver=receiver,
        kind="breach",
        incident_id=incident_id,
    )


async def progress(
    session: AsyncSession, router: Router, *, incident_id: str, status: str, at: datetime
) -> None:
    """Apply acknowledge / contain / resolve: meet deadlines, stop escalation, update PagerDuty."""
    incident = await session.get(Incident, incident_id, with_for_update=True)
    if incident is None or incident.status == "resolved":
        return
    met: tuple[str, ...]
    if status == "acknowledged":
        incident.acknowledged_at = incident.acknowledged_at or at
        met = (ACKNOWLEDGE,)
        action: Action | None = "acknowledge"
    elif status == "contained":
        incident.contained_at = incident.contained_at or at
        incident.acknowledged_at = incident.acknowledged_at or at
        met = (ACKNOWLEDGE, CONTAIN)
        action = "acknowledge" if incident.status == "open" else None
    else:
        incident.resolved_at = at
        incident.acknowledged_at = incident.acknowledged_at or at
        # No catalog event says "reported to the authority" yet: resolution stops that clock too.
        met = (ACKNOWLEDGE, CONTAIN, RESOLVE, ARTICLE_73)
        action = "resolve"
    incident.status = status
    await cancel(session, ESCALATE, incident_id)
    if status == "resolved":
        # Its pseudo-alert stops inhibiting the system's alerts.
        await touch_system(session, router, incident.system_id)
    deadlines = (
        (await session.execute(select(Deadline).where(DEADLINES.c.incident_id == incident_id)))
        .scalars()
        .all()
    )
    for deadline in deadlines:
        if deadline.sla in met and deadline.met_at is None:
            deadline.met_at = at
            await cancel(session, DEADLINE, f"{incident_id}|{deadline.sla}")
    if action is None:
        return
    # PagerDuty tracks the incident under its dedup key: acknowledge / resolve it there too.
    for receiver, stored in await sent_receivers(
        session, incident_id=incident_id, channel=Channel.PAGERDUTY.value
    ):
        message = Message.model_validate(stored).model_copy(update={"action": action})
        await notify(
            session,
            router,
            message=message,
            receiver=receiver,
            kind="incident",
            incident_id=incident_id,
        )


def _incident_message(
    router: Router,
    incident: Incident,
    info: SystemInfo | None,
    *,
    title: str,
    text: str,
    kind: str,
) -> Message:
    return Message(
        kind=kind,  # type: ignore[arg-type]
        action="trigger",
        title=title,
        text=text,
        recipient=recipient(incident.system_id, info),
        dedup_key=f"aigov-incident-{incident.incident_id}",
        severity=incident.severity,
        signal=incident.category,
        route="incidents",
        incident_id=incident.incident_id,
        dashboard_url=router.config.global_.dashboard_url,
    )
