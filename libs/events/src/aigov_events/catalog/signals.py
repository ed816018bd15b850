"""Operational signals (`aigov.signals`): alerts, incidents and monitoring probes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import Field, ValidationInfo, field_validator

from aigov_events.catalog.base import EventPayload
from aigov_events.catalog.enums import AlertSeverity, IncidentSeverity
from aigov_events.catalog.primitives import (
    Identifier,
    Labels,
    Name,
    ReleaseVersion,
    Slug,
    Text,
    Timestamp,
    WebUrl,
)
from aigov_events.topics import SIGNALS

Summary = Annotated[str, Field(min_length=1, max_length=1000, pattern=r"\S")]


class _Alert(EventPayload):
    """Common fields of alert events (modelled on Alertmanager's alert object)."""

    alert_id: Identifier
    """Id of this firing of the alert."""
    fingerprint: Identifier
    """Identity of the alert series (same labels ⇒ same fingerprint); the router dedups on it."""
    version: ReleaseVersion | None = None
    """Release the alert is about, when known."""
    signal: Slug
    """What kind of signal fired (see `KNOWN_SIGNALS`)."""
    severity: AlertSeverity
    summary: Summary
    labels: Labels = Field(default_factory=dict)
    """Routing labels; the routing tree matches on them."""
    value: float | None = None
    """Observed value of the monitored quantity."""
    threshold: float | None = None
    """Threshold the value crossed."""
    source_url: WebUrl | None = None
    """Dashboard or runbook showing the signal."""
    starts_at: Timestamp


class AlertRaised(_Alert):
    """A monitoring alert started firing for an AI system (drift, safety, prompt injection, ...)."""

    event_type = "io.aigov.alert.raised.v1"
    topic = SIGNALS
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "alert_id": "a-20261120-0931-drift",
        "fingerprint": "3f2a9c1d7e6b5a40",
        "signal": "drift",
        "severity": "warning",
        "summary": "Input length distribution drifted (PSI 0.31 over 24 h)",
        "labels": {"feature": "document_length", "detector": "psi"},
        "value": 0.31,
        "threshold": 0.2,
        "source_url": "https://monitoring.example.com/d/support-drift",
        "starts_at": "2026-11-20T09:31:00Z",
    }

    ends_at: Timestamp | None = None
    """When the alert will auto-resolve unless re-sent (Alertmanager `endsAt`), if known."""

    @field_validator("ends_at")
    @classmethod
    def _ends_after_start(cls, ends_at: datetime | None, info: ValidationInfo) -> datetime | None:
        if ends_at is not None:
            _check_not_before_start(ends_at, info)
        return ends_at


class AlertResolved(_Alert):
    """A firing alert stopped firing."""

    event_type = "io.aigov.alert.resolved.v1"
    topic = SIGNALS
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "alert_id": "a-20261120-0931-drift",
        "fingerprint": "3f2a9c1d7e6b5a40",
        "signal": "drift",
        "severity": "warning",
        "summary": "Input length distribution drifted (PSI 0.31 over 24 h)",
        "labels": {"feature": "document_length", "detector": "psi"},
        "value": 0.12,
        "threshold": 0.2,
        "starts_at": "2026-11-20T09:31:00Z",
        "ends_at": "2026-11-20T13:05:00Z",
    }

    ends_at: Timestamp
    """When the alert stopped firing."""

    @field_validator("ends_at")
    @classmethod
    def _ends_after_start(cls, ends_at: datetime, info: ValidationInfo) -> datetime:
        _check_not_before_start(ends_at, info)
        return ends_at


def _check_not_before_start(ends_at: datetime, info: ValidationInfo) -> None:
    starts_at = info.data.get("starts_at")
    if isinstance(starts_at, datetime) and ends_at < starts_at:
        raise ValueError("ends_at is before starts_at")


class IncidentReported(EventPayload):
    """An incident involving an AI system was reported (possibly an EU AI Act serious incident)."""

    event_type = "io.aigov.incident.reported.v1"
    topic = SIGNALS
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "incident_id": "INC-2026-0142",
        "version": "2026.11.3",
        "severity": "high",
        "category": "privacy",
        "summary": "A summary included another customer's contact details",
        "reported_by": "support agent via in-app feedback",
        "serious": False,
        "occurred_at": "2026-11-20T09:42:00Z",
    }

    incident_id: Identifier
    version: ReleaseVersion | None = None
    """Release in service when it happened, when known."""
    severity: IncidentSeverity
    """Selects the acknowledge/resolve SLAs."""
    category: Slug
    """Incident category (see `KNOWN_INCIDENT_CATEGORIES`)."""
    summary: Summary
    reported_by: Name
    """Who or what reported it, as told (the authenticated caller is the envelope's actor)."""
    serious: bool
    """Whether it is a serious incident under EU AI Act Art. 3(49), reportable under Art. 73."""
    occurred_at: Timestamp
    alert_ids: Annotated[list[Identifier], Field(max_length=50)] = Field(default_factory=list)
    """Alerts that led to the incident."""


class IncidentAcknowledged(EventPayload):
    """Someone (the envelope's actor) took ownership of an incident; stops the acknowledge SLA."""

    event_type = "io.aigov.incident.acknowledged.v1"
    topic = SIGNALS
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "incident_id": "INC-2026-0142",
        "note": "Investigating retrieval scoping.",
    }

    incident_id: Identifier
    note: Text | None = None


class IncidentContained(EventPayload):
    """The harm from an incident was stopped from spreading, before the root cause is fixed."""

    event_type = "io.aigov.incident.contained.v1"
    topic = SIGNALS
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "incident_id": "INC-2026-0142",
        "note": "Cross-case retrieval disabled; summaries limited to the open case's documents.",
    }

    incident_id: Identifier
    note: Text
    """What was done to contain it."""


class IncidentResolved(EventPayload):
    """An incident was resolved; stops its SLA timers and escalation."""

    event_type = "io.aigov.incident.resolved.v1"
    topic = SIGNALS
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "incident_id": "INC-2026-0142",
        "resolution": "Retrieval filter now scopes documents by case id; regression test added.",
        "root_cause": "Corpus query was missing the tenant filter for attachments.",
    }

    incident_id: Identifier
    resolution: Text
    root_cause: Text | None = None


class MonitoringProbeCompleted(EventPayload):
    """A monitoring-coverage probe checked that a system's required monitoring is in place."""

    event_type = "io.aigov.monitoring.probe.completed.v1"
    topic = SIGNALS
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "probe": "drift-alert-rule-present",
        "ok": False,
        "detail": "No alert rule with signal=drift has evaluated in the last 24 h.",
        "observed_at": "2026-11-21T06:00:00Z",
    }

    probe: Slug
    """Probe name."""
    ok: bool
    detail: Text | None = None
    observed_at: Timestamp
