"""incidents say enough to be listed; processed_events for intake's consumer

Rows recorded before this revision all came through intake (it had no consumer), so their
`opened_by` is `report`; their severity, category, summary, serious, version and times were
not kept and stay NULL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STRING_COLUMNS = (("severity", 20), ("category", 64), ("summary", 1000), ("opened_by", 20))


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        for name, length in _STRING_COLUMNS:
            batch_op.add_column(
                sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=True)
            )
        batch_op.add_column(sa.Column("serious", sa.Boolean(), nullable=True))
        batch_op.add_column(
            sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True)
        )
        batch_op.add_column(sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE incidents SET opened_by = 'report'")
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=1000), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("event_type", sa.String(length=200), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "source", "event_id"),
    )


def downgrade() -> None:
    op.drop_table("processed_events")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        for name in ("updated_at", "reported_at", "version", "serious"):
            batch_op.drop_column(name)
        for name, _ in reversed(_STRING_COLUMNS):
            batch_op.drop_column(name)
