"""Background jobs of the evidence service: waiver sweep, signed checkpoints, KPI gauges.

Importable apart from `create_app`, so the all-in-one server can run them too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from aigov_evidence.checkpoints import load_signing_key, take_checkpoint
from aigov_evidence.kpis.gauges import COLLECTOR
from aigov_evidence.settings import Settings
from aigov_evidence.sweep import sweep_waivers
from aigov_runtime.resources import ServiceResources

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]


async def every(interval: float, job: Job, *, name: str) -> None:
    """Run `job` every `interval` seconds until cancelled; a failure is logged, not fatal."""
    while True:
        try:
            await job()
        except Exception as exc:  # the next run may succeed (database or broker back)
            log.error("periodic job failed", extra={"job": name, "error": repr(exc)})
        await asyncio.sleep(interval)


@asynccontextmanager
async def background_jobs(resources: ServiceResources, settings: Settings) -> AsyncIterator[None]:
    """Run the sweep, checkpoints and KPI refresh while open (an interval of 0 turns one off)."""
    sessionmaker, publisher = resources["sessionmaker"], resources["publisher"]
    tasks: list[asyncio.Task[None]] = []
    if settings.evidence_waiver_sweep_interval_seconds > 0:

        async def sweep() -> None:
            await sweep_waivers(sessionmaker, publisher, now=datetime.now(UTC))

        tasks.append(
            asyncio.create_task(
                every(settings.evidence_waiver_sweep_interval_seconds, sweep, name="waiver-sweep")
            )
        )
    if settings.evidence_checkpoint_interval_seconds > 0:
        key = load_signing_key(settings)

        async def checkpoint() -> None:
            async with sessionmaker() as session, session.begin():
                await take_checkpoint(session, key)

        tasks.append(
            asyncio.create_task(
                every(settings.evidence_checkpoint_interval_seconds, checkpoint, name="checkpoint")
            )
        )
    if settings.evidence_kpi_refresh_seconds > 0:

        async def kpis() -> None:
            await COLLECTOR.refresh(sessionmaker)

        tasks.append(
            asyncio.create_task(every(settings.evidence_kpi_refresh_seconds, kpis, name="kpis"))
        )
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
