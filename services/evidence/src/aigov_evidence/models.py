"""Evidence's tables (schema `evidence`): the append-only ledger, chain heads, projections.

The ledger is the source of truth; the transparency log's tables (`tlog_leaves`,
`tlog_nodes`) commit to it, and every other table except `checkpoints` is a projection that
`python -m aigov_evidence.rebuild` recomputes from it. Ledger, checkpoints and the log's
tables refuse UPDATE and DELETE in the database itself (triggers, see the migrations).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from aigov_runtime.database import UtcDateTime, table_of

#: JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JsonDocument = JSON().with_variant(JSONB(), "postgresql")
#: SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def _timestamp(nullable: bool = False) -> Any:
    return Column(UtcDateTime(), nullable=nullable)


def _json(nullable: bool = False) -> Any:
    return Column(JsonDocument, nullable=nullable)


class LedgerRecord(SQLModel, table=True):
    """One event (source, id), appended once, hash-chained to the previous record of its system.

    `event_hash` is SHA-256 of the event's RFC 8785 canonical JSON (`attributes` plus
    `data` = `payload`); `hash` = SHA-256 of `prev_hash:sequence:event_hash`, so changing any
    record breaks every later link of its system's chain.
    """

    __tablename__ = "ledger"
    __table_args__ = (
        UniqueConstraint("system_id", "sequence", name="uq_ledger_system_sequence"),
        # An event's identity is (source, id); id first, so lookups by id alone use it too.
        UniqueConstraint("event_id", "source", name="uq_ledger_event_id_source"),
        Index("ix_ledger_system_type", "system_id", "event_type"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    event_id: str = Field(max_length=200)
    event_type: str = Field(max_length=200)
    system_id: str = Field(max_length=63)
    sequence: int = Field(sa_column=Column(BigInteger, nullable=False))
    version: str | None = Field(default=None, max_length=128)
    time: datetime = Field(sa_column=_timestamp())
    actor: str = Field(max_length=200)
    source: str = Field(max_length=1000)
    attributes: dict[str, Any] = Field(sa_column=_json())
    payload: Any = Field(sa_column=_json(nullable=True))
    event_hash: str = Field(max_length=64)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    recorded_at: datetime = Field(sa_column=_timestamp())


class ChainHead(SQLModel, table=True):
    """The last record of each system's chain; its row lock serialises appends per system."""

    __tablename__ = "chain_heads"

    system_id: str = Field(primary_key=True, max_length=63)
    sequence: int = Field(sa_column=Column(BigInteger, nullable=False))
    hash: str = Field(max_length=64)
    updated_at: datetime = Field(sa_column=_timestamp())


class Checkpoint(SQLModel, table=True):
    """A signed snapshot of every chain head (append-only, like the ledger)."""

    __tablename__ = "checkpoints"

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    created_at: datetime = Field(sa_column=_timestamp())
    body: dict[str, Any] = Field(sa_column=_json())
    body_sha256: str = Field(max_length=64)
    signature: str = Field(max_length=200)
    """Base64 Ed25519 signature over the RFC 8785 canonical JSON of `body`."""
    public_key: str = Field(max_length=200)
    """Base64 raw Ed25519 public key that verifies `signature`."""
    key_id: str = Field(max_length=64)


class TlogLeaf(SQLModel, table=True):
    """A ledger record's place in the transparency log (append-only, like the ledger).

    The log's leaves are the records in the order they entered the tree; a record is named
    by (system_id, sequence), and `hash` is its leaf hash (see `aigov_evidence.tlog.records`).
    """

    __tablename__ = "tlog_leaves"
    __table_args__ = (
        UniqueConstraint("system_id", "sequence", name="uq_tlog_leaves_system_sequence"),
    )

    leaf_index: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    system_id: str = Field(max_length=63)
    sequence: int = Field(sa_column=Column(BigInteger, nullable=False))
    hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))


class TlogNode(SQLModel, table=True):
    """A complete inner node of the log's Merkle tree (level >= 1; leaves are `tlog_leaves`)."""

    __tablename__ = "tlog_nodes"

    level: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    node_index: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))


class SystemView(SQLModel, table=True):
    """Inventory projection: one AI system, from its manifest revisions and tier decisions."""

    __tablename__ = "systems"

    system_id: str = Field(primary_key=True, max_length=63)
    lifecycle_status: str = Field(max_length=20, index=True)  # unregistered | active | retired
    name: str | None = Field(default=None, max_length=200)
    owner: str | None = Field(default=None, max_length=200)
    team: str | None = Field(default=None, max_length=200, index=True)
    oncall: str | None = Field(default=None, max_length=200)
    manifest_revision: int | None = None
    manifest_sha256: str | None = Field(default=None, max_length=64)
    deployment_surfaces: list[str] = Field(default_factory=list, sa_column=_json())
    regions: list[str] = Field(default_factory=list, sa_column=_json())
    data_classes: list[str] = Field(default_factory=list, sa_column=_json())
    third_party_models: list[dict[str, Any]] = Field(default_factory=list, sa_column=_json())
    tier: str | None = Field(default=None, max_length=20, index=True)
    policy_name: str | None = Field(default=None, max_length=200)
    policy_version: str | None = Field(default=None, max_length=200)
    tier_event_id: str | None = Field(default=None, max_length=200)
    tier_decision: dict[str, Any] | None = Field(default=None, sa_column=_json(nullable=True))
    tier_assigned_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    last_gate_decision: str | None = Field(default=None, max_length=10, index=True)
    last_gate_version: str | None = Field(default=None, max_length=128)
    last_gate_event_id: str | None = Field(default=None, max_length=200)
    last_gate_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    registered_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    updated_at: datetime = Field(sa_column=_timestamp())


class ReleaseView(SQLModel, table=True):
    """Releases projection: (system, version), who submitted it, its last deployment state."""

    __tablename__ = "releases"

    system_id: str = Field(primary_key=True, max_length=63)
    version: str = Field(primary_key=True, max_length=128)
    submitter: str | None = Field(default=None, max_length=200)
    submitted_event_id: str | None = Field(default=None, max_length=200)
    first_seen_at: datetime = Field(sa_column=_timestamp())
    last_event_at: datetime = Field(sa_column=_timestamp())
    deployment_status: str | None = Field(default=None, max_length=20)


class WaiverView(SQLModel, table=True):
    """Waivers projection: requested -> granted/rejected -> expired."""

    __tablename__ = "waivers"
    __table_args__ = (Index("ix_waivers_release", "system_id", "version"),)

    waiver_id: str = Field(primary_key=True, max_length=128)
    system_id: str = Field(max_length=63)
    version: str = Field(max_length=128)
    controls: list[str] = Field(default_factory=list, sa_column=_json())
    justification: str = Field(max_length=4000)
    compensating_controls: list[str] = Field(default_factory=list, sa_column=_json())
    expires_at: datetime = Field(sa_column=_timestamp())
    status: str = Field(max_length=20, index=True)  # requested | granted | rejected | expired
    requested_by: str = Field(max_length=200)
    requested_at: datetime = Field(sa_column=_timestamp())
    request_event_id: str = Field(max_length=200)
    decided_by: str | None = Field(default=None, max_length=200)
    decided_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    decision_event_id: str | None = Field(default=None, max_length=200)
    expired_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))


class IncidentView(SQLModel, table=True):
    """Incidents projection, for the inventory's count of open incidents."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_system_status", "system_id", "status"),)

    incident_id: str = Field(primary_key=True, max_length=128)
    system_id: str = Field(max_length=63)
    status: str = Field(max_length=20)  # reported | acknowledged | contained | resolved
    severity: str = Field(max_length=20)


#: Tables rebuilt from the ledger by `python -m aigov_evidence.rebuild`.
PROJECTIONS: tuple[type[SQLModel], ...] = (SystemView, ReleaseView, WaiverView, IncidentView)

# Core views of the tables: typed column access (`LEDGER.c.system_id`) for queries and writes.
LEDGER: Final = table_of(LedgerRecord)
HEADS: Final = table_of(ChainHead)
CHECKPOINTS: Final = table_of(Checkpoint)
TLOG_LEAVES: Final = table_of(TlogLeaf)
TLOG_NODES: Final = table_of(TlogNode)
SYSTEMS: Final = table_of(SystemView)
RELEASES: Final = table_of(ReleaseView)
WAIVERS: Final = table_of(WaiverView)
INCIDENTS: Final = table_of(IncidentView)
