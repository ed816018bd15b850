"""Schemathesis against intake's own OpenAPI: no client mistake is ever answered with a 5xx.

Every operation intake documents is fuzzed (schema-valid and schema-violating inputs,
boundary values) on the real broker and database, with a valid publisher token. Bodies
sent to the signed webhooks are signed half the time, so the fuzzer gets past the
signature check into the adapters instead of only ever meeting a 401.

Bounded: `MAX_EXAMPLES` per operation and phase, a fixed seed (set `AIGOV_FUZZ_SEED` to
explore other inputs), no shrinking. Responses must also match what the OpenAPI documents
(status codes, content types, schemas).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any, Final
from urllib.parse import urlencode

import pytest
import schemathesis
from pydantic import SecretStr
from schemathesis.core import NotSet
from schemathesis.python import asgi

from aigov_intake.app import create_app
from aigov_intake.signatures import sign_github, sign_mlflow
from tests.integration.intake.conftest import PUBLISHER, intake_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

MAX_EXAMPLES: Final = 25
SEED: Final = int(os.environ.get("AIGOV_FUZZ_SEED", "20261126"))
GITHUB_SECRET: Final = "fuzz-gh-whsec-Kd83mQz1"
MLFLOW_SECRET: Final = "fuzz-ml-whsec-Pw52nXv7"
GITHUB_EVENTS: Final = ("deployment", "deployment_status", "ping", "check_run")
#: Operations also checked to refuse every schema-violating request: the typed endpoints
#: (their bodies are validated strictly, no `0` for `false`) and the signed webhooks.
#: `/v1/events` treats a JSON `null` attribute as absent (CloudEvents JSON format), which its
#: documented schema does not allow yet.
STRICT_INPUT_OPERATIONS: Final = (
    "/v1/systems",
    "/v1/evaluations",
    "/v1/artifacts",
    "/v1/deployments",
    "/v1/approvals",
    "/v1/waivers",
    "/v1/waivers/{waiver_id}/grant",
    "/v1/waivers/{waiver_id}/reject",
    "/v1/alerts",
    "/v1/incidents",
    "/v1/incidents/{incident_id}/acknowledge",
    "/v1/incidents/{incident_id}/contain",
    "/v1/incidents/{incident_id}/resolve",
    "/v1/webhooks/github",
    "/v1/webhooks/mlflow",
)


@pytest.fixture(scope="module")
def intake_api(local_stack: Any) -> Iterator[schemathesis.BaseSchema]:
    """Intake's OpenAPI, loaded from a running app whose lifespan schemathesis drives."""
    settings = intake_settings(
        local_stack,
        github_webhook_secret=SecretStr(GITHUB_SECRET),
        mlflow_webhook_secret=SecretStr(MLFLOW_SECRET),
        # Rate limiting is tested on its own; here it would only turn inputs into 429s.
        rate_limit_per_second=1_000_000,
        rate_limit_burst=1_000_000,
        log_level="WARNING",
    )
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            # As auth (not a fixed header), so `ignored_auth` can also try requests without it.
            "auth": {"openapi": {"bearerAuth": {"bearer": PUBLISHER}}},
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "no-shrink": True},
            "phases": {"stateful": {"enabled": False}},
            "checks": {
                # Schema-valid is not enough to be accepted here: roles, signatures, the
                # AI system a payload names and the catalog's cross-field rules all refuse
                # requests the OpenAPI schema cannot express.
                "positive_data_acceptance": {"enabled": False},
                "negative_data_rejection": {"enabled": False},
            },
            "operations": [
                {
                    "include-path": list(STRICT_INPUT_OPERATIONS),
                    "checks": {
                        "negative_data_rejection": {
                            "enabled": True,
                            # 413 refuses an over-long batch as surely as a 422 would.
                            "expected-statuses": [400, 401, 403, 404, 405, 409, 413, 415, 422, 429],
                        }
                    },
                }
            ],
        }
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(settings), config=config)
    try:
        yield schema
    finally:
        # Schemathesis runs the app's lifespan on its own event loop thread: end it here,
        # so the app's Kafka clients and database pool are closed before the session ends.
        asgi.shutdown_lifespans()


api = schemathesis.pytest.from_fixture("intake_api")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """Schemathesis 4.32's fixture loader reads `Function._nodeid`, which pytest 9.2 removed."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


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
