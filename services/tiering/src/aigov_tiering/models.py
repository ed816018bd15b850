"""Tiering's own tables (PostgreSQL schema `tiering`; one SQLite file in the embedded mode).

What the policy engine must remember between events: each known system's latest manifest
and the decision last published for it (re-tiering compares against it), the last approved
manifest and evaluation baseline per system (material-change detection diffs against them),
evaluations per release, every manifest revision's change record (material or not), the
decisions issued, and the events already processed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import JSON, Column, MetaData
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from aigov_runtime.database import UtcDateTime
from aigov_runtime.idempotency import processed_events_table

SCHEMA: Final = "tiering"

# A registry of our own: in the embedded mode all services share one process, and other
# services have tables called `systems` too.
metadata = MetaData()


class TieringTable(SQLModel, registry=registry(metadata=metadata)):
    """Base of tiering's tables (kept out of `SQLModel.metadata`)."""


def _timestamp() -> Any:
    return Field(sa_column=Column(UtcDateTime(), nullable=False))


def _json(*, nullable: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_column=Column(JSON, nullable=True))
    return Field(sa_column=Column(JSON, nullable=False))


class KnownSystem(TieringTable, table=True):
    """A system's latest manifest revision and the tier decision last published for it."""

    __tablename__ = "systems"

    system_id: str = Field(primary_key=True, max_length=63)
    revision: int
    manifest_sha256: str = Field(max_length=64)
    manifest: dict[str, Any] = _json()
    tier: str = Field(max_length=20)
    decision: dict[str, Any] = _json()
    """The last published `tier.assigned` payload (JSON)."""
    policy_sha256: str = Field(max_length=64)
    """The pack the system was last evaluated with (may be newer than the decision's)."""
    retired: bool = False
    updated_at: datetime = _timestamp()


class ApprovedBaseline(TieringTable, table=True):
    """The last approved manifest and release of a system: what changes are measured against."""

    __tablename__ = "baselines"

    system_id: str = Field(primary_key=True, max_length=63)
    revision: int
    manifest_sha256: str = Field(max_length=64)
    manifest: dict[str, Any] = _json()
    version: str = Field(max_length=128)
    """The approved release."""
    evaluations: dict[str, Any] = _json()
    """Suite -> metric -> {value, higher_is_better} of the approved release."""
    pending_change_id: str | None = Field(default=None, max_length=128)
    """The unapproved material change last detected against this baseline, if any."""
    pending_changes: list[Any] | None = _json(nullable=True)
    approved_at: datetime = _timestamp()


class ReleaseEvaluation(TieringTable, table=True):
    """The latest metrics of one evaluation suite for one release."""

    __tablename__ = "evaluations"

    system_id: str = Field(primary_key=True, max_length=63)
    version: str = Field(primary_key=True, max_length=128)
    suite: str = Field(primary_key=True, max_length=200)
    metrics: dict[str, Any] = _json()
    recorded_at: datetime = _timestamp()


class ManifestChange(TieringTable, table=True):
    """How a revision differs from the approved manifest, material or not (reviewers see why)."""

    __tablename__ = "manifest_changes"

    system_id: str = Field(primary_key=True, max_length=63)
    revision: int = Field(primary_key=True)
    baseline_revision: int | None = None
    """Approved revision compared with (none: nothing approved yet, so nothing to void)."""
    material: bool
    changes: list[Any] = _json()
    """Material changes: [{field, old, new, rule}]."""
    non_material_fields: list[Any] = _json()
    change_id: str | None = Field(default=None, max_length=128)
    recorded_at: datetime = _timestamp()


class IssuedDecision(TieringTable, table=True):
    """A decision event tiering published (tier.assigned or material_change.detected)."""

    __tablename__ = "decisions"

    event_id: str = Field(primary_key=True, max_length=64)
    event_type: str = Field(max_length=200)
    system_id: str = Field(max_length=63, index=True)
    policy_sha256: str = Field(max_length=64)
    payload: dict[str, Any] = _json()
    issued_at: datetime = _timestamp()


processed_events = processed_events_table(metadata)
