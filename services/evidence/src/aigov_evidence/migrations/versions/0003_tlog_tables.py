"""the transparency log: leaves (a record's place in the Merkle tree) and inner nodes, append-only

Records already in the ledger get their leaves when the service next starts
(`aigov_evidence.tlog.store.grow`), in ledger order: the migration only creates the tables.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 20:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("tlog_leaves", "tlog_nodes")


def upgrade() -> None:
    op.create_table(
        "tlog_leaves",
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("system_id", sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("leaf_index"),
        sa.UniqueConstraint("system_id", "sequence", name="uq_tlog_leaves_system_sequence"),
    )
    op.create_table(
        "tlog_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("node_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "node_index"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # refuse_append_only_change() is the ledger's, from the first migration.
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change()"
            )
        return
    for table in TABLES:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'table {table} is append-only: {operation} refused'); END"
            )


def downgrade() -> None:
    # Triggers go with their tables.
    op.drop_table("tlog_nodes")
    op.drop_table("tlog_leaves")
