"""A release's control status as OSCAL assessment results: one result, a finding per control.

A finding targets the control's statement part in the catalog (`<control>_smt`): satisfied
controls are `satisfied`, missing and waived ones `not-satisfied` (no evidence satisfied
them); a waived finding carries the `control-state` prop `waived`, the waiver's props and a
link to its POA&M item. Each ledger record a control's status names is an observation with
the event's id, type, times and a link to `/v1/events/{id}` on the evidence service.

OSCAL requires `import-ap` (the assessment plan). aigov has no OSCAL assessment plan: what
plans the assessment is the tier decision that lists the required controls, so `import-ap`
points at that `tier.assigned` record in the ledger, and a remark says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Protocol
from urllib.parse import quote

from aigov_events.catalog.decisions import PolicyRef
from aigov_oscal.catalog import statement_id
from aigov_oscal.ids import oscal_uuid, token
from aigov_oscal.metadata import Property, link, metadata, prop, timestamp
from aigov_oscal.poam import poam_item_href, poam_item_uuid

EVENTS_PATH: Final = "/v1/events/"
"""Where the evidence service answers for one ledger record."""
#: Event types that record a test being run (OSCAL method TEST); the rest are examined.
TESTED_TYPES: Final = frozenset(
    {"io.aigov.evaluation.completed.v1", "io.aigov.monitoring.probe.completed.v1"}
)


class ControlResult(Protocol):
    """One required control's state for the release, as the evidence service computed it."""

    @property
    def control_id(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def state(self) -> str: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def evidence_ids(self) -> Sequence[str]: ...
    @property
    def waiver_id(self) -> str | None: ...
    @property
    def waiver_expires_at(self) -> datetime | None: ...


class EvidenceRecord(Protocol):
    """A ledger record a control's status names."""

    @property
    def event_id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def sequence(self) -> int: ...
    @property
    def time(self) -> datetime: ...
    @property
    def actor(self) -> str: ...
    @property
    def recorded_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class AssessedRelease:
    """What is assessed: the release, the tier decision it is measured against, and when."""

    system_id: str
    version: str
    tier: str
    policy: PolicyRef
    tier_event_id: str
    started: datetime
    """Start of the evidence this assessment reflects (the release's first event)."""
    last_modified: datetime
    """When what the assessment reads last changed (the document's `last-modified`)."""
    pending_changes: Sequence[str] = field(default_factory=tuple)
    """Ids of material changes awaiting approval (they block the gate, not a control)."""


def event_href(record: EvidenceRecord) -> str:
    """The evidence service's URL of the record (`GET /v1/events/{id}?source=`)."""
    return f"{EVENTS_PATH}{quote(record.event_id, safe='')}?source={quote(record.source, safe='')}"


def _observation_uuid(system_id: str, record: EvidenceRecord) -> str:
    return oscal_uuid("observation", system_id, record.source, record.event_id)


def _observation(system_id: str, record: EvidenceRecord) -> dict[str, Any]:
    short_type = record.type.removeprefix("io.aigov.").removesuffix(".v1")
    return {
        "uuid": _observation_uuid(system_id, record),
        "title": f"{short_type} {record.event_id}",
        "description": (
            f"Ledger record {record.sequence} of {system_id}: {record.type} from {record.actor}."
        ),
        "props": [
            prop("event-id", record.event_id),
            prop("event-type", record.type),
            prop("event-source", record.source),
            prop("ledger-sequence", str(record.sequence)),
            prop("actor", record.actor),
            prop("event-time", timestamp(record.time)),
        ],
        "methods": ["TEST" if record.type in TESTED_TYPES else "EXAMINE"],
        "relevant-evidence": [
            {
                "href": event_href(record),
                "description": "The ledger record (aigov evidence service).",
            }
        ],
        # When aigov recorded it: the publisher's own `time` is shown, never trusted.
        "collected": timestamp(record.recorded_at),
    }


def _description(status: ControlResult) -> str:
    if status.state == "satisfied":
        return f"Satisfied by evidence ({len(status.evidence_ids)} ledger record(s))."
    if status.state == "waived":
        expiry = timestamp(status.waiver_expires_at) if status.waiver_expires_at else "?"
        why = f" Without it: {status.reason}" if status.reason else ""
        return f"Not satisfied by evidence; waived by {status.waiver_id} until {expiry}.{why}"
    return status.reason or "No evidence satisfies this control."


def _finding(
    release: AssessedRelease, status: ControlResult, observations: dict[str, list[str]]
) -> dict[str, Any]:
    control_id = token(status.control_id)
    satisfied = status.state == "satisfied"
    props: list[Property] = [prop("control-state", status.state)]
    links = []
    if status.state == "waived" and status.waiver_id is not None:
        props.append(prop("waiver-id", status.waiver_id))
        if status.waiver_expires_at is not None:
            props.append(prop("waiver-expires-at", timestamp(status.waiver_expires_at)))
        props.append(prop("poam-item-uuid", poam_item_uuid(release.system_id, status.waiver_id)))
        links.append(
            link(
                poam_item_href(release.system_id, status.waiver_id),
                "poam-item",
                media_type="application/json",
                text=f"POA&M item of waiver {status.waiver_id}",
            )
        )
    related = [u for i in dict.fromkeys(status.evidence_ids) for u in observations.get(i, [])]
    finding: dict[str, Any] = {
        "uuid": oscal_uuid("finding", release.system_id, release.version, control_id),
        "title": status.title or control_id,
        "description": _description(status),
        "props": props,
        "target": {
            "type": "statement-id",
            "target-id": statement_id(control_id),
            "status": {
                "state": "satisfied" if satisfied else "not-satisfied",
                "reason": "pass" if satisfied else "other" if status.state == "waived" else "fail",
            },
        },
    }
    if links:
        finding["links"] = links
    if related:
        finding["related-observations"] = [{"observation-uuid": u} for u in related]
    return finding


def build_assessment_results(
    release: AssessedRelease,
    controls: Sequence[ControlResult],
    records: Sequence[EvidenceRecord],
) -> dict[str, Any]:
    """The `{"assessment-results": ...}` document of one release.

    `controls`: every control the tier decision requires, with its state; `records`: the
    ledger records their statuses name (each becomes one observation, in ledger order).
    """
    system, version = release.system_id, release.version
    ordered = sorted(records, key=lambda r: (r.sequence, r.source, r.event_id))
    observations: dict[str, list[str]] = {}
    for record in ordered:
        observations.setdefault(record.event_id, []).append(_observation_uuid(system, record))
    result: dict[str, Any] = {
        "uuid": oscal_uuid("result", system, version),
        "title": f"Control status of {system} {version}",
        "description": (
            f"Every control the {release.tier}-tier decision {release.tier_event_id} requires, "
            "measured against the evidence the ledger holds for the release."
        ),
        "start": timestamp(release.started),
        "end": timestamp(release.last_modified),
        "props": [
            prop("system", system),
            prop("release", version),
            prop("tier", release.tier),
            prop("tier-event-id", release.tier_event_id),
            *(prop("pending-material-change", c) for c in release.pending_changes),
        ],
        "reviewed-controls": {
            "control-selections": [
                {"include-controls": [{"control-id": token(c.control_id)} for c in controls]}
                if controls
                else {"description": f"The {release.tier} tier requires no controls."}
            ]
        },
    }
    if ordered:
        result["observations"] = [_observation(system, record) for record in ordered]
    if controls:
        result["findings"] = [_finding(release, c, observations) for c in controls]
    policy = release.policy
    return {
        "assessment-results": {
            "uuid": oscal_uuid("assessment-results", system, version),
            "metadata": metadata(
                f"aigov assessment of {system} {version}",
                last_modified=release.last_modified,
                version=timestamp(release.last_modified),
                props=[
                    prop("system", system),
                    prop("release", version),
                    prop("tier", release.tier),
                    prop("policy-name", policy.name),
                    prop("policy-version", policy.version),
                    prop("policy-sha256", policy.sha256),
                ],
                links=[
                    link(
                        f"/v1/oscal/profiles/{quote(release.tier)}",
                        "profile",
                        media_type="application/json",
                        text="The tier's profile (tiering service; the active policy pack)",
                    )
                ],
            ),
            "import-ap": {
                "href": f"{EVENTS_PATH}{quote(release.tier_event_id, safe='')}",
                "remarks": (
                    "aigov has no OSCAL assessment plan. The plan of this assessment is the "
                    "tier decision (tier.assigned) naming the required controls and their "
                    "evidence; this is its ledger record on the evidence service."
                ),
            },
            "results": [result],
        }
    }
