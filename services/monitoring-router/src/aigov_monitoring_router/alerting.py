"""Alerts in, groups out: ingestion through the tree, and the flush of an aggregation group."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from aigov_monitoring_router import alerts as labels_of
from aigov_monitoring_router.grouping import LastNotification, group_key, needs_update, next_flush
from aigov_monitoring_router.inhibition import SilenceWindow, inhibited
from aigov_monitoring_router.matchers import parse_matcher
from aigov_monitoring_router.messages import AlertView, Message, Recipient
from aigov_monitoring_router.models import (
    ALERTS,
    GROUPS,
    INCIDENTS,
    MEMBERS,
    SILENCES,
    Alert,
    AlertGroup,
    SystemInfo,
)
from aigov_monitoring_router.outbound import notify
from aigov_monitoring_router.repository import cancel, schedule, upsert_row
from aigov_monitoring_router.router import Router
from aigov_monitoring_router.routes import Route
from aigov_monitoring_router.routing_config import ReceiverConfig
from aigov_runtime.database import insert_if_new

log = logging.getLogger(__name__)

FLUSH: Final = "flush"
#: Label of the pseudo-alert an open incident contributes as an inhibition source.
INCIDENT_LABEL: Final = "aigov_incident"


@dataclass(frozen=True, slots=True)
class IncomingAlert:
    """An alert.raised / alert.resolved, as the router needs it."""

    system_id: str
    alert_id: str
    signal: str
    severity: str
    summary: str
    labels: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime | None
    source_url: str | None
    resolved: bool


@dataclass(frozen=True, slots=True)
class Ingested:
    """Where an alert went: its fingerprint, routing labels and the routes it matched."""

    fingerprint: str
    labels: dict[str, str]
    routes: list[Route]


def recipient(system_id: str, info: SystemInfo | None) -> Recipient:
    """Who a system's notifications are about, from the projection."""
    if info is None:
        return Recipient(system=system_id)
    return Recipient(
        system=system_id, owner=info.owner, team=info.team, oncall=info.oncall, tier=info.tier
    )


def routing_labels_for(alert: IncomingAlert, info: SystemInfo | None) -> tuple[str, dict[str, str]]:
    """The alert's fingerprint and the labels the tree routes on."""
    identity = labels_of.identity_labels(
        system_id=alert.system_id, signal=alert.signal, severity=alert.severity, labels=alert.labels
    )
    tier = (info.tier if info else None) or alert.labels.get(labels_of.TIER)
    team = (info.team if info else None) or alert.labels.get(labels_of.TEAM)
    return labels_of.fingerprint(identity), labels_of.routing_labels(identity, tier=tier, team=team)


async def ingest(session: AsyncSession, router: Router, alert: IncomingAlert) -> Ingested:
    """Record an alert's new state and put it in the groups of every route it matches."""
    now = router.clock.now()
    info = await session.get(SystemInfo, alert.system_id)
    fingerprint, labels = routing_labels_for(alert, info)
    if alert.resolved:
        existing = await session.get(Alert, fingerprint)
        if existing is None:
            return Ingested(fingerprint, labels, [])  # never saw it fire: nothing to tell
    await upsert_row(
        session,
        ALERTS,
        {
            "fingerprint": fingerprint,
            "system_id": alert.system_id,
            "alert_id": alert.alert_id,
            "labels": labels,
            "summary": alert.summary,
            "source_url": alert.source_url,
            "status": "resolved" if alert.resolved else "firing",
            "starts_at": alert.starts_at,
            "ends_at": alert.ends_at,
            "updated_at": now,
        },
        keys=("fingerprint",),
        update_columns=(
            "alert_id",
            "labels",
            "summary",
            "source_url",
            "status",
            "starts_at",
            "ends_at",
            "updated_at",
        ),
    )
    routes = router.compiled.tree.match(labels)
    if alert.resolved:
        # Resolved alerts go out with their groups' next regular flush (as in Alertmanager);
        # other groups of the system may have been inhibited by this alert.
        await touch_system(session, router, alert.system_id)
        return Ingested(fingerprint, labels, routes)
    for route in routes:
        await _join_group(session, route, labels, fingerprint, system_id=alert.system_id, now=now)
    return Ingested(fingerprint, labels, routes)


async def _join_group(
    session: AsyncSession,
    route: Route,
    labels: Mapping[str, str],
    fingerprint: str,
    *,
    system_id: str,
    now: datetime,
) -> None:
    group_labels = route.group_labels(labels)
    key = group_key(route.id, group_labels)
    created = await insert_if_new(
        session,
        GROUPS,
        {
            "group_key": key,
            "route_id": route.id,
            "route_name": route.name,
            "receiver": route.receiver,
            "system_id": system_id,
            "group_labels": group_labels,
            "opens_incident": route.opens_incident,
            "created_at": now,
            "notified_firing": [],
            "notified_resolved": [],
        },
    )
    await insert_if_new(session, MEMBERS, {"group_key": key, "fingerprint": fingerprint})
    last_flush_at = None
    if not created:
        last_flush_at = await session.scalar(
            select(GROUPS.c.last_flush_at).where(GROUPS.c.group_key == key)
        )
    due = next_flush(
        created=created,
        last_flush_at=last_flush_at,
        now=now,
        group_wait=route.group_wait,
        group_interval=route.group_interval,
    )
    await schedule(session, FLUSH, key, due, keep_earlier=True)


async def active_silences(
    session: AsyncSession, system_id: str, now: datetime
) -> list[SilenceWindow]:
    """The system's silences in force at `now`."""
    rows = (
        await session.execute(
            select(
                SILENCES.c.silence_id, SILENCES.c.matchers, SILENCES.c.starts_at, SILENCES.c.ends_at
            ).where(
                SILENCES.c.system_id == system_id,
                SILENCES.c.starts_at <= now,
                SILENCES.c.ends_at > now,
            )
        )
    ).all()
    windows = []
    for row in rows:
        try:
            # Accepted when created: no length cap now, or a lowered cap would unmute alerts.
            matchers = tuple(parse_matcher(m, max_pattern_chars=None) for m in row.matchers)
        except ValueError as exc:
            # Stored before matchers ran on RE2 and not valid RE2: ignoring the silence
            # delivers the alerts (failing open) instead of stalling the system's flushes.
            log.warning(
                "silence ignored: its matchers no longer compile",
                extra={"silence_id": row.silence_id, "system_id": system_id, "error": str(exc)},
            )
            continue
        windows.append(
            SilenceWindow(
                id=row.silence_id, matchers=matchers, starts_at=row.starts_at, ends_at=row.ends_at
            )
        )
    return windows


async def inhibition_sources(
    session: AsyncSession, system_id: str, now: datetime
) -> list[dict[str, str]]:
    """Firing alerts of the system, plus one pseudo-alert per open incident of it."""
    sources: list[dict[str, str]] = [
        dict(row.labels)
        for row in (
            await session.execute(
                select(ALERTS.c.labels, ALERTS.c.ends_at).where(
                    ALERTS.c.system_id == system_id, ALERTS.c.status == "firing"
                )
            )
        ).all()
        if row.ends_at is None or row.ends_at > now
    ]
    for incident_id, severity in (
        await session.execute(
            select(INCIDENTS.c.incident_id, INCIDENTS.c.severity).where(
                INCIDENTS.c.system_id == system_id, INCIDENTS.c.status != "resolved"
            )
        )
    ).all():
        sources.append(
            {
                INCIDENT_LABEL: "open",
                labels_of.SYSTEM: system_id,
                "incident_id": incident_id,
                labels_of.SEVERITY: severity,
            }
        )
    return sources


def muted(
    router: Router,
    labels: Mapping[str, str],
    silences: Sequence[SilenceWindow],
    sources: Sequence[Mapping[str, str]],
    now: datetime,
) -> bool:
    """Whether a firing alert is silenced or inhibited."""
    if any(s.mutes(labels, now) for s in silences):
        return True
    return inhibited(router.compiled.inhibit_rules, labels, sources)


async def flush(session: AsyncSession, router: Router, key: str) -> bool:
    """Flush one group: notify if it changed or is due a repeat; reschedule or dissolve it.

    Returns whether a notification was created.
    """
    now = router.clock.now()
    group = await session.get(AlertGroup, key, with_for_update=True)
    if group is None:
        await cancel(session, FLUSH, key)
        return False
    members = (
        (
            await session.execute(
                select(Alert)
                .join(MEMBERS, MEMBERS.c.fingerprint == ALERTS.c.fingerprint)
                .where(MEMBERS.c.group_key == key)
            )
        )
        .scalars()
        .all()
    )
    silences = await active_silences(session, group.system_id, now)
    sources = await inhibition_sources(session, group.system_id, now)
    firing: dict[str, Alert] = {}
    resolved: dict[str, Alert] = {}
    for alert in members:
        is_resolved = alert.status == "resolved" or (
            alert.ends_at is not None and alert.ends_at <= now
        )
        if is_resolved:
            resolved[alert.fingerprint] = alert
        elif not muted(router, alert.labels, silences, sources, now):
            firing[alert.fingerprint] = alert
    receiver = _receiver_or_none(router, group.receiver)
    integration = receiver.integration if receiver else None
    send_resolved = integration.send_resolved if integration else True
    last = (
        LastNotification(
            firing=frozenset(group.notified_firing),
            resolved=frozenset(group.notified_resolved),
            at=group.notified_at,
        )
        if group.notified_at is not None
        else None
    )
    route = _route_or_none(router, group.route_id)
    repeat = route.repeat_interval if route else router.compiled.tree.repeat_interval
    interval = route.group_interval if route else router.compiled.tree.group_interval
    notified = False
    if receiver is not None and needs_update(
        last,
        firing=set(firing),
        resolved=set(resolved),
        send_resolved=send_resolved,
        repeat_interval=repeat,
        now=now,
    ):
        # The all-resolved notification lists what resolved, whatever send_resolved says.
        shown = list(firing.values()) + (
            list(resolved.values()) if send_resolved or not firing else []
        )
        info = await session.get(SystemInfo, group.system_id)
        await notify(
            session,
            router,
            message=_group_message(router, group, shown, firing=bool(firing), info=info),
            receiver=group.receiver,
            kind="alerts",
            group_key=key,
        )
        group.notified_firing = sorted(firing)
        group.notified_resolved = sorted(resolved)
        group.notified_at = now
        notified = True
    group.last_flush_at = now
    if resolved:
        await session.execute(
            delete(MEMBERS).where(
                MEMBERS.c.group_key == key, MEMBERS.c.fingerprint.in_(list(resolved))
            )
        )
    remaining = len(members) - len(resolved)
    if remaining > 0:
        await schedule(session, FLUSH, key, _next_check(group, members, now, interval, repeat))
    else:
        await session.delete(group)
        await cancel(session, FLUSH, key)
    return notified


def _next_check(
    group: AlertGroup,
    members: Sequence[Alert],
    now: datetime,
    interval: timedelta,
    repeat: timedelta,
) -> datetime:
    """When an unchanged group must be looked at again without any event.

    Alertmanager re-evaluates every group each `group_interval`, which is free in memory but
    a database round trip per group here. Changes (new alerts, resolutions, silences ending,
    incidents resolving) reschedule the flush themselves (`touch_system`); what is left is
    the repeat of the last notification and alerts whose `ends_at` passes.
    """
    candidates = [now + repeat]
    if group.notified_at is not None and group.notified_firing:
        candidates.append(group.notified_at + repeat)
    candidates += [a.ends_at for a in members if a.ends_at is not None and a.ends_at > now]
    return max(now + interval, min(candidates))


async def touch_system(session: AsyncSession, router: Router, system_id: str) -> None:
    """Something that can unmute or resolve a system's alerts changed: re-check its groups.

    Each group flushes at its next `group_interval` tick, as if Alertmanager had looked.
    """
    now = router.clock.now()
    member_groups = (
        select(MEMBERS.c.group_key)
        .join(ALERTS, ALERTS.c.fingerprint == MEMBERS.c.fingerprint)
        .where(ALERTS.c.system_id == system_id)
    )
    rows = (
        await session.execute(
            select(GROUPS.c.group_key, GROUPS.c.route_id, GROUPS.c.last_flush_at).where(
                (GROUPS.c.system_id == system_id) | GROUPS.c.group_key.in_(member_groups)
            )
        )
    ).all()
    for key, route_id, last_flush_at in rows:
        route = _route_or_none(router, route_id)
        interval = route.group_interval if route else router.compiled.tree.group_interval
        due = now if last_flush_at is None else max(now, last_flush_at + interval)
        await schedule(session, FLUSH, key, due, keep_earlier=True)


def _receiver_or_none(router: Router, name: str) -> ReceiverConfig | None:
    try:
        return router.config.receiver(name)
    except KeyError:
        return None


def _route_or_none(router: Router, route_id: str) -> Route | None:
    for route in router.compiled.tree.walk():
        if route.id == route_id:
            return route
    return None


def _common_labels(alerts: Sequence[Alert]) -> dict[str, str]:
    if not alerts:
        return {}
    common = dict(alerts[0].labels)
    for alert in alerts[1:]:
        common = {k: v for k, v in common.items() if alert.labels.get(k) == v}
    return common


def _group_message(
    router: Router,
    group: AlertGroup,
    alerts: Sequence[Alert],
    *,
    firing: bool,
    info: SystemInfo | None,
) -> Message:
    common = _common_labels(alerts)
    firing_count = sum(1 for a in alerts if a.status == "firing")
    signal = common.get(labels_of.SIGNAL)
    severity = common.get(labels_of.SEVERITY) or max(
        (a.labels.get(labels_of.SEVERITY, "info") for a in alerts),
        key=_severity_rank,
        default="info",
    )
    title_state = f"{firing_count} firing" if firing else "resolved"
    title = f"[{severity}] {group.system_id}: {signal or 'alerts'} ({title_state})"
    text = (
        alerts[0].summary
        if len(alerts) == 1
        else f"{len(alerts)} alerts in group {group.route_name}"
    )
    return Message(
        kind="alerts",
        action="trigger" if firing else "resolve",
        title=title,
        text=text,
        recipient=recipient(group.system_id, info),
        dedup_key=f"aigov-{group.group_key}",
        severity=severity,
        signal=signal,
        route=group.route_name,
        group_key=group.group_key,
        group_labels=dict(group.group_labels),
        common_labels=common,
        alerts=[
            AlertView(
                fingerprint=a.fingerprint,
                status="firing" if a.status == "firing" else "resolved",
                labels=dict(a.labels),
                summary=a.summary,
                starts_at=a.starts_at,
                ends_at=a.ends_at,
                source_url=a.source_url,
            )
            for a in alerts
        ],
        dashboard_url=router.config.global_.dashboard_url,
        probe=common.get(labels_of.PROBE_LABEL) == "true",
    )


_SEVERITY_ORDER: Final = ("info", "low", "warning", "medium", "high", "critical")


def _severity_rank(severity: str) -> int:
    return _SEVERITY_ORDER.index(severity) if severity in _SEVERITY_ORDER else 0
