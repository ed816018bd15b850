"""`/v1/systems/{id}/ledger/verify`: recompute a system's chain against the signed checkpoints.

GET verifies with what the database holds; POST also takes the auditor's own copy of a
checkpoint (as `GET /v1/checkpoints/latest` served it), which catches what the database alone
cannot: checkpoints deleted together with the records they cover.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from aigov_evidence import service
from aigov_evidence.api.bodies import JsonBodyRoute
from aigov_evidence.api.deps import Reader, SnapshotSession, SystemPath, Trusted
from aigov_evidence.verification import (
    ProblemKind,
    SuppliedCheckpoint,
    UntrustedCheckpoint,
    Verification,
    check_supplied,
    verify,
)
from aigov_runtime.errors import ProblemError, problem_responses
from aigov_runtime.tags import Tag

router = APIRouter(tags=[Tag.EVIDENCE], route_class=JsonBodyRoute)

_ERRORS: Final = problem_responses(401, 403, 404, 422)


class ProblemOut(BaseModel):
    """One thing verification found wrong."""

    model_config = ConfigDict(frozen=True)

    kind: ProblemKind = Field(
        description="`forged_checkpoint` (unknown key, bad signature), `checkpoint_chain` (a "
        "checkpoint missing or inserted), `checkpoint_missing` (the supplied checkpoint is not "
        "stored), `gap`, `altered` (a record changed without re-chaining), `truncated` (the "
        "ledger ends before a checkpointed head), `rewritten` (a checkpointed head's hash "
        "differs), `chain_head` (the `chain_heads` cache disagrees with the ledger)."
    )
    detail: str = Field(description="Exactly what is wrong, with sequence and checkpoint ids.")
    sequence: int | None = Field(description="The ledger sequence the problem is at, if any.")
    checkpoint_id: int | None = Field(description="The checkpoint it concerns, if any.")


class CheckpointRefOut(BaseModel):
    """A genuine checkpoint (signature verified with a pinned key)."""

    model_config = ConfigDict(frozen=True)

    id: int | None
    created_at: str | None
    body_sha256: str = Field(description="SHA-256 of the body's RFC 8785 form.")
    key_id: str


class CheckpointsOut(BaseModel):
    """The checkpoints a verification relied on."""

    model_config = ConfigDict(frozen=True)

    verified: int = Field(description="Stored checkpoints whose signature a pinned key verifies.")
    newest: CheckpointRefOut | None = Field(description="The newest of them.")


class LedgerVerificationOut(BaseModel):
    """The outcome of verifying one system's hash chain and the signed checkpoints."""

    model_config = ConfigDict(frozen=True)

    system: str
    ok: bool = Field(description="True iff `problems` is empty.")
    records: int = Field(description="Records verified before the first break (all if intact).")
    head_sequence: int = Field(description="Sequence of the last intact record.")
    head_hash: str = Field(description="Chain hash of the last intact record.")
    broken_at: int | None = Field(
        description="Lowest sequence a problem is at; null if ok or only checkpoints are at fault."
    )
    reason: str | None = Field(description="The first problem's detail; null if ok.")
    problems: list[ProblemOut]
    checkpoints: CheckpointsOut


class AuditorCheckpointIn(BaseModel):
    """A checkpoint as `GET /v1/checkpoints/latest` served it (extra fields are ignored)."""

    model_config = ConfigDict(extra="ignore")

    id: int | None = None
    body: dict[str, Any]
    body_sha256: str | None = None
    signature: str = Field(max_length=200)
    key_id: str = Field(max_length=64)


class VerifyRequest(BaseModel):
    """An auditor's own copy of a checkpoint to verify the ledger against."""

    checkpoint: AuditorCheckpointIn


def _answer(result: Verification) -> LedgerVerificationOut:
    newest = result.newest_checkpoint
    return LedgerVerificationOut(
        system=result.system_id,
        ok=result.ok,
        records=result.records,
        head_sequence=result.head_sequence,
        head_hash=result.head_hash,
        broken_at=result.broken_at,
        reason=result.reason,
        problems=[
            ProblemOut(
                kind=p.kind, detail=p.detail, sequence=p.sequence, checkpoint_id=p.checkpoint_id
            )
            for p in result.problems
        ],
        checkpoints=CheckpointsOut(
            verified=result.checkpoints_verified,
            newest=CheckpointRefOut(
                id=newest.id,
                created_at=newest.created_at,
                body_sha256=newest.body_sha256,
                key_id=newest.key_id,
            )
            if newest is not None
            else None,
        ),
    )


async def _verified(
    session: SnapshotSession,
    system_id: str,
    trusted: Trusted,
    supplied: SuppliedCheckpoint | None = None,
) -> LedgerVerificationOut:
    result = await verify(session, system_id, trusted=trusted, supplied=supplied)
    if not result.known and await service.get_system(session, system_id) is None:
        raise ProblemError(404, f"no ledger records for AI system {system_id!r}")
    return _answer(result)


_DESCRIPTION: Final = (
    "Recomputes the system's chain from one consistent snapshot and checks every checkpoint's "
    "signature against the keys pinned in configuration (`AIGOV_EVIDENCE_TRUSTED_KEYS`, the "
    "signing key), the checkpoint chain, and that every checkpointed head of the system is "
    "reproduced. `ok`, or every problem with a precise reason."
)


@router.get(
    "/systems/{system_id}/ledger/verify",
    summary="Verify a system's hash chain and the signed checkpoints",
    response_model=LedgerVerificationOut,
    responses=_ERRORS,
    description=_DESCRIPTION,
)
async def verify_ledger(
    system_id: SystemPath, _reader: Reader, session: SnapshotSession, trusted: Trusted
) -> LedgerVerificationOut:
    """Ok, or every problem found (first break, truncation, rewrite, forged checkpoints)."""
    return await _verified(session, system_id, trusted)


@router.post(
    "/systems/{system_id}/ledger/verify",
    summary="Verify a system's hash chain against an auditor's own checkpoint too",
    response_model=LedgerVerificationOut,
    responses=_ERRORS,
    description=_DESCRIPTION
    + " The supplied checkpoint must be signed by a pinned key (422 otherwise; 422 too for a "
    "body that is not JSON, not UTF-8 or nested too deeply); if the database "
    "no longer holds it, that is reported (`checkpoint_missing`), and its head of the system "
    "must be reproduced like a stored one's. Reads only.",
)
async def verify_ledger_against(
    system_id: SystemPath,
    request: VerifyRequest,
    _reader: Reader,
    session: SnapshotSession,
    trusted: Trusted,
) -> LedgerVerificationOut:
    """Like GET, plus the auditor's checkpoint: a deleted newest checkpoint is caught too."""
    try:
        supplied = check_supplied(request.checkpoint.model_dump(), trusted)
    except UntrustedCheckpoint as exc:
        raise ProblemError(422, str(exc)) from None
    return await _verified(session, system_id, trusted, supplied)
