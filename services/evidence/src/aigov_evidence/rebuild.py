"""`python -m aigov_evidence.rebuild`: recompute every projection from the ledger.

Empties the projection tables and replays the ledger in record order, in batches, through
the same set-based `projections.project` the consumer uses, in one transaction: readers see
the old state or the new one, and the result equals what live consumption produced (batch
cuts do not change what `project` does). Only the payloads of the types a projection reads
are fetched and validated; the other records need their columns only.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from sqlalchemy import bindparam, case, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_events.catalog import validate_payload
from aigov_evidence.app import migrate
from aigov_evidence.ledger import LedgerEntry
from aigov_evidence.models import LEDGER, PROJECTIONS
from aigov_evidence.projections import PROJECTED_TYPES, project
from aigov_evidence.settings import Settings
from aigov_runtime.database import create_engine, create_sessionmaker, table_of
from aigov_runtime.logging import configure_logging

log = logging.getLogger(__name__)

_CHUNK: Final = 5000
_PROJECTED: Final = LEDGER.c.event_type.in_(sorted(PROJECTED_TYPES))

# A chunk of the ledger in record order, with the payload only where a projection reads it.
_CHUNK_QUERY: Final = (
    select(
        LEDGER.c.id,
        LEDGER.c.event_id,
        LEDGER.c.event_type,
        LEDGER.c.system_id,
        LEDGER.c.version,
        LEDGER.c.time,
        LEDGER.c.actor,
        LEDGER.c.source,
        LEDGER.c.sequence,
        case((_PROJECTED, LEDGER.c.payload), else_=None).label("payload"),
    )
    .where(LEDGER.c.id > bindparam("after"))
    .order_by(LEDGER.c.id)
    .limit(_CHUNK)
)


async def rebuild_projections(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Replay the whole ledger into empty projections; returns how many records were replayed."""
    replayed = 0
    async with sessionmaker() as session, session.begin():
        for model in PROJECTIONS:
            await session.execute(delete(table_of(model)))
        last_id = 0
        while True:
            rows = (await session.execute(_CHUNK_QUERY, {"after": last_id})).all()
            if not rows:
                break
            entries = [
                LedgerEntry(
                    event_id=row.event_id,
                    event_type=row.event_type,
                    system_id=row.system_id,
                    version=row.version,
                    time=row.time,
                    actor=row.actor,
                    source=row.source,
                    attributes={},
                    payload=row.payload,
                    typed=(
                        None
                        if row.payload is None
                        else validate_payload(row.event_type, row.payload)
                    ),
                    sequence=row.sequence,
                )
                for row in rows
            ]
            await project(session, entries)
            replayed += len(entries)
            last_id = rows[-1].id
    return replayed


async def _main(settings: Settings) -> int:
    await migrate(settings)
    engine = create_engine(settings.database_url, schema=settings.evidence_schema)
    try:
        return await rebuild_projections(create_sessionmaker(engine))
    finally:
        await engine.dispose()


def main() -> None:
    """Rebuild the projections of the database the environment points at."""
    settings = Settings()
    configure_logging(settings.log_level, "evidence-rebuild", log_file=settings.log_file)
    replayed = asyncio.run(_main(settings))
    log.info("projections rebuilt from the ledger", extra={"records": replayed})


if __name__ == "__main__":
    main()
