"""Schemathesis against tiering's own OpenAPI, on the real broker and database.

Every documented operation is fuzzed (schema-valid and schema-violating inputs, boundary
values) with the admin token and with the reader token; the rules are those of
tests/integration/fuzz.py (no 5xx but a documented 503, every status, content type and
body as documented, auth enforced).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any, Final

import pytest
import schemathesis
from starlette.types import ASGIApp

from aigov_events.testing import drop_topics
from aigov_tiering.app import create_app
from aigov_tiering.settings import Settings
from tests.integration.fuzz import FUZZ_MARKS, UNLIMITED_RATE, FuzzRun, asgi_schema, stop_apps
from tests.integration.fuzz import schemathesis_node_id as schemathesis_node_id

pytestmark = FUZZ_MARKS

RUNS: Final = (FuzzRun("admin", 10), FuzzRun("reader", 10, coverage=False))


@pytest.fixture(scope="module")
def tiering_app(local_stack: Any) -> Iterator[ASGIApp]:
    """A tiering app on Kafka + PostgreSQL (dev tokens); schemathesis drives its lifespan."""
    settings = Settings(
        database_url=local_stack.postgres_url,
        bus="kafka",
        kafka_bootstrap_servers=local_stack.kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        topic_partitions=1,
        shutdown_timeout_seconds=10,
        log_level="WARNING",
        **UNLIMITED_RATE,
    )
    try:
        yield create_app(settings)
    finally:
        stop_apps()
        asyncio.run(drop_topics(local_stack.kafka_bootstrap, settings.topic_prefix))


@pytest.fixture(scope="module", params=RUNS, ids=[run.id for run in RUNS])
def tiering_api(request: pytest.FixtureRequest, tiering_app: ASGIApp) -> schemathesis.BaseSchema:
    """Tiering's OpenAPI, loaded for one run (role, examples)."""
    run: FuzzRun = request.param
    return asgi_schema(tiering_app, run)


api = schemathesis.pytest.from_fixture("tiering_api")


@api.parametrize()
def test_tiering_answers_every_request_as_documented(case: schemathesis.Case[Any]) -> None:
    """Whatever a client sends, tiering answers with a documented 2xx or 4xx, never a 5xx."""
    case.call_and_validate()
