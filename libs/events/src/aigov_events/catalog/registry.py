"""The catalog: CloudEvents `type` -> payload model, and validation that names the failing field."""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from pydantic import ValidationError

from aigov_events.catalog.approvals import (
    ApprovalDenied,
    ApprovalGranted,
    ApprovalRevoked,
    WaiverExpired,
    WaiverGranted,
    WaiverRejected,
    WaiverRequested,
)
from aigov_events.catalog.base import EventPayload
from aigov_events.catalog.decisions import GateDecided, MaterialChangeDetected, TierAssigned
from aigov_events.catalog.deployments import (
    DeploymentCompleted,
    DeploymentRequested,
    DeploymentRolledBack,
)
from aigov_events.catalog.notifications import (
    IncidentEscalated,
    NotificationFailed,
    NotificationSent,
    SilenceCreated,
    SilenceExpired,
    SlaBreached,
)
from aigov_events.catalog.releases import (
    ArtifactSubmitted,
    EvaluationCompleted,
    LineageRecorded,
    ModelVersionRegistered,
)
from aigov_events.catalog.signals import (
    AlertRaised,
    AlertResolved,
    IncidentAcknowledged,
    IncidentContained,
    IncidentReported,
    IncidentResolved,
    MonitoringProbeCompleted,
)
from aigov_events.catalog.systems import SystemRegistered, SystemRetired, SystemUpdated
from aigov_events.errors import InvalidPayload, UnknownEventType

#: Every payload model, grouped by topic in the order the catalog page lists them.
MODELS: Final[tuple[type[EventPayload], ...]] = (
    SystemRegistered,
    SystemUpdated,
    SystemRetired,
    EvaluationCompleted,
    ArtifactSubmitted,
    LineageRecorded,
    ModelVersionRegistered,
    DeploymentRequested,
    DeploymentCompleted,
    DeploymentRolledBack,
    ApprovalGranted,
    ApprovalDenied,
    ApprovalRevoked,
    WaiverRequested,
    WaiverGranted,
    WaiverRejected,
    WaiverExpired,
    AlertRaised,
    AlertResolved,
    IncidentReported,
    IncidentAcknowledged,
    IncidentContained,
    IncidentResolved,
    MonitoringProbeCompleted,
    TierAssigned,
    MaterialChangeDetected,
    GateDecided,
    NotificationSent,
    NotificationFailed,
    IncidentEscalated,
    SlaBreached,
    SilenceCreated,
    SilenceExpired,
)

ROOT: Final = "(root)"
"""Field path reported for errors about the payload as a whole (not JSON, not an object)."""


def _build_catalog() -> Mapping[str, type[EventPayload]]:
    catalog: dict[str, type[EventPayload]] = {}
    for model in MODELS:
        if model.event_type in catalog:
            other = catalog[model.event_type].__name__
            raise RuntimeError(f"{model.__name__} and {other} share type {model.event_type}")
        catalog[model.event_type] = model
    return MappingProxyType(catalog)


CATALOG: Final[Mapping[str, type[EventPayload]]] = _build_catalog()
"""CloudEvents `type` -> payload model, for every event aigov knows."""

DECISION_TYPES: Final[frozenset[str]] = frozenset(m.event_type for m in MODELS if m.decides)
"""Types of the events that decide on a release (`EventPayload.decides`), never submit it."""


def payload_model(event_type: str) -> type[EventPayload]:
    """Return the payload model of `event_type`; raise `UnknownEventType` if it has none."""
    try:
        return CATALOG[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def topic_for(event_type: str) -> str:
    """Return the topic events of `event_type` are published on; raise `UnknownEventType`."""
    return payload_model(event_type).topic


def validate_payload(event_type: str, data: object) -> EventPayload:
    """Validate `data` (a JSON-like mapping, or JSON text/bytes) as the payload of `event_type`.

    Raises `UnknownEventType`, or `InvalidPayload` listing (dotted.field.path, message)
    for every problem, e.g. `("metrics.0.value", "Input should be a valid number")`.
    """
    model = payload_model(event_type)
    if isinstance(data, model):
        return data
    if isinstance(data, str | bytes | bytearray):
        text: str | bytes | bytearray = data
    else:
        try:
            # NaN/Infinity pass through as tokens so the float field rejecting them is named.
            text = json.dumps(data)
        except (TypeError, ValueError) as exc:
            raise InvalidPayload(event_type, [(ROOT, f"not JSON data: {exc}")]) from None
    try:
        # Strict JSON validation: the model accepts exactly what its published JSON
        # Schema allows ("true" is not a boolean, 1700000000 is not a timestamp).
        return model.model_validate_json(text, strict=True)
    except ValidationError as exc:
        raise InvalidPayload(event_type, field_errors(exc)) from None


def field_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """Turn a pydantic ValidationError into (dotted.field.path, message) pairs."""
    errors: list[tuple[str, str]] = []
    for error in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(part) for part in error["loc"]) or ROOT
        message = error["msg"].removeprefix("Value error, ")
        errors.append((path, message))
    return errors
