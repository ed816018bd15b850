"""`python -m aigov_evidence.worker`: the ledger consumer and background jobs, without HTTP.

For deployments that scale consumers apart from the API (the API then runs with
`AIGOV_RUN_CONSUMERS=false`). Stops gracefully on SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import logging

from aigov_events.consumer import run_until_signalled
from aigov_events.producer import Publisher
from aigov_events.topics import ALL_TOPICS
from aigov_evidence.app import migrate
from aigov_evidence.consumers import build_consumers
from aigov_evidence.periodic import background_jobs
from aigov_evidence.settings import Settings
from aigov_runtime.database import create_engine, create_sessionmaker
from aigov_runtime.logging import configure_logging
from aigov_runtime.resources import ServiceResources, open_bus

log = logging.getLogger(__name__)


async def run(settings: Settings) -> None:
    """Consume into the ledger until signalled."""
    await migrate(settings)
    engine = create_engine(settings.database_url, schema=settings.evidence_schema)
    bus = open_bus(settings, client_id="evidence-worker")
    try:
        await bus.start()
        await bus.ensure_topics(ALL_TOPICS)
        resources: ServiceResources = {
            "engine": engine,
            "sessionmaker": create_sessionmaker(engine),
            "bus": bus,
            "publisher": Publisher(bus),
            "consumers": [],
            "consumer_tasks": [],
        }
        runners = build_consumers(resources, settings)
        async with background_jobs(resources, settings):
            await run_until_signalled(*runners)
    finally:
        await bus.stop()
        await engine.dispose()


def main() -> None:
    """Run the evidence worker with settings from the environment."""
    settings = Settings()
    configure_logging(settings.log_level, "evidence-worker", log_file=settings.log_file)
    asyncio.run(run(settings))
    log.info("evidence worker stopped")


if __name__ == "__main__":
    main()
