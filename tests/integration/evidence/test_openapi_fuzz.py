"""Schemathesis against evidence's own OpenAPI, on the real broker and database.

Every documented operation is fuzzed (schema-valid and schema-violating inputs, boundary
values) with the admin token and with the reader token; the rules are those of
tests/integration/fuzz.py (no 5xx but a documented 503, every status, content type and
body as documented, auth enforced).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any, Final

import pytest
import schemathesis
from starlette.types import ASGIApp

from aigov_evidence.app import create_app
from tests.integration.evidence.conftest import drop_private, private_settings
from tests.integration.fuzz import FUZZ_MARKS, UNLIMITED_RATE, FuzzRun, asgi_schema, stop_apps
from tests.integration.fuzz import schemathesis_node_id as schemathesis_node_id

pytestmark = FUZZ_MARKS

RUNS: Final = (FuzzRun("admin", 10), FuzzRun("reader", 10, coverage=False))


@pytest.fixture(scope="module")
def evidence_app(local_stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ASGIApp]:
    """An evidence app on Kafka + PostgreSQL (dev tokens); schemathesis drives its lifespan."""
    settings = private_settings(
        local_stack,
        tmp_path_factory.mktemp("evidence-fuzz"),
        auth_tokens=None,
        log_level="WARNING",
        **UNLIMITED_RATE,
    )
    try:
        yield create_app(settings)
    finally:
        stop_apps()
        asyncio.run(drop_private(local_stack, settings))


@pytest.fixture(scope="module", params=RUNS, ids=[run.id for run in RUNS])
def evidence_api(request: pytest.FixtureRequest, evidence_app: ASGIApp) -> schemathesis.BaseSchema:
    """Evidence's OpenAPI, loaded for one run (role, examples)."""
    run: FuzzRun = request.param
    return asgi_schema(evidence_app, run)


api = schemathesis.pytest.from_fixture("evidence_api")


@api.parametrize()
def test_evidence_answers_every_request_as_documented(case: schemathesis.Case[Any]) -> None:
    """Whatever a client sends, evidence answers with a documented 2xx or 4xx, never a 5xx."""
    case.call_and_validate()
