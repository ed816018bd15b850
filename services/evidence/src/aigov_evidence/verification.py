"""Verify a system's ledger chain against the signed checkpoints, from one consistent snapshot.

What is checked, each failure a `Problem` with a precise reason:

- every checkpoint's signature, with keys pinned in configuration only (a row's own public
  key proves nothing): unknown key or bad signature = a forged checkpoint, ignored afterwards;
- the checkpoint chain: each genuine checkpoint names the body hash of the genuine one before
  it, so deleting or inserting a checkpoint row breaks a link;
- the system's records: contiguous sequences, each event's hash, each link (first break);
- every head a genuine checkpoint (or the auditor's own, supplied one) recorded for the
  system is reproduced by the ledger: a ledger ending before it is truncated, a different
  hash at that sequence means a rewrite (located between the last agreeing head and it);
- `chain_heads` (a cache for the appender, not evidence) agrees with the ledger's end.

Reading all of it inside one REPEATABLE READ, read-only transaction (`snapshot`) means
concurrent appends are invisible to a verification, so an intact chain never looks broken.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_events.message import ACTOR
from aigov_evidence.chain import GENESIS_HASH, canonical_json, event_hash, link_hash
from aigov_evidence.checkpoints import verifies_with
from aigov_evidence.models import CHECKPOINTS, HEADS, LEDGER

_RECORD_CHUNK: Final = 5000
_CHECKPOINT_CHUNK: Final = 200
_SHORT: Final = 16

ProblemKind = Literal[
    "forged_checkpoint",
    "checkpoint_chain",
    "checkpoint_missing",
    "gap",
    "altered",
    "truncated",
    "rewritten",
    "chain_head",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing verification found wrong: what kind, where, and exactly why."""

    kind: ProblemKind
    detail: str
    sequence: int | None = None
    checkpoint_id: int | None = None


@dataclass(frozen=True, slots=True)
class CheckpointSummary:
    """A genuine checkpoint, as a verification answer names it."""

    id: int | None
    created_at: str | None
    body_sha256: str
    key_id: str


@dataclass(frozen=True, slots=True)
class SuppliedCheckpoint:
    """A checkpoint an auditor kept and hands in, already checked against the pinned keys."""

    id: int | None
    body: dict[str, Any]
    digest: str
    key_id: str


class UntrustedCheckpoint(ValueError):
    """A supplied checkpoint is not signed by a trusted key (or its body was changed)."""


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of verifying one system's chain: ok, or every problem found."""

    system_id: str
    ok: bool
    records: int
    head_sequence: int
    head_hash: str
    broken_at: int | None = None
    reason: str | None = None
    problems: tuple[Problem, ...] = ()
    checkpoints_verified: int = 0
    newest_checkpoint: CheckpointSummary | None = None
    known: bool = True
    """False when nothing (record, head, checkpoint) mentions the system."""


@asynccontextmanager
async def snapshot(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose reads all see one consistent state of the database (read-only)."""
    async with sessionmaker() as session:
        if session.get_bind().dialect.name == "postgresql":
            await session.connection(
                execution_options={
                    "isolation_level": "REPEATABLE READ",
                    "postgresql_readonly": True,
                }
            )
        else:
            # pysqlite opens no transaction for reads; an explicit one makes them one snapshot.
            connection = await session.connection()
            await connection.exec_driver_sql("BEGIN")
        try:
            yield session
        finally:
            await session.rollback()


def check_supplied(
    document: Mapping[str, Any], trusted: Mapping[str, Ed25519PublicKey]
) -> SuppliedCheckpoint:
    """An auditor's checkpoint (as `GET /v1/checkpoints/latest` served it), or UntrustedCheckpoint."""
    body, signature, kid = document.get("body"), document.get("signature"), document.get("key_id")
    if not isinstance(body, dict) or not isinstance(signature, str) or not isinstance(kid, str):
        raise UntrustedCheckpoint("checkpoint: needs `body` (object), `signature` and `key_id`")
    key = trusted.get(kid)
    if key is None:
        raise UntrustedCheckpoint(f"checkpoint: signed by key {kid!r}, which is not a trusted key")
    if not verifies_with(key, body, signature):
        raise UntrustedCheckpoint(
            f"checkpoint: its signature does not verify with trusted key {kid!r} "
            "(body or signature altered)"
        )
    digest = hashlib.sha256(canonical_json(body)).hexdigest()
    claimed = document.get("body_sha256")
    if claimed is not None and claimed != digest:
        raise UntrustedCheckpoint("checkpoint: body_sha256 is not the SHA-256 of its body")
    identifier = document.get("id")
    return SuppliedCheckpoint(
        identifier if isinstance(identifier, int) else None, body, digest, kid
    )


@dataclass(slots=True)
class _Head:
    """A head some genuine checkpoint recorded for the system being verified."""

    label: str
    checkpoint_id: int | None
    sequence: int
    hash: str


@dataclass(slots=True)
class _Checkpoints:
    problems: list[Problem] = field(default_factory=list)
    digests: set[str] = field(default_factory=set)
    heads: list[_Head] = field(default_factory=list)
    verified: int = 0
    newest: CheckpointSummary | None = None


def _head_of(body: dict[str, Any], system_id: str) -> tuple[int, str] | None:
    heads = body.get("heads")
    head = heads.get(system_id) if isinstance(heads, dict) else None
    if not isinstance(head, dict):
        return None
    sequence, hash_ = head.get("sequence"), head.get("hash")
    if not isinstance(sequence, int) or not isinstance(hash_, str):
        return None
    return sequence, hash_


async def _check_checkpoints(
    session: AsyncSession, system_id: str, trusted: Mapping[str, Ed25519PublicKey]
) -> _Checkpoints:
    """Signatures and links of every stored checkpoint; the heads they record for the system."""
    found = _Checkpoints()
    last: tuple[int, str] | None = None  # (id, body digest) of the last genuine checkpoint
    after = None
    while True:
        statement = select(
            CHECKPOINTS.c.id, CHECKPOINTS.c.body, CHECKPOINTS.c.signature, CHECKPOINTS.c.key_id
        ).order_by(CHECKPOINTS.c.id)
        if after is not None:
            statement = statement.where(CHECKPOINTS.c.id > after)
        rows = (await session.execute(statement.limit(_CHECKPOINT_CHUNK))).all()
        for row in rows:
            problem = _forgery(row, trusted)
            if problem is not None:
                found.problems.append(problem)
                continue
            body: dict[str, Any] = row.body
            digest = hashlib.sha256(canonical_json(body)).hexdigest()
            link = _broken_link(row.id, body.get("previous_body_sha256"), last)
            if link is not None:
                found.problems.append(link)
            last = (row.id, digest)
            found.digests.add(digest)
            found.verified += 1
            created = body.get("created_at")
            found.newest = CheckpointSummary(
                row.id, created if isinstance(created, str) else None, digest, row.key_id
            )
            head = _head_of(body, system_id)
            if head is not None:
                found.heads.append(_Head(f"checkpoint {row.id}", row.id, *head))
        if len(rows) < _CHECKPOINT_CHUNK:
            return found
        after = rows[-1].id


def _forgery(row: Any, trusted: Mapping[str, Ed25519PublicKey]) -> Problem | None:
    """Why a stored checkpoint is not genuine, or None when a pinned key verifies it."""
    key = trusted.get(row.key_id)
    if key is None:
        detail = (
            f"forged checkpoint {row.id}: signed by key {row.key_id!r}, which is not a trusted key"
        )
    elif not isinstance(row.body, dict) or not verifies_with(key, row.body, row.signature):
        detail = (
            f"forged checkpoint {row.id}: its signature does not verify with trusted key "
            f"{row.key_id!r} (body or signature altered)"
        )
    else:
        return None
    return Problem("forged_checkpoint", detail, checkpoint_id=row.id)


def _broken_link(
    checkpoint_id: int, previous: object, last: tuple[int, str] | None
) -> Problem | None:
    """Why a genuine checkpoint does not follow the genuine one before it, or None."""
    prefix = f"missing or inserted checkpoint: checkpoint {checkpoint_id}"
    if last is None:
        if previous is None:
            return None
        detail = (
            f"{prefix} names previous body {str(previous)[:_SHORT]}, but no earlier checkpoint "
            "is in the database"
        )
    elif previous == last[1]:
        return None
    elif previous is None:
        detail = f"{prefix} names no previous checkpoint, but checkpoint {last[0]} comes before it"
    else:
        detail = (
            f"{prefix} names previous body {str(previous)[:_SHORT]}, but the checkpoint before "
            f"it ({last[0]}) has body {last[1][:_SHORT]}"
        )
    return Problem("checkpoint_chain", detail, checkpoint_id=checkpoint_id)


def _record_break(row: Any, *, expected_sequence: int, prev_hash: str) -> Problem | None:
    """Why the record breaks the chain, or None when it is intact."""
    if row.sequence != expected_sequence:
        return Problem(
            "gap",
            f"gap: sequence {expected_sequence} is missing (next record has sequence {row.sequence})",
            expected_sequence,
        )
    attributes = row.attributes if isinstance(row.attributes, dict) else {}
    reason: str | None = None
    for column, attribute in (
        ("event_id", "id"),
        ("event_type", "type"),
        ("source", "source"),
        ("actor", ACTOR),
    ):
        if attributes.get(attribute) != getattr(row, column):
            reason = f"column {column} differs from the recorded event's {attribute!r} attribute"
            break
    digest = event_hash(attributes, row.payload)
    if reason is not None:
        pass
    elif digest != row.event_hash:
        reason = "the event's content no longer matches its recorded SHA-256 (event was altered)"
    elif row.prev_hash != prev_hash:
        reason = "prev_hash does not match the hash of the previous record (chain was rewritten)"
    elif link_hash(prev_hash, row.sequence, digest) != row.hash:
        reason = "the record's chain hash does not match prev_hash, sequence and event hash"
    if reason is None:
        return None
    return Problem("altered", f"record {row.sequence}: {reason}", row.sequence)


@dataclass(slots=True)
class _Scan:
    intact: int = 0
    intact_hash: str = GENESIS_HASH
    last_sequence: int = 0
    last_hash: str = GENESIS_HASH
    broken: Problem | None = None
    hashes: dict[int, str] = field(default_factory=dict)


async def _scan_records(session: AsyncSession, system_id: str, wanted: set[int]) -> _Scan:
    """Recompute the chain up to its first break; note the end and the hashes at `wanted`."""
    scan = _Scan()
    columns = (
        LEDGER.c.sequence,
        LEDGER.c.event_id,
        LEDGER.c.event_type,
        LEDGER.c.source,
        LEDGER.c.actor,
        LEDGER.c.attributes,
        LEDGER.c.payload,
        LEDGER.c.event_hash,
        LEDGER.c.prev_hash,
        LEDGER.c.hash,
    )
    while True:
        chunk = (
            await session.execute(
                select(*columns)
                .where(LEDGER.c.system_id == system_id, LEDGER.c.sequence > scan.last_sequence)
                .order_by(LEDGER.c.sequence)
                .limit(_RECORD_CHUNK)
            )
        ).all()
        for row in chunk:
            if scan.broken is None:
                scan.broken = _record_break(
                    row, expected_sequence=scan.intact + 1, prev_hash=scan.intact_hash
                )
                if scan.broken is None:
                    scan.intact, scan.intact_hash = row.sequence, row.hash
            if row.sequence in wanted:
                scan.hashes[row.sequence] = row.hash
            scan.last_sequence, scan.last_hash = row.sequence, row.hash
        if len(chunk) < _RECORD_CHUNK:
            return scan


def _head_problems(heads: list[_Head], scan: _Scan) -> list[Problem]:
    """Truncation (the furthest head beyond the end) and the first rewritten head."""
    problems: list[Problem] = []
    beyond = [h for h in heads if h.sequence > scan.last_sequence]
    if beyond:
        furthest = max(beyond, key=lambda h: h.sequence)
        problems.append(
            Problem(
                "truncated",
                f"truncated: {furthest.label} recorded sequence {furthest.sequence}, "
                f"the ledger ends at {scan.last_sequence}",
                scan.last_sequence + 1,
                furthest.checkpoint_id,
            )
        )
    agreeing = [h.sequence for h in heads if scan.hashes.get(h.sequence) == h.hash]
    differing = sorted(
        (h for h in heads if h.sequence in scan.hashes and scan.hashes[h.sequence] != h.hash),
        key=lambda h: h.sequence,
    )
    if differing:
        first = differing[0]
        low = max((s for s in agreeing if s < first.sequence), default=0) + 1
        problems.append(
            Problem(
                "rewritten",
                f"rewritten: record {first.sequence} does not match {first.label} (signed hash "
                f"{first.hash[:_SHORT]}, ledger hash {scan.hashes[first.sequence][:_SHORT]}); "
                f"a record between sequence {low} and {first.sequence} was changed",
                first.sequence,
                first.checkpoint_id,
            )
        )
    return problems


async def _chain_head_problem(session: AsyncSession, system_id: str, scan: _Scan) -> Problem | None:
    head = (
        await session.execute(
            select(HEADS.c.sequence, HEADS.c.hash).where(HEADS.c.system_id == system_id)
        )
    ).first()
    if head is None:
        if scan.last_sequence == 0:
            return None
        detail = f"the chain head is missing, the ledger ends at {scan.last_sequence}"
    elif (head.sequence, head.hash) == (scan.last_sequence, scan.last_hash):
        return None
    elif head.sequence == scan.last_sequence:
        detail = f"the chain head's hash differs from the ledger's last record {scan.last_sequence}"
    else:
        detail = (
            f"the chain head says sequence {head.sequence}, the ledger ends at {scan.last_sequence}"
        )
    return Problem("chain_head", detail, scan.last_sequence + 1)


async def verify(
    session: AsyncSession,
    system_id: str,
    *,
    trusted: Mapping[str, Ed25519PublicKey] | None = None,
    supplied: SuppliedCheckpoint | None = None,
) -> Verification:
    """Verify `system_id`'s chain and every checkpoint; read it all in one `snapshot`.

    Without `trusted` keys every stored checkpoint counts as forged.
    """
    checkpoints = await _check_checkpoints(session, system_id, trusted or {})
    problems = list(checkpoints.problems)
    heads = list(checkpoints.heads)
    if supplied is not None:
        label = "supplied checkpoint" + (f" {supplied.id}" if supplied.id is not None else "")
        if supplied.digest not in checkpoints.digests:
            problems.append(
                Problem(
                    "checkpoint_missing",
                    f"missing checkpoint: {label} (body sha256 {supplied.digest[:_SHORT]}) is not "
                    "in the database",
                    checkpoint_id=supplied.id,
                )
            )
        head = _head_of(supplied.body, system_id)
        if head is not None:
            heads.append(_Head(label, supplied.id, *head))
    scan = await _scan_records(session, system_id, {h.sequence for h in heads})
    if scan.broken is not None:
        problems.append(scan.broken)
    problems.extend(_head_problems(heads, scan))
    head_problem = await _chain_head_problem(session, system_id, scan)
    if head_problem is not None and scan.broken is None:
        problems.append(head_problem)
    sequences = [p.sequence for p in problems if p.sequence is not None]
    return Verification(
        system_id=system_id,
        ok=not problems,
        records=scan.intact,
        head_sequence=scan.intact,
        head_hash=scan.intact_hash,
        broken_at=min(sequences) if sequences else None,
        reason=problems[0].detail if problems else None,
        problems=tuple(problems),
        checkpoints_verified=checkpoints.verified,
        newest_checkpoint=checkpoints.newest,
        known=bool(scan.last_sequence or heads or head_problem),
    )
