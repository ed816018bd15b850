"""The principals aigov's own services act as (the `actor` of the events they publish).

These services publish straight to the bus, never through intake, so an event carrying one of
these actors on a topic only services write (`aigov.decisions`, `aigov.notifications`) or of a
type intake refuses from clients (such as `monitoring.probe.completed`) is theirs. Intake must
never let a client principal take one of these names (the token configuration refuses them),
or a client could pass its events off as a service's.
"""

from __future__ import annotations

from typing import Final

TIERING: Final = "aigov-tiering"
"""Tier decisions and material changes."""
EVIDENCE: Final = "aigov-evidence"
"""Gate decisions and waiver expiry."""
MONITORING_ROUTER: Final = "aigov-monitoring-router"
"""Notifications, escalations, SLA breaches, silences and monitoring probe results."""

SERVICE_ACTORS: Final[frozenset[str]] = frozenset({TIERING, EVIDENCE, MONITORING_ROUTER})
"""Names no client principal may have."""
