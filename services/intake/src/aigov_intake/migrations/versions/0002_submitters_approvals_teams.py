"""every submitter of a release, approval capacities per principal, and each system's team

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "release_submitters",
        sa.Column("system_id", sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("principal", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("system_id", "version", "principal"),
    )
    op.create_table(
        "release_approvals",
        sa.Column("system_id", sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("principal", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("capacity", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("system_id", "version", "subject", "principal"),
    )
    with op.batch_alter_table("systems", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("team", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
    # The first submitter recorded so far is a submitter too; later ones were not kept.
    op.execute(
        "INSERT INTO release_submitters (system_id, version, principal, first_seen_at) "
        "SELECT system_id, version, submitted_by, first_seen_at FROM releases"
    )


def downgrade() -> None:
    with op.batch_alter_table("systems", schema=None) as batch_op:
        batch_op.drop_column("team")
    op.drop_table("release_approvals")
    op.drop_table("release_submitters")
