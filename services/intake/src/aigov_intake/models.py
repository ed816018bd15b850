"""Intake's own tables (schema `intake`): what it accepted, and what it must remember to check.

Intake never reads another service's tables. To de-duplicate retries, number manifest
revisions, keep approvers from approving their own releases, hold one person to one approval
capacity, check scoped principals against a system's team, and resolve waiver and incident
ids to their AI system, it records what it accepted in these tables. The one thing it learns
from the bus rather than from a request is the incidents the monitoring router opens from
alerts (`consumers`), recorded exactly once through `processed_events`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, MetaData
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from aigov_runtime.database import UtcDateTime
from aigov_runtime.idempotency import processed_events_table

SCHEMA = "intake"

# A registry of our own, not SQLModel's global one: in the embedded mode all four services
# share one process, and others have tables with the same names (`systems`).
metadata = MetaData()


class IntakeTable(SQLModel, registry=registry(metadata=metadata)):
    """Base of intake's tables (kept out of `SQLModel.metadata`)."""


def _timestamp() -> Column[datetime]:
    return Column(UtcDateTime(), nullable=False)


def _optional_timestamp() -> Column[datetime]:
    return Column(UtcDateTime(), nullable=True)


class AcceptedEvent(IntakeTable, table=True):
    """An event intake published; (source, id) is unique, so a retried event is not re-published."""

    __tablename__ = "accepted_events"

    source: str = Field(primary_key=True, max_length=1000)
    event_id: str = Field(primary_key=True, max_length=200)
    event_type: str = Field(max_length=200)
    system_id: str = Field(max_length=63, index=True)
    principal: str = Field(max_length=200)
    accepted_at: datetime = Field(sa_column=_timestamp())


class SystemRecord(IntakeTable, table=True):
    """The latest manifest revision intake accepted for an AI system."""

    __tablename__ = "systems"

    system_id: str = Field(primary_key=True, max_length=63)
    revision: int
    manifest_sha256: str = Field(max_length=64)
    retired: bool = False
    updated_by: str = Field(max_length=200)
    updated_at: datetime = Field(sa_column=_timestamp())
    team: str | None = Field(default=None, max_length=200)
    """`metadata.team` of the latest manifest (None for systems recorded before 0002)."""


class ReleaseRecord(IntakeTable, table=True):
    """The first principal to send evidence for (system, version), and when."""

    __tablename__ = "releases"

    system_id: str = Field(primary_key=True, max_length=63)
    version: str = Field(primary_key=True, max_length=128)
    submitted_by: str = Field(max_length=200)
    first_seen_at: datetime = Field(sa_column=_timestamp())


class ReleaseSubmitter(IntakeTable, table=True):
    """A principal that sent evidence (any non-decision event) for a release: barred from deciding it."""

    __tablename__ = "release_submitters"

    system_id: str = Field(primary_key=True, max_length=63)
    version: str = Field(primary_key=True, max_length=128)
    principal: str = Field(primary_key=True, max_length=200)
    first_seen_at: datetime = Field(sa_column=_timestamp())


class ReleaseApproval(IntakeTable, table=True):
    """The capacity a principal approved a release (or one material change of it) in.

    `subject` is empty for the release itself, else the material change id: one person
    fills one capacity per thing approved.
    """

    __tablename__ = "release_approvals"

    system_id: str = Field(primary_key=True, max_length=63)
    version: str = Field(primary_key=True, max_length=128)
    subject: str = Field(primary_key=True, max_length=128)
    principal: str = Field(primary_key=True, max_length=200)
    capacity: str = Field(max_length=64)
    approved_at: datetime = Field(sa_column=_timestamp())


class WaiverRecord(IntakeTable, table=True):
    """A waiver request and its decision, so grant/reject can find the system and the requester."""

    __tablename__ = "waivers"

    waiver_id: str = Field(primary_key=True, max_length=128)
    system_id: str = Field(max_length=63, index=True)
    version: str = Field(max_length=128)
    requested_by: str = Field(max_length=200)
    status: str = Field(max_length=20)  # requested | granted | rejected | expired
    decided_by: str | None = Field(default=None, max_length=200)


class IncidentRecord(IntakeTable, table=True):
    """An incident: what it is about and its last known status, to list it and check its steps.

    Rows recorded before migration 0003 have no severity, category, summary, serious,
    version or times (None).
    """

    __tablename__ = "incidents"

    incident_id: str = Field(primary_key=True, max_length=128)
    system_id: str = Field(max_length=63, index=True)
    reported_by: str = Field(max_length=200)
    """The principal who reported it through intake, or the router's `reported_by` text."""
    status: str = Field(max_length=20)  # reported | acknowledged | contained | resolved
    severity: str | None = Field(default=None, max_length=20)
    category: str | None = Field(default=None, max_length=64)
    summary: str | None = Field(default=None, max_length=1000)
    serious: bool | None = None
    opened_by: str | None = Field(default=None, max_length=20)  # report | alert
    """`report`: reported through intake; `alert`: opened by the monitoring router."""
    version: str | None = Field(default=None, max_length=128)
    reported_at: datetime | None = Field(default=None, sa_column=_optional_timestamp())
    updated_at: datetime | None = Field(default=None, sa_column=_optional_timestamp())


processed_events = processed_events_table(metadata)
"""Events intake's consumer already applied (exactly-once effects, `aigov_runtime.idempotency`)."""
