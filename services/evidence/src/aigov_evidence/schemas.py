"""The evidence API's response shapes (never the table classes themselves)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ApiModel(BaseModel):
    """Base of the response models."""

    model_config = ConfigDict(frozen=True)


class PolicyOut(ApiModel):
    """The policy pack a tier decision was made with."""

    name: str
    version: str
    sha256: str


class MissingControlOut(ApiModel):
    """A required control without evidence, and why."""

    control_id: str = Field(examples=["evaluation.prompt_injection"])
    reason: str


class WaivedControlOut(ApiModel):
    """A required control covered by an unexpired waiver."""

    control_id: str
    waiver_id: str
    expires_at: datetime


class PendingChangeOut(ApiModel):
    """A material change awaiting approval."""

    change_id: str
    kind: str
    reason: str
    detected_at: datetime
    event_id: str


class PendingWaiverOut(ApiModel):
    """A waiver request of the release that no approver has decided yet (one per control)."""

    waiver_id: str
    control_id: str
    requested_by: str
    requested_at: datetime | None
    expires_at: datetime


class GateOut(ApiModel):
    """The gate's answer for one release."""

    system: str
    version: str
    decision: Literal["allow", "deny"]
    tier: str | None = Field(description="The system's tier; null if it has not been tiered.")
    policy_version: str | None
    policy: PolicyOut | None
    missing_controls: list[MissingControlOut]
    waived_controls: list[WaivedControlOut]
    pending_material_changes: list[PendingChangeOut]
    pending_waivers: list[PendingWaiverOut] = Field(
        default_factory=list,
        description="Waiver requests of this release awaiting an approver (not part of the "
        "recorded decision: a request waives nothing until granted).",
    )
    reasons: list[str] = Field(description="Blocking reasons other than missing controls.")
    next_steps: list[str] = Field(description="What to do next when the answer is deny.")
    evidence_ids: list[str] = Field(description="Ledger event ids the decision relied on.")
    decided_at: datetime
    gate_event_id: str | None = Field(
        default=None,
        description="Id of the published gate.decided event, set only when recorded "
        "(POST /v1/gate/decisions about a system the inventory knows); null for a read.",
    )


class ControlOut(ApiModel):
    """One required control of a release: satisfied, waived or missing."""

    control_id: str
    title: str | None
    state: Literal["satisfied", "waived", "missing"]
    reason: str | None = Field(
        description="Why the evidence does not satisfy it (waived or missing)."
    )
    evidence_ids: list[str]
    waiver_id: str | None
    waiver_expires_at: datetime | None


class ControlsOut(ApiModel):
    """Control status of one release under its system's latest tier decision."""

    system: str
    version: str
    tier: str
    policy: PolicyOut
    tier_event_id: str | None
    submitter: str | None
    submitters: list[str] = Field(
        description="Every principal that submitted something for the release, first one "
        "first: none of them may approve it or decide its waivers."
    )
    controls: list[ControlOut]
    pending_material_changes: list[PendingChangeOut]


class LastGateOut(ApiModel):
    """The system's most recent gate decision."""

    decision: Literal["allow", "deny"]
    version: str | None
    decided_at: datetime | None
    event_id: str | None


class SystemSummaryOut(ApiModel):
    """An inventory entry."""

    id: str
    name: str | None
    owner: str | None
    team: str | None
    tier: str | None
    lifecycle_status: str
    latest_version: str | None
    last_gate: LastGateOut | None


class SystemPage(ApiModel):
    """A page of the inventory; pass `next` as `cursor` for the following page."""

    items: list[SystemSummaryOut]
    next: str | None


class SystemOut(SystemSummaryOut):
    """An inventory entry with everything the projection holds."""

    oncall: str | None
    manifest_revision: int | None
    manifest_sha256: str | None
    deployment_surfaces: list[str]
    regions: list[str]
    data_classes: list[str]
    third_party_models: list[dict[str, Any]]
    policy: PolicyOut | None
    tier_event_id: str | None
    tier_assigned_at: datetime | None
    open_incidents: int
    registered_at: datetime | None


class EvidenceOut(ApiModel):
    """One ledger record."""

    event_id: str
    type: str
    system: str
    sequence: int
    version: str | None
    time: datetime
    actor: str
    source: str
    data: Any
    event_hash: str
    prev_hash: str
    hash: str
    recorded_at: datetime


class EvidencePage(ApiModel):
    """A page of a system's ledger records in chain order."""

    items: list[EvidenceOut]
    next: str | None


class ReleaseOut(ApiModel):
    """A release with its submitters, deployment history and attached evidence."""

    system: str
    version: str
    submitter: str | None = Field(description="The first principal that submitted anything for it.")
    submitters: list[str] = Field(
        description="Every principal that submitted something for it (not a decision), first "
        "one first: none of them may approve the release or decide its waivers."
    )
    submitted_event_id: str | None
    first_seen_at: datetime
    last_event_at: datetime
    deployment_status: str | None
    deployments: list[EvidenceOut]
    evidence: list[EvidenceOut]
    pending_waivers: list[PendingWaiverOut] = Field(
        default_factory=list,
        description="Waiver requests of this release awaiting an approver, one row per control "
        "(as in the gate's answer).",
    )


class WaiverOut(ApiModel):
    """A waiver and its state."""

    waiver_id: str
    system: str
    version: str
    controls: list[str]
    justification: str
    compensating_controls: list[str]
    expires_at: datetime
    status: Literal["requested", "granted", "rejected", "expired"]
    effective_status: Literal["requested", "granted", "rejected", "expired"] = Field(
        description="`expired` as soon as `expires_at` has passed, even before the sweep ran."
    )
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None


class WaiverPage(ApiModel):
    """A page of waivers ordered by expiry."""

    items: list[WaiverOut]
    next: str | None


class CheckpointOut(ApiModel):
    """A signed checkpoint: verify `signature` over the RFC 8785 canonical JSON of `body`."""

    id: int
    created_at: datetime
    body: dict[str, Any]
    body_sha256: str
    signature: str = Field(description="Base64 Ed25519 signature.")
    public_key: str = Field(description="Base64 raw Ed25519 public key.")
    key_id: str
    algorithm: Literal["Ed25519"] = "Ed25519"
    canonicalization: Literal["RFC 8785"] = "RFC 8785"
