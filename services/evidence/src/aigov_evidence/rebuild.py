"""`python -m aigov_evidence.rebuild`: recompute every projection from the ledger.

Empties the projection tables and replays the ledger in record order through the same
handlers the consumer uses, in one transaction: readers see the old state or the new one,
and the result equals what live consumption produced.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_events.catalog import validate_payload
from aigov_evidence.app import migrate
from aigov_evidence.handlers import project
from aigov_evidence.ledger import LedgerEntry
from aigov_evidence.models import LEDGER, PROJECTIONS
from aigov_evidence.settings import Settings
from aigov_runtime.database import create_engine, create_sessionmaker, table_of
from aigov_runtime.logging import configure_logging

log = logging.getLogger(__name__)

_CHUNK: Final = 5000


async def rebuild_projections(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Replay the whole ledger into empty projections; returns how many records were replayed."""
    replayed = 0
    async with sessionmaker() as session, session.begin():
        for model in PROJECTIONS:
            await session.execute(delete(table_of(model)))
        last_id = 0
        while True:
            rows = (
                await session.execute(
                    select(LEDGER).where(LEDGER.c.id > last_id).order_by(LEDGER.c.id).limit(_CHUNK)
                )
            ).all()
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
                    attributes=row.attributes,
                    payload=row.payload,
                    typed=validate_payload(row.event_type, row.payload),
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
