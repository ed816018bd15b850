"""The tiering consumer: `aigov.lifecycle` in, decisions out, a batch at a time; importable
without the app (embedded mode).

Each polled batch is one transaction (`idempotent_batch`): the batch's new events are
claimed in one statement, their systems, baselines and evaluations read in a few queries,
every event applied in order in memory (`handlers`), the changes written with set-based
statements, and all the batch's decisions published in one producer batch before the
transaction commits. A manifest the policy cannot evaluate raises `PermanentError`: the
runner splits the batch until that event is alone and dead-letters it; the others are tiered.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_events.bus import Bus
from aigov_events.consumer import ConsumerRunner
from aigov_events.message import DomainEvent
from aigov_events.topics import LIFECYCLE
from aigov_runtime.idempotency import idempotent_batch
from aigov_runtime.resources import ServiceResources
from aigov_tiering.batch import BatchState
from aigov_tiering.handlers import HANDLERS, Tiering, apply
from aigov_tiering.models import processed_events
from aigov_tiering.policy import PolicyPack, load_pack
from aigov_tiering.retier import retier_known_systems
from aigov_tiering.settings import Settings

GROUP: Final = "aigov-tiering"

#: Records per poll: one transaction, a few queries and one producer batch each.
MAX_RECORDS: Final = 500

log = logging.getLogger(__name__)


class TieringBatch:
    """The batch handler: a batch of lifecycle events tiered in one transaction."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], tiering: Tiering) -> None:
        self._tiering = tiering
        self._claimed = idempotent_batch(
            self._handle, sessionmaker=sessionmaker, table=processed_events, consumer=GROUP
        )

    async def __call__(self, events: Sequence[DomainEvent[Any]], /) -> None:
        """Tier `events` (those tiering already handled, or has no handler for, are skipped)."""
        # Only events tiering handles are claimed, as the per-event consumer did: the other
        # lifecycle events leave no processed-event rows behind.
        relevant = [event for event in events if event.type in HANDLERS]
        if relevant:
            await self._claimed(relevant)

    async def _handle(self, events: Sequence[DomainEvent[Any]], *, session: AsyncSession) -> None:
        state = await BatchState.load(session, events)
        for event in events:
            apply(event, state=state, tiering=self._tiering)
        decisions = await state.flush(session, policy_sha256=self._tiering.pack.ref.sha256)
        await self._tiering.publisher.publish_batch(decisions)
        log.debug(
            "tiering batch handled",
            extra={"group": GROUP, "events": len(events), "decisions": len(decisions)},
        )


class TieringConsumer(ConsumerRunner):
    """The lifecycle consumer; it first re-tiers known systems if the policy pack changed."""

    def __init__(
        self,
        bus: Bus,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        tiering: Tiering,
        **options: Any,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._tiering = tiering
        options.setdefault("max_records", MAX_RECORDS)
        super().__init__(
            bus,
            group=GROUP,
            topics=[LIFECYCLE],
            batch_handler=TieringBatch(sessionmaker, tiering),
            **options,
        )

    async def run(self) -> None:
        """Re-tier under the active pack, then consume until stopped."""
        await retier_known_systems(self._sessionmaker, self._tiering)
        await super().run()


def build_consumers(
    resources: ServiceResources,
    settings: Settings,
    *,
    pack: PolicyPack | None = None,
    **options: Any,
) -> list[ConsumerRunner]:
    """The consumer runners of tiering over the service's engine and bus (pack: from settings)."""
    if pack is None:
        pack = load_pack(settings.policy_directory())
    tiering = Tiering(pack=pack, publisher=resources["publisher"])
    return [
        TieringConsumer(
            resources["bus"], sessionmaker=resources["sessionmaker"], tiering=tiering, **options
        )
    ]
