"""The OpenAPI tags of every service: routes grouped by what a user looks for.

One vocabulary for all services and the all-in-one, so the same concept (a release, an
incident) is under the same heading whichever service serves the route. Every operation
carries exactly one of these tags (`tests/unit/services/test_skeletons.py`,
`tests/unit/embedded/test_openapi_tags.py`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final


class Tag(StrEnum):
    """A heading of the API docs, named after a domain concept, not an implementation."""

    SYSTEMS = "systems"
    RELEASES = "releases"
    WAIVERS = "waivers"
    EVIDENCE = "evidence"
    INCIDENTS = "incidents"
    ROUTING = "routing"
    POLICIES = "policies"
    INTEGRATIONS = "integrations"
    OPERATIONS = "operations"


DESCRIPTIONS: Final[dict[Tag, str]] = {
    Tag.SYSTEMS: "AI systems: register a manifest, read the inventory, a system's tier and "
    "its controls.",
    Tag.RELEASES: "Releases: evaluations, artifacts, approvals and deployments of a version, "
    "its status, and the release gate.",
    Tag.WAIVERS: "Waivers: request, grant, reject and list time-boxed exceptions to a control.",
    Tag.EVIDENCE: "Evidence: publish raw CloudEvents, read the hash-chained ledger, verify it.",
    Tag.INCIDENTS: "Alerts and incidents: raise alerts, report incidents, acknowledge, contain "
    "and resolve them, follow escalation.",
    Tag.ROUTING: "Monitoring routing: the routing tree, silences, probes, deliveries and the "
    "local inbox.",
    Tag.POLICIES: "Tiering policy: the active policy pack, the control library, simulations.",
    Tag.INTEGRATIONS: "Webhooks of third-party tools (CDEvents, OpenLineage, Alertmanager, "
    "Grafana, MLflow, GitHub).",
    Tag.OPERATIONS: "Health, readiness, metrics and these docs.",
}


def openapi_tags(used: set[str]) -> list[dict[str, Any]]:
    """The top-level `tags` of an OpenAPI document: the used ones, in the vocabulary's order."""
    return [{"name": tag.value, "description": DESCRIPTIONS[tag]} for tag in Tag if tag in used]
