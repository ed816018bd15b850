"""Signing in to the dashboard of the evidence harness, and the events its pages show."""

from __future__ import annotations

import copy
from typing import Any, Final

import httpx

from aigov_events.catalog import (
    IncidentEscalated,
    IncidentReported,
    NotificationFailed,
    NotificationSent,
    SystemRegistered,
)
from aigov_events.catalog.manifest import AISystemManifest
from aigov_events.message import DomainEvent, new_event
from aigov_evidence.dashboard.session import COOKIE
from tests.unit.evidence import events as ev
from tests.unit.evidence.harness import Harness

ORIGIN: Final = "http://testserver"
#: Every page that needs a session (the sign-in page and the assets do not).
PAGES: Final = (
    "/dashboard",
    "/dashboard?q=x&tier=high&team=t&gate=deny",
    "/dashboard/systems/support-summarizer",
    "/dashboard/systems/support-summarizer?version=2026.11.3",
    "/dashboard/queues",
    "/dashboard/kpis",
    "/dashboard/kpis?period=month&tier=high",
    "/dashboard/systems/support-summarizer/releases/2026.11.3/documents/system-card",
)


async def sign_in_response(
    harness: Harness, token: str, *, next_page: str | None = None
) -> httpx.Response:
    """POST the sign-in form as the browser does (same origin), keeping no cookie."""
    data = {"token": token}
    if next_page is not None:
        data["next"] = next_page
    response = await harness.client.post(
        "/dashboard/sign-in", data=data, headers={"Origin": ORIGIN}
    )
    harness.client.cookies.clear()
    return response


async def sign_in(harness: Harness, token: str, *, next_page: str | None = None) -> str | None:
    """The session cookie's value after signing in with `token` (None if refused)."""
    response = await sign_in_response(harness, token, next_page=next_page)
    if response.status_code != 303:
        return None
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        if name == COOKIE:
            return rest.split(";", 1)[0]
    return None


def set_cookie(response: httpx.Response, name: str) -> str | None:
    """The whole Set-Cookie header for `name` (None when the response sets none)."""
    for header in response.headers.get_list("set-cookie"):
        if header.split("=", 1)[0] == name:
            return header
    return None


def cookie_value(response: httpx.Response, name: str) -> str | None:
    """The value `response` sets for cookie `name` (None when unset or cleared)."""
    header = set_cookie(response, name)
    if header is None:
        return None
    value = header.split("=", 1)[1].split(";", 1)[0].strip('"')
    return value or None


def cookie_header(value: str) -> dict[str, str]:
    """The Cookie header carrying a session cookie."""
    return {"Cookie": f"{COOKIE}={value}"}


def body_of(response: httpx.Response) -> str:
    """The page's HTML (asserting it is one)."""
    assert response.headers["content-type"].startswith("text/html"), response.text[:500]
    return response.text


def registered(
    system_id: str, *, name: str, team: str, owner: str = "dana.kim@example.com"
) -> DomainEvent[SystemRegistered]:
    """system.registered with the example manifest under another id, name, team and owner."""
    manifest = copy.deepcopy(dict(SystemRegistered.example["manifest"]))
    manifest["metadata"] = {
        **manifest["metadata"],
        "id": system_id,
        "name": name,
        "team": team,
        "owner": owner,
    }
    model = AISystemManifest.model_validate(manifest)
    payload = SystemRegistered(
        system_id=system_id, revision=1, manifest_sha256=model.content_sha256(), manifest=model
    )
    return new_event(payload, source=ev.SOURCE, actor=ev.OWNER)


def incident(system_id: str, incident_id: str) -> DomainEvent[IncidentReported]:
    """incident.reported (high severity) for the system."""
    payload = IncidentReported.model_validate(
        {**IncidentReported.example, "system_id": system_id, "incident_id": incident_id}
    )
    return new_event(payload, source=ev.SOURCE, actor=ev.OWNER)


def escalated(system_id: str, incident_id: str, *, level: int, to: str) -> DomainEvent[Any]:
    """incident.escalated by the monitoring router."""
    payload = IncidentEscalated(
        system_id=system_id, incident_id=incident_id, level=level, to=to, reason="no ack"
    )
    return new_event(payload, source="/aigov/monitoring-router", actor="aigov-monitoring-router")


def notified(
    system_id: str,
    receiver: str,
    *,
    channel: str = "inbox",
    error: str | None = None,
    attempt: int = 1,
) -> DomainEvent[Any]:
    """notification.sent by the monitoring router (notification.failed when `error` is given)."""
    fields: dict[str, Any] = {
        "system_id": system_id,
        "notification_id": f"n-{receiver}",
        "route": "support-ml/critical",
        "receiver": receiver,
        "channel": channel,
        "incident_id": "INC-1",
        "attempt": attempt,
    }
    payload: NotificationSent | NotificationFailed = (
        NotificationSent(**fields)
        if error is None
        else NotificationFailed(**fields, error=error, retryable=False)
    )
    return new_event(payload, source="/aigov/monitoring-router", actor="aigov-monitoring-router")
