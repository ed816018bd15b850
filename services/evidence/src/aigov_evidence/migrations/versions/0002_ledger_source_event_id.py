"""ledger unique on (event_id, source): an event's identity is (source, id), as at intake

Two producers may choose the same id; each event is recorded. The index leads with event_id,
so `GET /v1/events/{id}` and the append path's "already recorded?" lookup stay index scans.
SQLite rebuilds the table (it cannot drop a constraint in place) and so recreates its
append-only triggers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 02:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: SQLite names the unnamed UNIQUE(event_id) of 0001 by this convention while rebuilding.
_SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _sqlite_triggers() -> None:
    for operation in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER ledger_no_{operation.lower()} BEFORE {operation} ON ledger "
            f"BEGIN SELECT RAISE(ABORT, 'table ledger is append-only: {operation} refused'); END"
        )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "ledger", recreate="always", naming_convention=_SQLITE_NAMES
        ) as batch_op:
            batch_op.drop_constraint("uq_ledger_event_id", type_="unique")
            batch_op.create_unique_constraint("uq_ledger_event_id_source", ["event_id", "source"])
        _sqlite_triggers()
        return
    op.drop_constraint("ledger_event_id_key", "ledger", type_="unique")
    op.create_unique_constraint("uq_ledger_event_id_source", "ledger", ["event_id", "source"])


def downgrade() -> None:
    # Fails while two sources share an id: drop one of those records first, deliberately.
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("ledger", recreate="always") as batch_op:
            batch_op.drop_constraint("uq_ledger_event_id_source", type_="unique")
            batch_op.create_unique_constraint("uq_ledger_event_id", ["event_id"])
        _sqlite_triggers()
        return
    op.drop_constraint("uq_ledger_event_id_source", "ledger", type_="unique")
    op.create_unique_constraint("ledger_event_id_key", "ledger", ["event_id"])
