"""Queries and commands behind the HTTP API (no FastAPI here)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aigov_monitoring_router.alerts import fingerprint
from aigov_monitoring_router.durations import format_duration
from aigov_monitoring_router.grouping import group_key
from aigov_monitoring_router.models import (
    ATTEMPTS,
    DEADLINES,
    INCIDENTS,
    NOTIFICATIONS,
    PROBES,
    Deadline,
    Incident,
    Probe,
)
from aigov_monitoring_router.receiver_health import last_deliveries
from aigov_monitoring_router.router import Router
from aigov_monitoring_router.routes import Route
from aigov_monitoring_router.schemas import (
    DeadlineOut,
    DeliveryOut,
    IncidentOut,
    MatchedRoute,
    ReceiverOut,
    RouteNode,
    RouteTestResult,
    RoutingTree,
)


def route_test(router: Router, labels: dict[str, str]) -> RouteTestResult:
    """Which routes and receivers an alert with `labels` reaches."""
    routes = router.compiled.tree.match(labels)
    matched = [
        MatchedRoute.model_validate(
            {
                **_settings(route),
                "group_labels": route.group_labels(labels),
                "group_key": group_key(route.id, route.group_labels(labels)),
            }
        )
        for route in routes
    ]
    receivers = list(dict.fromkeys(route.receiver for route in routes))
    return RouteTestResult(
        labels=labels, fingerprint=fingerprint(labels), routes=matched, receivers=receivers
    )


def _settings(route: Route) -> dict[str, Any]:
    return {
        "id": route.id,
        "name": route.name,
        "receiver": route.receiver,
        "matchers": [str(m) for m in route.matchers],
        "group_by": list(route.group_by) if route.group_by is not None else None,
        "group_wait": format_duration(route.group_wait),
        "group_interval": format_duration(route.group_interval),
        "repeat_interval": format_duration(route.repeat_interval),
        "continue": route.continue_,
        "opens_incident": route.opens_incident,
    }


def _node(route: Route) -> RouteNode:
    settings = _settings(route)
    settings["continue_"] = settings.pop("continue")
    return RouteNode(**settings, routes=[_node(child) for child in route.children])


async def routing_tree(session: AsyncSession, router: Router) -> RoutingTree:
    """The effective tree (inheritance resolved), receivers without secrets, inhibit rules.

    Each receiver carries its last delivery status, read from the delivery log.
    """
    config = router.config
    statuses = await last_deliveries(session, [r.name for r in config.receivers])
    receivers = [
        ReceiverOut(
            name=receiver.name,
            integration=receiver.kind,
            # SecretStr fields dump as '**********'.
            settings=receiver.integration.model_dump(mode="json", by_alias=True)
            if receiver.integration
            else {},
            fallback=receiver.fallback,
            last_delivery=statuses[receiver.name],
        )
        for receiver in config.receivers
    ]
    return RoutingTree(
        route=_node(router.compiled.tree),
        receivers=receivers,
        inhibit_rules=[rule.model_dump(mode="json") for rule in config.inhibit_rules],
    )


async def incidents(
    session: AsyncSession, *, system_id: str | None, status: str | None, limit: int
) -> list[IncidentOut]:
    """Incidents, newest first, with their deadlines."""
    query = select(Incident).order_by(INCIDENTS.c.opened_at.desc()).limit(limit)
    if system_id is not None:
        query = query.where(INCIDENTS.c.system_id == system_id)
    if status is not None:
        query = query.where(INCIDENTS.c.status == status)
    rows = (await session.execute(query)).scalars().all()
    ids = [row.incident_id for row in rows]
    deadlines: dict[str, list[DeadlineOut]] = {i: [] for i in ids}
    if ids:
        for deadline in (
            await session.execute(
                select(Deadline)
                .where(DEADLINES.c.incident_id.in_(ids))
                .order_by(DEADLINES.c.due_at)
            )
        ).scalars():
            deadlines[deadline.incident_id].append(DeadlineOut.model_validate(deadline))
    return [
        IncidentOut.model_validate(row).model_copy(update={"deadlines": deadlines[row.incident_id]})
        for row in rows
    ]


async def deliveries(
    session: AsyncSession,
    *,
    system_id: str | None,
    notification_id: str | None,
    receiver: str | None,
    limit: int,
) -> list[DeliveryOut]:
    """The delivery log, newest attempt first."""
    query = (
        select(
            ATTEMPTS.c.notification_id,
            NOTIFICATIONS.c.kind,
            NOTIFICATIONS.c.system_id,
            NOTIFICATIONS.c.route,
            ATTEMPTS.c.receiver,
            ATTEMPTS.c.channel,
            NOTIFICATIONS.c.incident_id,
            ATTEMPTS.c.attempt,
            ATTEMPTS.c.outcome,
            ATTEMPTS.c.status_code,
            ATTEMPTS.c.error,
            ATTEMPTS.c.retryable,
            ATTEMPTS.c.latency_ms,
            ATTEMPTS.c.attempted_at,
        )
        .join(NOTIFICATIONS, NOTIFICATIONS.c.notification_id == ATTEMPTS.c.notification_id)
        .order_by(ATTEMPTS.c.attempted_at.desc(), ATTEMPTS.c.id.desc())
        .limit(limit)
    )
    if system_id is not None:
        query = query.where(NOTIFICATIONS.c.system_id == system_id)
    if notification_id is not None:
        query = query.where(ATTEMPTS.c.notification_id == notification_id)
    if receiver is not None:
        query = query.where(ATTEMPTS.c.receiver == receiver)
    return [DeliveryOut.model_validate(dict(row._mapping)) for row in await session.execute(query)]


async def probes(session: AsyncSession, *, system_id: str, limit: int) -> list[Probe]:
    """A system's probe runs, newest first."""
    query = (
        select(Probe)
        .where(PROBES.c.system_id == system_id)
        .order_by(PROBES.c.started_at.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars().all())
