"""Schemathesis against the all-in-one's merged OpenAPI, with the dev token of every role.

The four services in one process, on SQLite and the embedded bus, exactly as `make run`
starts them (no demo data, no webhook secrets: the GitHub and MLflow receivers are
unconfigured and must say so with their documented 503). The rules are those of
tests/integration/fuzz.py (no 5xx but a documented 503, every status, content type and
body as documented, auth enforced); intake's typed endpoints and signed webhooks must
refuse every schema-violating request here too. The admin run has the coverage phase
(except on intake's operations: intake's own fuzz test runs theirs); the other roles add
their view of every operation (what they may do, what is refused) with a few examples
each.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
import schemathesis
from starlette.types import ASGIApp

from aigov_embedded.app import create_app
from aigov_embedded.settings import Settings
from tests.integration.fuzz import (
    FUZZ_MARKS,
    INTAKE_OPERATIONS,
    INTAKE_STRICT_INPUT_PATHS,
    ROLES,
    UNLIMITED_RATE,
    FuzzRun,
    asgi_schema,
    local_receiver,
    stop_apps,
)
from tests.integration.fuzz import schemathesis_node_id as schemathesis_node_id
from tests.integration.monitoring_router.conftest import Receivers, routing_yaml

pytestmark = FUZZ_MARKS

RUNS: Final = (
    FuzzRun(
        "admin",
        5,
        strict_input_paths=INTAKE_STRICT_INPUT_PATHS,
        coverage_elsewhere=INTAKE_OPERATIONS,
    ),
    *(
        FuzzRun(role, 2, strict_input_paths=INTAKE_STRICT_INPUT_PATHS, coverage=False)
        for role in ROLES
        if role != "admin"
    ),
)


@pytest.fixture(scope="module")
def all_in_one(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ASGIApp]:
    """The all-in-one app on a fresh data directory; schemathesis drives its lifespan."""
    data_dir = Path(tmp_path_factory.mktemp("all-in-one-fuzz"))
    with pytest.MonkeyPatch.context() as environment, local_receiver() as base_url:
        # Developer shells may export AIGOV_*/OTEL_* variables; this app must not see them.
        for name in list(os.environ):
            if name.startswith(("AIGOV_", "OTEL_")):
                environment.delenv(name)
        # The router reads its routing file from the environment, as under `make run`; this
        # one sends every delivery to a local server instead of the shipped defaults.
        routing = data_dir / "routing.yaml"
        routing.write_text(routing_yaml(Receivers(base_url=base_url)), encoding="utf-8")
        environment.setenv("AIGOV_ROUTING_CONFIG", str(routing))
        app = create_app(
            Settings(data_dir=data_dir / "data", log_level="WARNING", **UNLIMITED_RATE)
        )
        try:
            yield app
        finally:
            stop_apps()


@pytest.fixture(scope="module", params=RUNS, ids=[run.id for run in RUNS])
def all_in_one_api(request: pytest.FixtureRequest, all_in_one: ASGIApp) -> schemathesis.BaseSchema:
    """The merged OpenAPI, loaded for one run (role, examples)."""
    run: FuzzRun = request.param
    return asgi_schema(all_in_one, run)


api = schemathesis.pytest.from_fixture("all_in_one_api")


@api.parametrize()
def test_all_in_one_answers_every_request_as_documented(case: schemathesis.Case[Any]) -> None:
    """Whatever a client sends, the all-in-one answers with a documented 2xx or 4xx, never a 5xx."""
    case.call_and_validate()
