"""The append-only ledger: append a batch of events once each, and verify a system's chain.

Appends run in the caller's transaction. Per system, appends are serialised by a
transaction-scoped advisory lock on PostgreSQL (taken for every system of the batch in one
statement, in a fixed order, so two consumers can never deadlock); SQLite has a single
writer anyway. Under the lock, events already recorded are dropped, so a redelivery after a
crash or a rebalance adds nothing, and each new record extends its system's chain head.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import bindparam, literal_column, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Insert

from aigov_events.catalog import EventPayload
from aigov_events.envelope import to_mapping
from aigov_events.message import ACTOR, DomainEvent
from aigov_evidence.chain import GENESIS_HASH, event_hash, link_hash
from aigov_evidence.models import ChainHead, Checkpoint, LedgerRecord

LEDGER: Final = LedgerRecord.__table__  # type: ignore[attr-defined]
HEADS: Final = ChainHead.__table__  # type: ignore[attr-defined]
_VERIFY_CHUNK: Final = 5000


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """An event as the ledger records it (and as projections read it back)."""

    event_id: str
    event_type: str
    system_id: str
    version: str | None
    time: datetime
    actor: str
    source: str
    attributes: dict[str, Any]
    payload: Any
    typed: EventPayload
    sequence: int = 0


def release_version(payload: EventPayload) -> str | None:
    """The release an event is about, if any (a rollback is about the release it removes)."""
    version = getattr(payload, "version", None) or getattr(payload, "from_version", None)
    return str(version) if version is not None else None


def entry_from_event(event: DomainEvent[Any]) -> LedgerEntry:
    """The ledger entry of a decoded event (its CloudEvents JSON form, split into attributes and data)."""
    attributes = to_mapping(event.envelope)
    payload = attributes.pop("data", None)
    return LedgerEntry(
        event_id=event.id,
        event_type=event.type,
        system_id=event.system_id,
        version=release_version(event.payload),
        # UTC, so SQLite (which keeps no offset) orders and compares times correctly too.
        time=event.time.astimezone(UTC),
        actor=str(attributes.get(ACTOR, event.actor)),
        source=event.envelope.source,
        attributes=attributes,
        payload=payload,
        typed=event.payload,
    )


def insert_ignoring_conflicts(table: Any, dialect: str) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING for PostgreSQL and SQLite."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def upsert(
    table: Any,
    dialect: str,
    *,
    keys: Sequence[str],
    update: dict[str, Any],
    where: Any = None,
) -> Insert:
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET update [WHERE where], PostgreSQL and SQLite."""
    if dialect == "postgresql":
        pg = postgresql.insert(table)
        return pg.on_conflict_do_update(index_elements=list(keys), set_=update, where=where)
    lite = sqlite.insert(table)
    return lite.on_conflict_do_update(index_elements=list(keys), set_=update, where=where)


def excluded(column: str) -> Any:
    """The proposed value of `column` in an upsert (`excluded.<column>`, PostgreSQL and SQLite)."""
    return literal_column(f"excluded.{column}")


def _lock_key(system_id: str) -> int:
    return int.from_bytes(hashlib.sha256(system_id.encode()).digest()[:8], "big", signed=True)


async def _lock_systems(session: AsyncSession, system_ids: Sequence[str]) -> None:
    """Serialise appends per system until the transaction ends (PostgreSQL advisory locks)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    # One statement, keys in ascending order: every appender takes them in the same order.
    keys = sorted({_lock_key(system_id) for system_id in system_ids})
    await session.execute(
        text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:keys AS bigint[])) AS k"),
        {"keys": keys},
    )


async def append(session: AsyncSession, entries: Sequence[LedgerEntry]) -> list[LedgerEntry]:
    """Append the events not recorded yet, chained per system; returns them with their sequence."""
    if not entries:
        return []
    dialect = session.get_bind().dialect.name
    system_ids = sorted({entry.system_id for entry in entries})
    await _lock_systems(session, system_ids)
    unique: dict[str, LedgerEntry] = {}
    for entry in entries:
        unique.setdefault(entry.event_id, entry)
    recorded = await session.scalars(
        select(LEDGER.c.event_id).where(LEDGER.c.event_id.in_(bindparam("ids", expanding=True))),
        {"ids": list(unique)},
    )
    for event_id in recorded:
        unique.pop(event_id, None)
    if not unique:
        return []
    heads = {
        row.system_id: (row.sequence, row.hash)
        for row in await session.execute(
            select(HEADS.c.system_id, HEADS.c.sequence, HEADS.c.hash).where(
                HEADS.c.system_id.in_(bindparam("systems", expanding=True))
            ),
            {"systems": system_ids},
        )
    }
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    appended: list[LedgerEntry] = []
    for entry in unique.values():
        sequence, prev = heads.get(entry.system_id, (0, GENESIS_HASH))
        sequence += 1
        digest = event_hash(entry.attributes, entry.payload)
        chained = link_hash(prev, sequence, digest)
        heads[entry.system_id] = (sequence, chained)
        rows.append(
            {
                "event_id": entry.event_id,
                "event_type": entry.event_type,
                "system_id": entry.system_id,
                "sequence": sequence,
                "version": entry.version,
                "time": entry.time,
                "actor": entry.actor,
                "source": entry.source,
                "attributes": entry.attributes,
                "payload": entry.payload,
                "event_hash": digest,
                "prev_hash": prev,
                "hash": chained,
                "recorded_at": now,
            }
        )
        appended.append(replace(entry, sequence=sequence))
    await session.execute(LEDGER.insert(), rows)
    touched = {entry.system_id for entry in appended}
    statement = upsert(
        HEADS,
        dialect,
        keys=["system_id"],
        update={name: excluded(name) for name in ("sequence", "hash", "updated_at")},
    )
    await session.execute(
        statement,
        [
            {"system_id": s, "sequence": heads[s][0], "hash": heads[s][1], "updated_at": now}
            for s in sorted(touched)
        ],
    )
    return appended


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of recomputing one system's chain."""

    system_id: str
    ok: bool
    records: int
    head_sequence: int
    head_hash: str
    broken_at: int | None = None
    reason: str | None = None


def _check_record(row: Any, *, expected_sequence: int, prev_hash: str) -> str | None:
    """Why the record breaks the chain, or None when it is intact."""
    if row.sequence != expected_sequence:
        return f"sequence {expected_sequence} is missing (next record has sequence {row.sequence})"
    attributes = row.attributes if isinstance(row.attributes, dict) else {}
    for column, attribute in (
        ("event_id", "id"),
        ("event_type", "type"),
        ("source", "source"),
        ("actor", ACTOR),
    ):
        if attributes.get(attribute) != getattr(row, column):
            return f"column {column} differs from the recorded event's {attribute!r} attribute"
    digest = event_hash(attributes, row.payload)
    if digest != row.event_hash:
        return "the event's content no longer matches its recorded SHA-256 (event was altered)"
    if row.prev_hash != prev_hash:
        return "prev_hash does not match the hash of the previous record (chain was rewritten)"
    if link_hash(prev_hash, row.sequence, digest) != row.hash:
        return "the record's chain hash does not match prev_hash, sequence and event hash"
    return None


async def _checkpointed_head(session: AsyncSession, system_id: str) -> tuple[int, str] | None:
    """This system's head (sequence, hash) in the latest signed checkpoint, if it has one."""
    table = Checkpoint.__table__  # type: ignore[attr-defined]
    body = await session.scalar(select(table.c.body).order_by(table.c.id.desc()).limit(1))
    head = body.get("heads", {}).get(system_id) if isinstance(body, dict) else None
    if not isinstance(head, dict):
        return None
    return int(head["sequence"]), str(head["hash"])


async def verify(session: AsyncSession, system_id: str) -> Verification:
    """Recompute `system_id`'s chain; report the first broken sequence number and why."""
    checkpointed = await _checkpointed_head(session, system_id)
    prev_hash = GENESIS_HASH
    expected = 1
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
                .where(LEDGER.c.system_id == system_id, LEDGER.c.sequence >= expected)
                .order_by(LEDGER.c.sequence)
                .limit(_VERIFY_CHUNK)
            )
        ).all()
        for row in chunk:
            reason = _check_record(row, expected_sequence=expected, prev_hash=prev_hash)
            if (
                reason is None
                and checkpointed is not None
                and checkpointed[0] == row.sequence
                and checkpointed[1] != row.hash
            ):
                reason = "the record differs from the head a signed checkpoint recorded"
            if reason is not None:
                return Verification(
                    system_id, False, expected - 1, expected - 1, prev_hash, expected, reason
                )
            prev_hash = row.hash
            expected += 1
        if len(chunk) < _VERIFY_CHUNK:
            break
    records = expected - 1
    head = (
        await session.execute(
            select(HEADS.c.sequence, HEADS.c.hash).where(HEADS.c.system_id == system_id)
        )
    ).first()
    if head is not None and (head.sequence, head.hash) != (records, prev_hash):
        return Verification(
            system_id,
            False,
            records,
            records,
            prev_hash,
            records + 1,
            f"the chain head says sequence {head.sequence}, the ledger ends at {records}",
        )
    return Verification(system_id, True, records, records, prev_hash)


async def is_recorded(session: AsyncSession, event_id: str) -> LedgerRecord | None:
    """The ledger record of `event_id`, if it has been recorded."""
    result = await session.execute(select(LedgerRecord).where(LedgerRecord.event_id == event_id))  # type: ignore[arg-type]
    return result.scalars().first()
