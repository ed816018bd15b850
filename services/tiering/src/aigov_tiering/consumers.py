"""The tiering consumer: `aigov.lifecycle` in, decisions out; importable without the app (embedded mode)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_events.bus import Bus
from aigov_events.catalog import (
    ApprovalGranted,
    EvaluationCompleted,
    EventPayload,
    SystemRegistered,
    SystemRetired,
    SystemUpdated,
)
from aigov_events.consumer import ConsumerRunner, Dispatcher
from aigov_events.message import DomainEvent
from aigov_events.topics import LIFECYCLE
from aigov_runtime.idempotency import idempotent
from aigov_runtime.resources import ServiceResources
from aigov_tiering import handlers
from aigov_tiering.handlers import Tiering
from aigov_tiering.models import processed_events
from aigov_tiering.policy import PolicyPack, load_pack
from aigov_tiering.retier import retier_known_systems
from aigov_tiering.settings import Settings

GROUP: Final = "aigov-tiering"

P = TypeVar("P", bound=EventPayload)
TieringHandler = Callable[..., Awaitable[None]]


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
        super().__init__(
            bus,
            group=GROUP,
            topics=[LIFECYCLE],
            handler=_dispatcher(sessionmaker, tiering),
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


def _dispatcher(sessionmaker: async_sessionmaker[AsyncSession], tiering: Tiering) -> Dispatcher:
    dispatcher = Dispatcher()

    def register(payload_type: type[P], handler: TieringHandler) -> None:
        async def bound(event: DomainEvent[Any], *, session: AsyncSession) -> None:
            await handler(event, session=session, tiering=tiering)

        dispatcher.register(
            payload_type,
            idempotent(bound, sessionmaker=sessionmaker, table=processed_events, consumer=GROUP),
        )

    register(SystemRegistered, handlers.on_system_registered)
    register(SystemUpdated, handlers.on_system_updated)
    register(SystemRetired, handlers.on_system_retired)
    register(ApprovalGranted, handlers.on_approval_granted)
    register(EvaluationCompleted, handlers.on_evaluation_completed)
    return dispatcher
