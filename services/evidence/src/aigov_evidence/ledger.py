"""The append-only ledger: append a batch of events once each, and find recorded events.

Appends run in the caller's transaction. Per system, appends are serialised by a
transaction-scoped advisory lock on PostgreSQL (taken for every system of the batch in one
statement, in a fixed order, so two consumers can never deadlock); SQLite has a single
writer anyway. Under the lock, events already recorded are dropped, so a redelivery after a
crash or a rebalance adds nothing, and each new record extends its system's chain head and
becomes the next leaf of the transparency log's Merkle tree (`aigov_evidence.tlog`).
An event is (source, id), as CloudEvents defines it and intake deduplicates: two producers
may pick the same id, and both events are recorded. Verification is in `verification`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from aigov_events.catalog import EventPayload
from aigov_events.envelope import to_mapping
from aigov_events.message import ACTOR, DomainEvent
from aigov_evidence.chain import GENESIS_HASH, event_hash, link_hash
from aigov_evidence.models import HEADS, LEDGER, LedgerRecord
from aigov_evidence.tlog import store as tlog_store
from aigov_runtime.database import copy_rows, dialect_name, excluded, insert_rows, upsert


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
    typed: EventPayload | None
    """The validated payload; None only in a replay, for types no projection reads."""
    sequence: int = 0

    def __post_init__(self) -> None:
        # Projections pick their statement by the payload's class: it must be the event's type.
        if self.typed is not None and self.typed.event_type != self.event_type:
            raise ValueError(
                f"event {self.event_id} is a {self.event_type} but its payload is a "
                f"{self.typed.event_type}"
            )


def release_version(payload: EventPayload) -> str | None:
    """The release an event is about, if any (a rollback is about the release it removes)."""
    # A model's fields are its __dict__: getattr of a field a model lacks goes through
    # pydantic's __getattr__ and an AttributeError, 5% of the ledger consumer's CPU.
    fields = payload.__dict__
    version = fields.get("version") or fields.get("from_version")
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


def _lock_key(system_id: str) -> int:
    return int.from_bytes(hashlib.sha256(system_id.encode()).digest()[:8], "big", signed=True)


async def _lock_systems(session: AsyncSession, system_ids: Sequence[str]) -> None:
    """Serialise appends per system until the transaction ends (PostgreSQL advisory locks)."""
    if dialect_name(session) != "postgresql":
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
    system_ids = sorted({entry.system_id for entry in entries})
    await _lock_systems(session, system_ids)
    unique: dict[tuple[str, str], LedgerEntry] = {}
    for entry in entries:
        unique.setdefault((entry.source, entry.event_id), entry)
    # By id (the unique index leads with it), then the pairs: ids rarely collide.
    recorded = await session.execute(
        select(LEDGER.c.source, LEDGER.c.event_id).where(
            LEDGER.c.event_id.in_(bindparam("ids", expanding=True))
        ),
        {"ids": sorted({event_id for _, event_id in unique})},
    )
    for source, event_id in recorded:
        unique.pop((source, event_id), None)
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
    await copy_rows(session, LEDGER, rows)
    await tlog_store.append_records(
        session, [(row["system_id"], row["sequence"], row["hash"]) for row in rows]
    )
    touched = {entry.system_id for entry in appended}
    proposed = excluded(HEADS)
    statement = upsert(
        HEADS,
        session,
        keys=["system_id"],
        update={name: proposed[name] for name in ("sequence", "hash", "updated_at")},
    )
    await insert_rows(
        session,
        statement,
        [
            {"system_id": s, "sequence": heads[s][0], "hash": heads[s][1], "updated_at": now}
            for s in sorted(touched)
        ],
    )
    return appended


async def recorded_events(
    session: AsyncSession, event_id: str, *, source: str | None = None
) -> list[LedgerRecord]:
    """The ledger records with id `event_id` (of `source` only, if given), in ledger order."""
    statement = select(LedgerRecord).where(LedgerRecord.event_id == event_id)  # type: ignore[arg-type]
    if source is not None:
        statement = statement.where(LedgerRecord.source == source)  # type: ignore[arg-type]
    result = await session.execute(statement.order_by(LEDGER.c.id))
    return list(result.scalars())
