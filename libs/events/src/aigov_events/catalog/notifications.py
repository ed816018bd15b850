"""Notification and escalation events (`aigov.notifications`), written by the monitoring router."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import Field, ValidationInfo, field_validator

from aigov_events.catalog.base import EventPayload
from aigov_events.catalog.enums import Channel
from aigov_events.catalog.primitives import Identifier, Name, Slug, Text, Timestamp
from aigov_events.topics import NOTIFICATIONS


class _Notification(EventPayload):
    """Common fields of the delivery outcome of one notification."""

    notification_id: Identifier
    """Id of the notification; the same across its retries."""
    route: Name
    """Routing-tree route that matched."""
    receiver: Name
    """Receiver the route delivers to (a team's Slack channel, a PagerDuty service, ...)."""
    channel: Channel
    alert_fingerprints: Annotated[list[Identifier], Field(max_length=500)] = Field(
        default_factory=list
    )
    """Alerts grouped into this notification."""
    incident_id: Identifier | None = None
    """Incident the notification is about, if any."""
    attempt: Annotated[int, Field(ge=1, le=100)]
    """Attempts made so far (1 for the first try): the one that succeeded, or every one made
    before the notification failed."""


class NotificationSent(_Notification):
    """A notification was delivered to its receiver."""

    event_type = "io.aigov.notification.sent.v1"
    topic = NOTIFICATIONS
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "notification_id": "n-7c1d0e5a",
        "route": "support-ml/warning",
        "receiver": "slack-support-ml",
        "channel": "slack",
        "alert_fingerprints": ["3f2a9c1d7e6b5a40"],
        "attempt": 1,
    }


class NotificationFailed(_Notification):
    """A notification could not be delivered after `attempt` attempts (retries exhausted or a permanent error)."""

    # Published once per notification, when it is settled as failed; the failed attempts
    # before it stay in the monitoring router's delivery log (`GET /v1/deliveries`).

    event_type = "io.aigov.notification.failed.v1"
    topic = NOTIFICATIONS
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "notification_id": "n-9e4f2b11",
        "route": "support-ml/critical",
        "receiver": "pagerduty-support-ml",
        "channel": "pagerduty",
        "incident_id": "INC-2026-0142",
        "attempt": 5,
        "error": "HTTP 503 from events.pagerduty.com",
        "retryable": False,
    }

    error: Text
    """The error of the last attempt."""
    retryable: bool
    """Whether another attempt is scheduled; the monitoring router publishes a failure only
    once it is settled, so its events say false."""
    next_attempt_at: Timestamp | None = Field(default=None, validate_default=True)
    """When the next attempt is scheduled; present iff retryable."""

    @field_validator("next_attempt_at")
    @classmethod
    def _scheduled_iff_retryable(
        cls, next_attempt_at: datetime | None, info: ValidationInfo
    ) -> datetime | None:
        retryable = info.data.get("retryable")
        if retryable is True and next_attempt_at is None:
            raise ValueError("required when retryable")
        if retryable is False and next_attempt_at is not None:
            raise ValueError("only allowed when retryable")
        return next_attempt_at


class IncidentEscalated(EventPayload):
    """An incident was escalated to the next level because an SLA ran out."""

    event_type = "io.aigov.incident.escalated.v1"
    topic = NOTIFICATIONS
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "incident_id": "INC-2026-0142",
        "level": 2,
        "to": "support-ml-engineering-manager",
        "reason": "Not acknowledged within 15 minutes.",
    }

    incident_id: Identifier
    level: Annotated[int, Field(ge=1, le=10)]
    """Escalation level reached (1 is the first escalation beyond on-call)."""
    to: Name
    """Receiver the incident escalated to."""
    reason: Text | None = None


class SlaBreached(EventPayload):
    """An incident missed an SLA deadline (acknowledge, contain, resolve, ...)."""

    event_type = "io.aigov.sla.breached.v1"
    topic = NOTIFICATIONS
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "incident_id": "INC-2026-0142",
        "sla": "acknowledge",
        "due_at": "2026-11-20T09:57:00Z",
        "breached_at": "2026-11-20T09:57:00Z",
    }

    incident_id: Identifier
    sla: Slug
    """Name of the SLA (`acknowledge`, `resolve`)."""
    due_at: Timestamp
    breached_at: Timestamp
    """When the breach was detected (at or after `due_at`)."""

    @field_validator("breached_at")
    @classmethod
    def _not_before_due(cls, breached_at: datetime, info: ValidationInfo) -> datetime:
        due_at = info.data.get("due_at")
        if isinstance(due_at, datetime) and breached_at < due_at:
            raise ValueError("breached_at is before due_at")
        return breached_at


class SilenceCreated(EventPayload):
    """An operator silenced a system's alerts for a time window (audited like any decision)."""

    event_type = "io.aigov.silence.created.v1"
    topic = NOTIFICATIONS
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "silence_id": "s-4b1e9f20",
        "matchers": ['system="support-summarizer"', 'signal="drift"'],
        "starts_at": "2026-11-20T10:00:00Z",
        "ends_at": "2026-11-20T14:00:00Z",
        "created_by": "dana.kim",
        "comment": "Re-indexing the retrieval corpus; drift expected until 14:00.",
    }

    silence_id: Identifier
    matchers: Annotated[list[Text], Field(min_length=1, max_length=50)]
    """Alertmanager-style matchers (`name="v"`, `!=`, `=~`, `!~`); all must match."""
    starts_at: Timestamp
    ends_at: Timestamp
    created_by: Name
    """Authenticated principal that created the silence."""
    comment: Text

    @field_validator("ends_at")
    @classmethod
    def _ends_after_start(cls, ends_at: datetime, info: ValidationInfo) -> datetime:
        starts_at = info.data.get("starts_at")
        if isinstance(starts_at, datetime) and ends_at <= starts_at:
            raise ValueError("ends_at is not after starts_at")
        return ends_at


class SilenceExpired(EventPayload):
    """A silence stopped muting alerts: expired early by an operator, or its window ended."""

    event_type = "io.aigov.silence.expired.v1"
    topic = NOTIFICATIONS
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "silence_id": "s-4b1e9f20",
        "expired_at": "2026-11-20T12:30:00Z",
        "expired_by": "dana.kim",
    }

    silence_id: Identifier
    expired_at: Timestamp
    expired_by: Name | None = None
    """Principal that expired it early; absent when the window simply ended."""
