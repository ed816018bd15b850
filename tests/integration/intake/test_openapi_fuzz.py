"""Schemathesis against intake's own OpenAPI: no client mistake is ever answered with a 5xx.

Every operation intake documents is fuzzed (schema-valid and schema-violating inputs,
boundary values) on the real broker and database, with the publisher token and with the
reader token; the rules are those of tests/integration/fuzz.py (no 5xx but a documented
503, every status, content type and body as documented, auth enforced), and the typed
endpoints and signed webhooks must refuse every schema-violating request. Bodies sent to
the signed webhooks are signed half the time, so the fuzzer gets past the signature check
into the adapters instead of only ever meeting a 401.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any, Final
from urllib.parse import urlencode

import pytest
import schemathesis
from pydantic import SecretStr
from schemathesis.core import NotSet
from starlette.types import ASGIApp

from aigov_events.testing import drop_topics
from aigov_intake.app import create_app
from aigov_intake.settings import Settings
from aigov_intake.signatures import sign_github, sign_mlflow
from tests.integration.fuzz import (
    FUZZ_MARKS,
    INTAKE_STRICT_INPUT_PATHS,
    UNLIMITED_RATE,
    FuzzRun,
    asgi_schema,
    stop_apps,
)
from tests.integration.fuzz import schemathesis_node_id as schemathesis_node_id

pytestmark = FUZZ_MARKS

RUNS: Final = (
    FuzzRun("publisher", 10, strict_input_paths=INTAKE_STRICT_INPUT_PATHS),
    FuzzRun("reader", 5, strict_input_paths=INTAKE_STRICT_INPUT_PATHS, coverage=False),
)
GITHUB_SECRET: Final = "fuzz-gh-whsec-Kd83mQz1"
MLFLOW_SECRET: Final = "fuzz-ml-whsec-Pw52nXv7"
GITHUB_EVENTS: Final = ("deployment", "deployment_status", "ping", "check_run")


@pytest.fixture(scope="module")
def intake_app(local_stack: Any) -> Iterator[ASGIApp]:
    """An intake app on Kafka + PostgreSQL (dev tokens); schemathesis drives its lifespan."""
    # Not conftest's `intake_settings`: its topics are dropped after each test, and this app
    # serves every run of the module.
    settings = Settings(
        database_url=local_stack.postgres_url,
        bus="kafka",
        kafka_bootstrap_servers=local_stack.kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        topic_partitions=1,
        github_webhook_secret=SecretStr(GITHUB_SECRET),
        mlflow_webhook_secret=SecretStr(MLFLOW_SECRET),
        log_level="WARNING",
        **UNLIMITED_RATE,
    )
    try:
        yield create_app(settings)
    finally:
        stop_apps()
        asyncio.run(drop_topics(local_stack.kafka_bootstrap, settings.topic_prefix))


@pytest.fixture(scope="module", params=RUNS, ids=[run.id for run in RUNS])
def intake_api(request: pytest.FixtureRequest, intake_app: ASGIApp) -> schemathesis.BaseSchema:
    """Intake's OpenAPI, loaded for one run (role, examples)."""
    run: FuzzRun = request.param
    return asgi_schema(intake_app, run)


api = schemathesis.pytest.from_fixture("intake_api")


def _pick(case: schemathesis.Case[Any], salt: str) -> int:
    """A stable pseudo-random number per generated case (the seed already fixes the cases)."""
    return int.from_bytes(
        hashlib.sha256(f"{salt}{case.body!r}{case.query!r}".encode()).digest()[:4]
    )


def signed_delivery(case: schemathesis.Case[Any]) -> dict[str, Any]:
    """Extra `call` arguments that sign a webhook case's body as its sender would, or none."""
    if case.path not in ("/v1/webhooks/github", "/v1/webhooks/mlflow") or isinstance(
        case.body, NotSet
    ):
        return {}
    if _pick(case, "sign") % 2:
        return {}  # leave the generated (invalid) signature headers: the 401 path is fuzzed too
    body: Any = case.body
    form = case.media_type == "application/x-www-form-urlencoded" and isinstance(body, dict)
    try:
        raw = (urlencode(body) if form else json.dumps(body)).encode()
    except (TypeError, ValueError):
        return {}
    if case.path.endswith("/github"):
        headers = {
            "X-Hub-Signature-256": sign_github(GITHUB_SECRET.encode(), raw),
            "X-GitHub-Event": GITHUB_EVENTS[_pick(case, "event") % len(GITHUB_EVENTS)],
        }
    else:
        delivery_id, timestamp = str(uuid.uuid4()), str(int(time.time()))
        headers = {
            "X-MLflow-Delivery-Id": delivery_id,
            "X-MLflow-Timestamp": timestamp,
            "X-MLflow-Signature": sign_mlflow(
                MLFLOW_SECRET.encode(), delivery_id=delivery_id, timestamp=timestamp, body=raw
            ),
        }
    return {"headers": {**headers, "Content-Type": str(case.media_type)}, "data": raw}


@api.parametrize()
def test_no_client_mistake_gets_a_server_error(case: schemathesis.Case[Any]) -> None:
    """Whatever a client sends, intake answers with a documented 2xx or 4xx, never a 5xx."""
    case.call_and_validate(**signed_delivery(case))
