"""processed_events keyed by (consumer, source, event_id): an event's identity is (source, id)

Rows recorded before this revision get source '' (their source was not kept): an event
redelivered across the upgrade whose offsets were not committed yet is processed once more.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 02:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuild_sqlite(*, with_source: bool) -> None:
    """SQLite cannot change a primary key in place: copy the rows into a new table."""
    source_column = "source VARCHAR(1000) NOT NULL, " if with_source else ""
    key = "consumer, source, event_id" if with_source else "consumer, event_id"
    copied = "consumer, source, event_id" if with_source else "consumer, event_id"
    selected = "consumer, '', event_id" if with_source else "consumer, event_id"
    op.execute(
        "CREATE TABLE processed_events_new (consumer VARCHAR(200) NOT NULL, "
        f"{source_column}event_id VARCHAR(200) NOT NULL, "
        "event_type VARCHAR(200) NOT NULL, processed_at DATETIME NOT NULL, "
        f"PRIMARY KEY ({key}))"
    )
    op.execute(
        f"INSERT INTO processed_events_new ({copied}, event_type, processed_at) "
        f"SELECT {selected}, event_type, processed_at FROM processed_events"
    )
    op.execute("DROP TABLE processed_events")
    op.execute("ALTER TABLE processed_events_new RENAME TO processed_events")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(with_source=True)
        return
    op.add_column(
        "processed_events",
        sa.Column("source", sa.String(length=1000), nullable=False, server_default=""),
    )
    op.alter_column("processed_events", "source", server_default=None)
    op.drop_constraint("processed_events_pkey", "processed_events", type_="primary")
    op.create_primary_key(
        "processed_events_pkey", "processed_events", ["consumer", "source", "event_id"]
    )


def downgrade() -> None:
    # Two sources' rows for one (consumer, id) collapse into one: keep the earliest.
    op.execute(
        "DELETE FROM processed_events WHERE EXISTS (SELECT 1 FROM processed_events AS o "
        "WHERE o.consumer = processed_events.consumer AND o.event_id = processed_events.event_id "
        "AND (o.processed_at, o.source) < (processed_events.processed_at, processed_events.source))"
    )
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(with_source=False)
        return
    op.drop_constraint("processed_events_pkey", "processed_events", type_="primary")
    op.drop_column("processed_events", "source")
    op.create_primary_key("processed_events_pkey", "processed_events", ["consumer", "event_id"])
