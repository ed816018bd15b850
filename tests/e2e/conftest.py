"""Fixtures of the end-to-end suite: a running aigov in each run mode, and a receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from aigov_events.testing import drop_topics
from tests.conftest import LocalStack
from tests.e2e.deployment import (
    Deployment,
    Receiver,
    routing_config,
    start_embedded,
    start_services,
    stop,
    unique,
    wait_ready,
)


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A local HTTP server standing in for on-call's webhook endpoint."""
    server = Receiver()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture(params=["embedded", "services"])
async def deployment(
    request: pytest.FixtureRequest, tmp_path: Path, receiver: Receiver
) -> AsyncIterator[Deployment]:
    """aigov running in one run mode, routing alerts to `receiver`."""
    routing = tmp_path / "routing.yaml"
    routing.write_text(routing_config(receiver))
    if request.param == "embedded":
        running = start_embedded(tmp_path, routing)
        try:
            await wait_ready(running)
            yield running
        finally:
            stop(running)
        return
    stack: LocalStack = request.getfixturevalue("local_stack")
    database = unique("aigov_e2e_")
    # CREATE/DROP DATABASE cannot run in a transaction.
    admin = create_async_engine(stack.postgres_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{database}"'))
    prefix = unique("e2e") + "."
    running = start_services(
        tmp_path,
        routing,
        kafka=stack.kafka_bootstrap,
        database_url=make_url(stack.postgres_url)
        .set(database=database)
        .render_as_string(hide_password=False),
        topic_prefix=prefix,
    )
    try:
        await wait_ready(running)
        yield running
    finally:
        stop(running)
        await drop_topics(stack.kafka_bootstrap, prefix)
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        await admin.dispose()
