"""The waiver expiry sweep: announce every granted waiver past its expiry with `waiver.expired`.

The gate never counts an expired waiver whether or not the sweep has run; the sweep makes
the expiry an event (for the ledger, the router and dashboards). Its event id is derived
from the waiver id, so replicas sweeping at the same time publish the same event and the
ledger keeps one.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_events import actors
from aigov_events.catalog import WaiverExpired
from aigov_events.message import new_event
from aigov_events.producer import Publisher
from aigov_evidence.service import expired_waivers

SOURCE: Final = "/aigov/evidence/waiver-sweep"
ACTOR: Final = actors.EVIDENCE
_NAMESPACE: Final = uuid.UUID("5f0b8a52-4a8e-4f57-9d7e-1f2a3b4c5d6e")
_BATCH: Final = 500


def expiry_event_id(waiver_id: str) -> str:
    """The id of the one `waiver.expired` event of a waiver."""
    return str(uuid.uuid5(_NAMESPACE, f"waiver.expired:{waiver_id}"))


async def sweep_waivers(
    sessionmaker: async_sessionmaker[AsyncSession], publisher: Publisher, *, now: datetime
) -> list[str]:
    """Publish `waiver.expired` for granted waivers expired at `now`; returns their ids."""
    async with sessionmaker() as session:
        waivers = await expired_waivers(session, now=now, limit=_BATCH)
    events = [
        new_event(
            WaiverExpired(
                system_id=w.system_id,
                version=w.version,
                waiver_id=w.waiver_id,
                expired_at=w.expires_at,
            ),
            source=SOURCE,
            actor=ACTOR,
            event_id=expiry_event_id(w.waiver_id),
            time=w.expires_at,
        )
        for w in waivers
    ]
    for event in events:
        await publisher.publish(event)
    return [w.waiver_id for w in waivers]
