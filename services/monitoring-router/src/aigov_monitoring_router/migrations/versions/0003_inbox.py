"""the built-in inbox receiver's table, and delivery attempts indexed by receiver

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("receiver", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("system_id", sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("route", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("incident_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("notification_id"),
    )
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_receiver_id", ["receiver", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbox_system_id"), ["system_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbox_delivered_at"), ["delivered_at"], unique=False)
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_delivery_attempts_receiver_at", ["receiver", "attempted_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_attempts_receiver_at")
    op.drop_table("inbox")
