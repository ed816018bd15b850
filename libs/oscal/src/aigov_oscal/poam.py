"""Waivers as an OSCAL plan of action and milestones: one POA&M item and one risk per waiver.

The risk is the control(s) the waiver lets a release ship without: its `status` follows the
waiver (requested: deviation-requested; granted and unexpired: deviation-approved; rejected or
expired: open, since nothing covers the control any more), its `deadline` is the expiry and
each compensating control is a mitigating factor. Who requested and who decided are props.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, Protocol
from urllib.parse import quote

from aigov_oscal.ids import oscal_uuid
from aigov_oscal.metadata import AIGOV_NS, Property, metadata, prop, timestamp

POAM_PATH: Final = "/v1/oscal/poam"
"""Where the evidence service serves POA&M documents (links from assessment results)."""

#: OSCAL risk status of each effective waiver status.
RISK_STATUS: Final[dict[str, str]] = {
    "requested": "deviation-requested",
    "granted": "deviation-approved",
    "rejected": "open",
    "expired": "open",
}


class WaiverRecord(Protocol):
    """A waiver as the waivers projection holds it."""

    @property
    def waiver_id(self) -> str: ...
    @property
    def system_id(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def controls(self) -> Sequence[str]: ...
    @property
    def justification(self) -> str: ...
    @property
    def compensating_controls(self) -> Sequence[str]: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def status(self) -> str: ...
    @property
    def requested_by(self) -> str: ...
    @property
    def requested_at(self) -> datetime: ...
    @property
    def decided_by(self) -> str | None: ...
    @property
    def decided_at(self) -> datetime | None: ...


def effective_status(waiver: WaiverRecord, now: datetime) -> str:
    """The waiver's status at `now`: a granted waiver past its expiry is expired."""
    if waiver.status == "granted" and waiver.expires_at <= now:
        return "expired"
    return waiver.status


def poam_item_uuid(system_id: str, waiver_id: str) -> str:
    """The uuid of a waiver's POA&M item (stable: assessment results link to it)."""
    return oscal_uuid("poam-item", system_id, waiver_id)


def poam_item_href(system_id: str, waiver_id: str) -> str:
    """A link to a waiver's POA&M item: the system's POA&M document, item uuid as fragment."""
    return f"{POAM_PATH}?system={quote(system_id)}#{poam_item_uuid(system_id, waiver_id)}"


def last_change(waivers: Sequence[WaiverRecord], now: datetime) -> datetime:
    """When the waivers last changed: requested, decided, or (before `now`) expired."""
    moments = [w.requested_at for w in waivers]
    moments += [w.decided_at for w in waivers if w.decided_at is not None]
    moments += [w.expires_at for w in waivers if w.expires_at <= now]
    return max(moments)


def _props(waiver: WaiverRecord, status: str) -> list[Property]:
    props = [
        prop("waiver-id", waiver.waiver_id),
        prop("system", waiver.system_id),
        prop("release", waiver.version),
        prop("waiver-status", status),
        prop("recorded-waiver-status", waiver.status),
    ]
    props += [prop("control-id", control) for control in waiver.controls]
    props += [prop("compensating-control", c) for c in waiver.compensating_controls]
    props += [
        prop("expires-at", timestamp(waiver.expires_at)),
        prop("requested-by", waiver.requested_by),
        prop("requested-at", timestamp(waiver.requested_at)),
    ]
    if waiver.decided_by is not None:
        props.append(prop("decided-by", waiver.decided_by))
    if waiver.decided_at is not None:
        props.append(prop("decided-at", timestamp(waiver.decided_at)))
    return props


def _risk(waiver: WaiverRecord, status: str) -> dict[str, Any]:
    controls = ", ".join(waiver.controls)
    risk: dict[str, Any] = {
        "uuid": oscal_uuid("risk", waiver.system_id, waiver.waiver_id),
        "title": f"{controls} not satisfied by evidence for {waiver.system_id} {waiver.version}",
        "description": waiver.justification,
        "statement": (
            f"Release {waiver.version} of {waiver.system_id} may ship without evidence for "
            f"{controls} while waiver {waiver.waiver_id} is granted and unexpired "
            f"(until {timestamp(waiver.expires_at)}); the waiver is {status}."
        ),
        "props": [prop("waiver-id", waiver.waiver_id)],
        "status": RISK_STATUS.get(status, "open"),
        "deadline": timestamp(waiver.expires_at),
    }
    if waiver.compensating_controls:
        risk["mitigating-factors"] = [
            {
                "uuid": oscal_uuid("mitigating-factor", waiver.system_id, waiver.waiver_id, c),
                "description": c,
                "props": [prop("compensating-control", c)],
            }
            for c in waiver.compensating_controls
        ]
    return risk


def _item(waiver: WaiverRecord, status: str, risk_uuid: str) -> dict[str, Any]:
    return {
        "uuid": poam_item_uuid(waiver.system_id, waiver.waiver_id),
        "title": (
            f"Waiver {waiver.waiver_id}: {', '.join(waiver.controls)} "
            f"({waiver.system_id} {waiver.version}, {status})"
        ),
        "description": waiver.justification,
        "props": _props(waiver, status),
        "links": [
            {
                "href": f"/v1/waivers?system={quote(waiver.system_id)}",
                "rel": "waivers",
                "media-type": "application/json",
                "text": "The waiver in aigov's waiver listing",
            }
        ],
        "related-risks": [{"risk-uuid": risk_uuid}],
    }


def build_poam(
    waivers: Sequence[WaiverRecord],
    *,
    now: datetime,
    system_id: str | None = None,
    truncated_at: int | None = None,
) -> dict[str, Any]:
    """The `{"plan-of-action-and-milestones": ...}` document of `waivers` (at least one).

    `system_id` scopes the document to one system (its `system-id`); `truncated_at` says the
    listing stopped at that many waivers (a metadata prop and remark say so).
    """
    if not waivers:
        raise ValueError("an OSCAL POA&M needs at least one item")
    risks, items = [], []
    for waiver in waivers:
        status = effective_status(waiver, now)
        risk = _risk(waiver, status)
        risks.append(risk)
        items.append(_item(waiver, status, risk["uuid"]))
    scope = system_id if system_id is not None else "every system"
    props = [prop("system", system_id)] if system_id is not None else []
    remarks = None
    if truncated_at is not None:
        props.append(prop("truncated", "true"))
        remarks = f"Only the first {truncated_at} waivers by expiry are listed."
    document: dict[str, Any] = {
        "uuid": oscal_uuid("poam", system_id or ""),
        "metadata": metadata(
            f"aigov waivers of {scope}",
            last_modified=last_change(waivers, now),
            version=timestamp(last_change(waivers, now)),
            props=props,
            remarks=remarks,
        ),
    }
    if system_id is not None:
        document["system-id"] = {"identifier-type": f"{AIGOV_NS}/system-id", "id": system_id}
    document["risks"] = risks
    document["poam-items"] = items
    return {"plan-of-action-and-milestones": document}
