"""Schemathesis against the monitoring router's own OpenAPI, on the real broker and database.

Every documented operation is fuzzed (schema-valid and schema-violating inputs, boundary
values) with the admin token and with the reader token; the rules are those of
tests/integration/fuzz.py (no 5xx but a documented 503, every status, content type and
body as documented, auth enforced). The routing tree is the integration tests' own, every
receiver on a local HTTP server, so probes and test routes deliver without leaving the
machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
import schemathesis
from starlette.types import ASGIApp

from aigov_events.testing import drop_topics
from aigov_monitoring_router.app import create_app
from tests.integration.fuzz import (
    FUZZ_MARKS,
    UNLIMITED_RATE,
    FuzzRun,
    asgi_schema,
    local_receiver,
    stop_apps,
)
from tests.integration.fuzz import schemathesis_node_id as schemathesis_node_id
from tests.integration.monitoring_router.conftest import (
    Receivers,
    drop_schema,
    router_settings,
    routing_yaml,
)

pytestmark = FUZZ_MARKS

RUNS: Final = (FuzzRun("admin", 10), FuzzRun("reader", 10, coverage=False))


@pytest.fixture(scope="module")
def router_app(local_stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ASGIApp]:
    """A router app on Kafka + PostgreSQL (dev tokens); schemathesis drives its lifespan."""
    with local_receiver() as base_url:
        config = Path(tmp_path_factory.mktemp("router-fuzz")) / "routing.yaml"
        config.write_text(routing_yaml(Receivers(base_url=base_url)), encoding="utf-8")
        settings = router_settings(
            local_stack, config, auth_tokens=None, log_level="WARNING", **UNLIMITED_RATE
        )
        try:
            yield create_app(settings)
        finally:
            stop_apps()
            asyncio.run(drop_topics(local_stack.kafka_bootstrap, settings.topic_prefix))
            asyncio.run(drop_schema(local_stack.postgres_url, settings.router_db_schema))


@pytest.fixture(scope="module", params=RUNS, ids=[run.id for run in RUNS])
def router_api(request: pytest.FixtureRequest, router_app: ASGIApp) -> schemathesis.BaseSchema:
    """The router's OpenAPI, loaded for one run (role, examples)."""
    run: FuzzRun = request.param
    return asgi_schema(router_app, run)


api = schemathesis.pytest.from_fixture("router_api")


@api.parametrize()
def test_router_answers_every_request_as_documented(case: schemathesis.Case[Any]) -> None:
    """Whatever a client sends, the router answers with a documented 2xx or 4xx, never a 5xx."""
    case.call_and_validate()
