"""The router's tables (PostgreSQL schema `router`; one SQLite file in the embedded mode).

Everything the router must remember across restarts lives here, timers included: the
projection of systems, alerts and their groups (Alertmanager's in-memory state), silences,
notifications and every delivery attempt, the local inbox, incidents and their deadlines, the timer queue
the scheduler works from, and the outbox of events to publish.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import JSON, Column, Index, MetaData
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from aigov_runtime.database import UtcDateTime, table_of
from aigov_runtime.idempotency import processed_events_table

SCHEMA: Final = "router"

# A registry of our own: in the embedded mode all services share one process, and other
# services have tables called `systems` or `incidents` too.
metadata = MetaData()


class RouterTable(SQLModel, registry=registry(metadata=metadata)):
    """Base of the router's tables (kept out of `SQLModel.metadata`)."""


def _at(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(UtcDateTime(), nullable=nullable, index=index))


def _at_optional() -> Any:
    return Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class SystemInfo(RouterTable, table=True):
    """What the router knows about an AI system, from system.* and tier.assigned events."""

    __tablename__ = "systems"

    system_id: str = Field(primary_key=True, max_length=63)
    owner: str | None = Field(default=None, max_length=200)
    team: str | None = Field(default=None, max_length=200)
    oncall: str | None = Field(default=None, max_length=200)
    tier: str | None = Field(default=None, max_length=20)
    regions: list[str] = _json(list)
    use_cases: list[str] = _json(list)
    """Use-case category and Annex III areas (decide the Article 73 deadline)."""
    incident_slas: list[dict[str, Any]] = _json(list)
    """The tiering policy's per-severity acknowledge/resolve minutes."""
    monitoring_signals: list[str] = _json(list)
    """Signals the tiering policy requires monitoring for (one probe each)."""
    retired: bool = False
    updated_at: datetime = _at()


class Alert(RouterTable, table=True):
    """The latest state of an alert series (one row per fingerprint)."""

    __tablename__ = "alerts"

    fingerprint: str = Field(primary_key=True, max_length=32)
    system_id: str = Field(max_length=63, index=True)
    alert_id: str = Field(max_length=128)
    labels: dict[str, str] = _json(dict)
    summary: str = Field(max_length=1000)
    source_url: str | None = Field(default=None, max_length=2000)
    status: str = Field(max_length=10)  # firing | resolved
    starts_at: datetime = _at()
    ends_at: datetime | None = _at_optional()
    updated_at: datetime = _at()


class AlertGroup(RouterTable, table=True):
    """An aggregation group: a route and group labels, with its notification log entry."""

    __tablename__ = "alert_groups"

    group_key: str = Field(primary_key=True, max_length=200)
    route_id: str = Field(max_length=100)
    route_name: str = Field(max_length=100)
    receiver: str = Field(max_length=100)
    system_id: str = Field(max_length=63, index=True)
    group_labels: dict[str, str] = _json(dict)
    opens_incident: bool = False
    created_at: datetime = _at()
    last_flush_at: datetime | None = _at_optional()
    notified_at: datetime | None = _at_optional()
    notified_firing: list[str] = _json(list)
    notified_resolved: list[str] = _json(list)


class GroupMember(RouterTable, table=True):
    """An alert belongs to a group (an alert is in several groups when routes `continue`)."""

    __tablename__ = "group_members"

    group_key: str = Field(primary_key=True, max_length=200)
    fingerprint: str = Field(primary_key=True, max_length=32, index=True)


class Silence(RouterTable, table=True):
    """Matchers and a time window during which matching alerts are not notified."""

    __tablename__ = "silences"

    silence_id: str = Field(primary_key=True, max_length=64)
    system_id: str = Field(max_length=63, index=True)
    matchers: list[str] = _json(list)
    starts_at: datetime = _at()
    ends_at: datetime = _at(index=True)
    created_by: str = Field(max_length=200)
    comment: str = Field(max_length=4000)
    created_at: datetime = _at()
    expired_by: str | None = Field(default=None, max_length=200)


class Notification(RouterTable, table=True):
    """One message to one receiver, delivered with retries (`notification_id` is stable)."""

    __tablename__ = "notifications"

    notification_id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=20)  # alerts | incident | escalation | breach | probe
    system_id: str = Field(max_length=63, index=True)
    route: str = Field(max_length=100)
    receiver: str = Field(max_length=100)
    channel: str = Field(max_length=20)
    group_key: str | None = Field(default=None, max_length=200)
    incident_id: str | None = Field(default=None, max_length=128)
    probe_id: str | None = Field(default=None, max_length=64, index=True)
    message: dict[str, Any] = _json(dict)
    """What to say, receiver-independent (rendered per integration at delivery time)."""
    status: str = Field(max_length=10)  # pending | sent | failed | dropped (null receiver)
    attempts: int = 0
    fallback_of: str | None = Field(default=None, max_length=64)
    created_at: datetime = _at(index=True)
    updated_at: datetime = _at()


class DeliveryAttempt(RouterTable, table=True):
    """The delivery log: the outcome of every attempt to deliver a notification."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (
        Index("ix_delivery_attempts_at", "attempted_at"),
        # A receiver's last delivery status (`GET /v1/routes`) reads its newest attempts.
        Index("ix_delivery_attempts_receiver_at", "receiver", "attempted_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    notification_id: str = Field(max_length=64, index=True)
    attempt: int
    receiver: str = Field(max_length=100)
    channel: str = Field(max_length=20)
    outcome: str = Field(max_length=10)  # sent | failed | dropped
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=4000)
    retryable: bool = False
    latency_ms: float
    attempted_at: datetime = _at()


class InboxMessage(RouterTable, table=True):
    """A notification delivered to a built-in inbox receiver (the newest N per receiver kept)."""

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_receiver_id", "receiver", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    notification_id: str = Field(max_length=64, unique=True)
    receiver: str = Field(max_length=100)
    system_id: str = Field(max_length=63, index=True)
    kind: str = Field(max_length=20)
    route: str = Field(max_length=100)
    incident_id: str | None = Field(default=None, max_length=128)
    message: dict[str, Any] = _json(dict)
    """The notification's message, as the integrations would render it."""
    delivered_at: datetime = _at(index=True)


class Incident(RouterTable, table=True):
    """An incident, its progress, and where its escalation chain stands."""

    __tablename__ = "incidents"

    incident_id: str = Field(primary_key=True, max_length=128)
    system_id: str = Field(max_length=63, index=True)
    tier: str | None = Field(default=None, max_length=20)
    severity: str = Field(max_length=20)
    category: str = Field(max_length=64)
    summary: str = Field(max_length=1000)
    serious: bool = False
    opened_by: str = Field(max_length=20)  # report | alert
    status: str = Field(max_length=20)  # open | acknowledged | contained | resolved
    opened_at: datetime = _at()
    acknowledged_at: datetime | None = _at_optional()
    contained_at: datetime | None = _at_optional()
    resolved_at: datetime | None = _at_optional()
    escalation_step: int = 0
    """Index of the last escalation step notified (0 = the first step, usually the owner)."""


class Deadline(RouterTable, table=True):
    """An SLA deadline of an incident (acknowledge, contain, resolve, eu-ai-act-art73-report)."""

    __tablename__ = "deadlines"

    incident_id: str = Field(primary_key=True, max_length=128)
    sla: str = Field(primary_key=True, max_length=64)
    due_at: datetime = _at()
    met_at: datetime | None = _at_optional()
    breached_at: datetime | None = _at_optional()


class Timer(RouterTable, table=True):
    """Something to do at `due_at`; the scheduler leases due timers so replicas never collide."""

    __tablename__ = "timers"

    kind: str = Field(
        primary_key=True, max_length=20
    )  # flush | deliver | deadline | escalate | probe
    ref: str = Field(primary_key=True, max_length=250)
    due_at: datetime = _at(index=True)
    lease_until: datetime | None = _at_optional()
    lease_owner: str | None = Field(default=None, max_length=64)


class OutboxEvent(RouterTable, table=True):
    """An event written in the transaction that caused it, published by the relay afterwards."""

    __tablename__ = "outbox"

    event_id: str = Field(primary_key=True, max_length=64)
    event_type: str = Field(max_length=200)
    payload: dict[str, Any] = _json(dict)
    occurred_at: datetime = _at(index=True)


class Probe(RouterTable, table=True):
    """A monitoring-coverage probe run: a synthetic alert through a system's route."""

    __tablename__ = "probes"

    probe_id: str = Field(primary_key=True, max_length=64)
    system_id: str = Field(max_length=63, index=True)
    signal: str = Field(max_length=64)
    """Signal of the synthetic alert; the published probe is named `<signal>-alert-route`."""
    receivers: list[str] = _json(list)
    started_at: datetime = _at()
    completed_at: datetime | None = _at_optional()
    ok: bool | None = None
    latency_ms: float | None = None
    detail: str | None = Field(default=None, max_length=4000)


processed_events = processed_events_table(metadata)


# Core views of the tables: typed column access (`ALERTS.c.status`) for queries.
SYSTEMS: Final = table_of(SystemInfo)
ALERTS: Final = table_of(Alert)
GROUPS: Final = table_of(AlertGroup)
MEMBERS: Final = table_of(GroupMember)
SILENCES: Final = table_of(Silence)
NOTIFICATIONS: Final = table_of(Notification)
ATTEMPTS: Final = table_of(DeliveryAttempt)
INBOX: Final = table_of(InboxMessage)
INCIDENTS: Final = table_of(Incident)
DEADLINES: Final = table_of(Deadline)
TIMERS: Final = table_of(Timer)
OUTBOX: Final = table_of(OutboxEvent)
PROBES: Final = table_of(Probe)
