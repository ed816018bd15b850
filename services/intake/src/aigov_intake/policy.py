"""Who may send which event through intake, and which events intake accepts at all.

Intake writes `aigov.lifecycle` and `aigov.signals` only: decisions and notifications are
produced by aigov's own services, so a client cannot forge a tier or a gate decision.
`monitoring.probe.completed` travels on `aigov.signals` but is the monitoring router's own
(it satisfies monitoring controls), so it is refused from clients just the same.
The role a type needs is the same whichever endpoint the event arrives through, so the
generic `/v1/events` cannot be used to get around a typed endpoint's role check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from aigov_events.catalog import (
    ApprovalDenied,
    ApprovalGranted,
    ApprovalRevoked,
    EventPayload,
    IncidentAcknowledged,
    IncidentContained,
    IncidentReported,
    IncidentResolved,
    MonitoringProbeCompleted,
    SystemRegistered,
    SystemRetired,
    SystemUpdated,
    WaiverExpired,
    WaiverGranted,
    WaiverRejected,
    WaiverRequested,
)
from aigov_events.topics import LIFECYCLE, SIGNALS
from aigov_runtime.auth import Principal, Role

#: Topics intake publishes to (architecture brief).
INTAKE_TOPICS: Final = frozenset({LIFECYCLE, SIGNALS})

#: Types on intake's topics that only aigov's own services produce (straight to the bus).
SERVICE_ONLY_TYPES: Final = frozenset({MonitoringProbeCompleted.event_type})

_DEFAULT_ROLES: Final = frozenset({Role.PUBLISHER})

#: Event types that need something other than the publisher role (admin always qualifies).
ROLES_BY_TYPE: Final[Mapping[str, frozenset[Role]]] = {
    payload.event_type: roles
    for payloads, roles in (
        (
            (ApprovalGranted, ApprovalDenied, ApprovalRevoked, WaiverGranted, WaiverRejected),
            frozenset({Role.APPROVER}),
        ),
        ((SystemRegistered, SystemUpdated, SystemRetired), frozenset({Role.OWNER, Role.PUBLISHER})),
        (
            (IncidentReported, IncidentAcknowledged, IncidentContained, IncidentResolved),
            frozenset({Role.OWNER, Role.PUBLISHER}),
        ),
        # A system's owner is who asks for its waivers in practice; CI (publisher) may too.
        # Deciding stays with approvers, and a requester never decides its own (`duties`).
        ((WaiverRequested,), frozenset({Role.OWNER, Role.PUBLISHER})),
        # Waivers expire by the clock; only aigov itself (or an admin) says so.
        ((WaiverExpired,), frozenset({Role.ADMIN})),
    )
    for payload in payloads
}


class NotAllowed(Exception):
    """The principal may not send this event (403)."""


class NotAcceptedHere(Exception):
    """Intake does not accept this event type from clients at all (422)."""


def roles_for(payload_type: type[EventPayload]) -> frozenset[Role]:
    """The roles, any one of which may send events of this type."""
    return ROLES_BY_TYPE.get(payload_type.event_type, _DEFAULT_ROLES)


def check_may_send(principal: Principal, payload_type: type[EventPayload]) -> None:
    """Raise NotAcceptedHere or NotAllowed unless `principal` may send this event type."""
    if payload_type.topic not in INTAKE_TOPICS or payload_type.event_type in SERVICE_ONLY_TYPES:
        raise NotAcceptedHere(
            f"{payload_type.event_type} is produced by aigov's own services and is not "
            "accepted from clients"
        )
    roles = roles_for(payload_type)
    if not principal.has_any_role(roles):
        names = ", ".join(sorted(r.value for r in roles))
        raise NotAllowed(
            f"principal {principal.name!r} may not send {payload_type.event_type} "
            f"(needs one of: {names})"
        )
