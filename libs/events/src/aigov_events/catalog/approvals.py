"""Approval and waiver events (`aigov.lifecycle`).

The approver is never in the payload: the envelope's `actor` extension, stamped by
intake from the authenticated principal, says who decided. That is what lets the
gate enforce "approvers other than the submitter".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import Field, StringConstraints, ValidationInfo, field_validator

from aigov_events.catalog.base import ReleasePayload
from aigov_events.catalog.enums import ApprovalScope
from aigov_events.catalog.primitives import ControlId, Identifier, Slug, Text, Timestamp
from aigov_events.topics import LIFECYCLE

Evidence = Annotated[list[Text], Field(max_length=50)]

MAX_EVIDENCE_EVENT_IDS = 50
MAX_EVIDENCE_LINKS = 20

HttpsUrl = Annotated[
    str, StringConstraints(max_length=2048, pattern=r"^https://[^\s/?#\x00]+[^\s\x00]*$")
]
"""An https URL, kept verbatim (a document, a dashboard, a run page)."""

EvidenceEventIds = Annotated[list[Identifier], Field(max_length=MAX_EVIDENCE_EVENT_IDS)]
EvidenceLinks = Annotated[list[HttpsUrl], Field(max_length=MAX_EVIDENCE_LINKS)]


class _ApprovalDecision(ReleasePayload):
    """Common fields of an approver's decision on a release or a material change."""

    role: Slug = "approver"
    """Capacity the actor decides in; counted against the tier's required approvals."""
    scope: ApprovalScope = ApprovalScope.RELEASE
    material_change_id: Identifier | None = Field(default=None, validate_default=True)
    """The `change_id` of the material change decided on; required iff scope is `material_change`."""
    rationale: Text
    evidence: Evidence = Field(default_factory=list)
    """References to the evidence the decision rests on (runs, documents), as free text."""
    evidence_event_ids: EvidenceEventIds = Field(default_factory=list)
    """CloudEvents ids of the records the approver relied on (intake accepted each one for
    the same AI system), so the decision log links the approval to them."""
    evidence_links: EvidenceLinks = Field(default_factory=list)
    """https links to what the approver relied on (documents, dashboards, run pages)."""

    @field_validator("material_change_id")
    @classmethod
    def _change_id_matches_scope(cls, change_id: str | None, info: ValidationInfo) -> str | None:
        is_change = info.data.get("scope") == ApprovalScope.MATERIAL_CHANGE
        if is_change and change_id is None:
            raise ValueError("required when scope is material_change")
        if not is_change and change_id is not None:
            raise ValueError("only allowed when scope is material_change")
        return change_id


class ApprovalGranted(_ApprovalDecision):
    """An approver approved a release (or a material change) to ship."""

    event_type = "io.aigov.approval.granted.v1"
    topic = LIFECYCLE
    decides = True
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "version": "2026.11.3",
        "rationale": "Evaluation meets minimums except prompt injection, covered by waiver W-17 "
        "with input filtering as compensating control.",
        "evidence": ["release-evaluation run 8812", "model card 2026.11.3"],
    }


class ApprovalDenied(_ApprovalDecision):
    """An approver refused a release (or a material change)."""

    event_type = "io.aigov.approval.denied.v1"
    topic = LIFECYCLE
    decides = True
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "resume-screener",
        "version": "2026.2.0",
        "role": "risk-officer",
        "scope": "material_change",
        "material_change_id": "mc-resume-screener-3",
        "rationale": "New label policy not yet reviewed for disparate impact.",
    }


class ApprovalRevoked(ReleasePayload):
    """An earlier approval was withdrawn; the release needs a new approval cycle."""

    event_type = "io.aigov.approval.revoked.v1"
    topic = LIFECYCLE
    decides = True
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "version": "2026.11.3",
        "revokes": "5b0c7c1e-8f0d-4f7e-9d8a-2f0b6f7f2a11",
        "reason": "Approved before the incident review; re-approval needed.",
    }

    revokes: Identifier
    """CloudEvents `id` of the `approval.granted` event withdrawn."""
    reason: Text


WaiverId = Identifier


class WaiverRequested(ReleasePayload):
    """Someone asked to ship a release without some required controls, for a limited time."""

    event_type = "io.aigov.waiver.requested.v1"
    topic = LIFECYCLE
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "version": "2026.11.3",
        "waiver_id": "W-17",
        "controls": ["evaluation.prompt_injection"],
        "justification": "Injection success rate 0.09 exceeds the minimum; a fix ships in the "
        "next model update.",
        "compensating_controls": [
            "input filtering for instruction-like patterns",
            "summaries reviewed by an agent before sending",
        ],
        "expires_at": "2026-12-26T00:00:00Z",
    }

    waiver_id: WaiverId
    controls: Annotated[list[ControlId], Field(min_length=1, max_length=50)]
    """Control ids to waive (dotted lower-case, e.g. `evaluation.prompt_injection`)."""
    justification: Text
    compensating_controls: Annotated[list[Text], Field(max_length=20)] = Field(default_factory=list)
    expires_at: Timestamp
    """When the waiver stops covering the controls.

    Not checked against the clock here: validation must give the same answer when
    the ledger is replayed years later. Intake rejects past expiries at request time.
    """

    @field_validator("controls")
    @classmethod
    def _unique_controls(cls, controls: list[str]) -> list[str]:
        if len(set(controls)) != len(controls):
            raise ValueError("a control is listed more than once")
        return controls


class WaiverGranted(ReleasePayload):
    """A requested waiver was granted by an approver (the envelope's actor)."""

    event_type = "io.aigov.waiver.granted.v1"
    topic = LIFECYCLE
    decides = True
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "version": "2026.11.3",
        "waiver_id": "W-17",
        "rationale": "Compensating controls are adequate until the December model update.",
    }

    waiver_id: WaiverId
    rationale: Text


class WaiverRejected(ReleasePayload):
    """A requested waiver was rejected by an approver (the envelope's actor)."""

    event_type = "io.aigov.waiver.rejected.v1"
    topic = LIFECYCLE
    decides = True
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "version": "2026.11.3",
        "waiver_id": "W-18",
        "rationale": "No compensating control for PII leakage.",
    }

    waiver_id: WaiverId
    rationale: Text


class WaiverExpired(ReleasePayload):
    """A granted waiver reached its expiry; its controls count as missing again."""

    event_type = "io.aigov.waiver.expired.v1"
    topic = LIFECYCLE
    decides = True
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "version": "2026.11.3",
        "waiver_id": "W-17",
        "expired_at": "2026-12-26T00:00:00Z",
    }

    waiver_id: WaiverId
    expired_at: Timestamp
