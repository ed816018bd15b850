"""Shapes of the router's HTTP API (never the tables themselves)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

LabelSet = Annotated[dict[str, str], Field(max_length=64)]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RouteTestRequest(BaseModel):
    """A label set to run through the routing tree."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "labels": {
                        "system": "support-summarizer",
                        "tier": "high",
                        "team": "support-ml",
                        "signal": "drift",
                        "severity": "critical",
                    }
                }
            ]
        },
    )

    labels: LabelSet


class MatchedRoute(_Out):
    """A route the label set reaches, with its effective (inherited) settings."""

    id: str
    name: str
    receiver: str
    matchers: list[str]
    group_by: list[str] | None
    """None means every label (`...`)."""
    group_labels: dict[str, str]
    group_key: str
    group_wait: str
    group_interval: str
    repeat_interval: str
    continue_: bool = Field(alias="continue", serialization_alias="continue")
    opens_incident: bool


class RouteTestResult(BaseModel):
    """Where an alert with these labels would go (configuration only; silences not applied)."""

    labels: dict[str, str]
    fingerprint: str
    routes: list[MatchedRoute]
    receivers: list[str]
    """Distinct receivers, in route order."""


class RouteNode(BaseModel):
    """A node of the effective routing tree."""

    id: str
    name: str
    receiver: str
    matchers: list[str]
    group_by: list[str] | None
    group_wait: str
    group_interval: str
    repeat_interval: str
    continue_: bool = Field(serialization_alias="continue")
    opens_incident: bool
    routes: list[RouteNode]


class DeliveryStatus(BaseModel):
    """A receiver's last delivery attempt (from the delivery log, so durable and replica-wide)."""

    last_attempt_at: datetime
    outcome: str
    """`sent`, `failed` or `dropped` (a "null" receiver)."""
    error: str | None
    """The last attempt's error, when it failed."""
    consecutive_failures: int
    """Failed attempts since the receiver last delivered (0 when the last attempt did)."""


class ReceiverOut(BaseModel):
    """A receiver of the routing file, its settings (secrets masked) and last delivery."""

    name: str
    integration: str | None
    """`webhook`, `slack`, `pagerduty`, `email`, `inbox`, or null for a receiver that drops."""
    settings: dict[str, Any]
    fallback: str | None
    last_delivery: DeliveryStatus | None
    """None until a notification was attempted."""


class RoutingTree(BaseModel):
    """The effective routing configuration."""

    route: RouteNode
    receivers: list[ReceiverOut]
    """Receivers with their integration kind and settings; secrets are masked."""
    inhibit_rules: list[dict[str, Any]]


class SilenceRequest(BaseModel):
    """A new silence: matchers (one of them `system="<id>"`) and a time window."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "matchers": ['system="support-summarizer"', 'signal="drift"'],
                    "ends_at": "2026-11-20T14:00:00Z",
                    "comment": "Re-indexing the retrieval corpus; drift expected until 14:00.",
                }
            ]
        },
    )

    matchers: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=1000)]],
        Field(min_length=1, max_length=50),
    ]
    starts_at: AwareDatetime | None = None
    """Start of the window (now when omitted or in the past); with a UTC offset."""
    ends_at: AwareDatetime
    """End of the window, with a UTC offset; at most `AIGOV_ROUTER_MAX_SILENCE_DAYS` from now."""
    comment: Annotated[str, Field(min_length=1, max_length=4000, pattern=r"\S")]


class SilenceOut(_Out):
    """A silence."""

    silence_id: str
    system_id: str
    matchers: list[str]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    created_at: datetime
    expired_by: str | None
    active: bool = False


class DeadlineOut(_Out):
    """An SLA deadline of an incident."""

    sla: str
    due_at: datetime
    met_at: datetime | None
    breached_at: datetime | None


class IncidentOut(_Out):
    """The router's view of an incident: status, deadlines, escalation step."""

    incident_id: str
    system_id: str
    tier: str | None
    severity: str
    category: str
    summary: str
    serious: bool
    opened_by: str
    status: str
    opened_at: datetime
    acknowledged_at: datetime | None
    contained_at: datetime | None
    resolved_at: datetime | None
    escalation_step: int
    """Index of the last escalation step notified (-1: none yet)."""
    deadlines: list[DeadlineOut] = Field(default_factory=list)


class ProbeOut(_Out):
    """A monitoring-coverage probe run."""

    probe_id: str
    system_id: str
    signal: str
    """Signal of the synthetic alert (published as probe `<signal>-alert-route`)."""
    receivers: list[str]
    started_at: datetime
    completed_at: datetime | None
    ok: bool | None
    """None while deliveries are still being attempted."""
    latency_ms: float | None
    detail: str | None


class DeliveryOut(_Out):
    """One delivery attempt from the delivery log."""

    notification_id: str
    kind: str
    system_id: str
    route: str
    receiver: str
    channel: str
    incident_id: str | None
    attempt: int
    outcome: str
    status_code: int | None
    error: str | None
    retryable: bool
    latency_ms: float
    attempted_at: datetime


class InboxEntry(_Out):
    """A notification as the built-in inbox receiver stored it."""

    notification_id: str
    receiver: str
    system_id: str
    kind: str
    """`alerts`, `incident`, `escalation`, `breach` or `probe`."""
    route: str
    delivered_at: datetime
    message: dict[str, Any]
    """What was said: title, text, action, severity, signal, alerts, links (receiver-independent)."""


class InboxOut(BaseModel):
    """Inbox messages, newest first."""

    messages: list[InboxEntry]
