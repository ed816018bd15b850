"""Schemathesis runs shared by every OpenAPI fuzz test: one config, one loader, one receiver.

Each service's fuzz test (intake, tiering, evidence, monitoring-router, the all-in-one)
builds its run here, so all of them hold the services to the same rules:

- no 5xx, except a 503 on an operation that documents one (a dependency is down or not
  configured: the client may retry, and the OpenAPI says so);
- every status code, content type and response body is what the OpenAPI documents;
- an operation that requires a token refuses the request without it (`ignored_auth`);
- the operations a test names as strict refuse every schema-violating request with a 4xx.

`positive_data_acceptance` stays off everywhere: a schema-valid request is legitimately
refused for what the OpenAPI cannot express (the caller's role, a webhook signature, the
AI system a payload names, the event catalog's cross-field rules).

Runs are bounded (`max_examples` per operation and phase, no shrinking, no stateful
phase) and reproducible: a fixed seed, which `AIGOV_FUZZ_SEED` overrides to explore other
inputs. Every fuzz test uses the dev token of a role (`dev-<role>-token-please-change`):
a failure's curl reproduction (schemathesis prints the token as `[Filtered]`; the test id
names the role) replays against `make run` with that token and port 8080.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final, cast

import pytest
import schemathesis
from schemathesis.python import asgi
from starlette.types import ASGIApp

SEED: Final = int(os.environ.get("AIGOV_FUZZ_SEED", "20261126"))
ROLES: Final = ("publisher", "owner", "approver", "reader", "admin")
#: Where requests claim to go: a loopback name, as a local client's would be. Apps on the dev
#: tokens refuse other Host names (421, DNS rebinding), schemathesis' `testserver` included.
BASE_URL: Final = "http://127.0.0.1"
HTTP_METHODS: Final = frozenset({"get", "put", "post", "delete", "patch", "options", "head"})
#: What a strict operation may answer to a schema-violating request (413 refuses an
#: over-long body as surely as a 422; 404 an id the path template cannot hold; 503 a
#: receiver that is not configured, which refuses before reading anything). A 503 that an
#: operation does not document still fails `not_a_server_error` and the status check.
REJECTION_STATUSES: Final = (400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 503)
#: Schemathesis' default for `missing_required_header`.
MISSING_HEADER_STATUSES: Final = (400, 401, 403, 406, 415, 422)
#: Operations whose body is an AI system manifest. The coverage phase sends one case per
#: boundary and per wrong type of each of the manifest's many fields: 2,500 to 5,000
#: requests per run, minutes of this suite's budget. Their fuzzing phase still sends
#: manifests, schema-valid and not, and tests/unit validates the manifest field by field.
MANIFEST_OPERATIONS: Final = ("POST /v1/systems", "POST /v1/tiering/simulate")
#: Intake's operations that must refuse every schema-violating request: the typed endpoints
#: (their bodies are validated strictly, no `0` for `false`) and the signed webhooks.
#: `/v1/events` treats a JSON `null` attribute as absent (CloudEvents JSON format), which its
#: documented schema does not allow yet.
INTAKE_STRICT_INPUT_PATHS: Final = (
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
#: Every operation intake serves (all POSTs): the all-in-one leaves their coverage phase to
#: intake's own fuzz test, which runs it on the production stack.
INTAKE_OPERATIONS: Final = tuple(
    f"POST {path}"
    for path in (
        *INTAKE_STRICT_INPUT_PATHS,
        "/v1/events",
        "/v1/webhooks/cdevents",
        "/v1/webhooks/openlineage",
        "/v1/webhooks/alertmanager",
        "/v1/webhooks/grafana",
    )
)
#: Rate limiting is tested on its own; in a fuzz run it would only turn inputs into 429s.
UNLIMITED_RATE: Final[dict[str, Any]] = {
    "rate_limit_per_second": 1_000_000,
    "rate_limit_burst": 1_000_000,
}

#: Marks every fuzz test module carries.
FUZZ_MARKS: Final = [
    pytest.mark.integration,
    # A run covers every operation of a service in one test item.
    pytest.mark.timeout(600),
    # The apps run in this process, on schemathesis' event loop thread, and draw retry jitter
    # from the global `random` (aiokafka, the consumer runner, the router's outbound retries).
    # Hypothesis notices the global state moving while it draws a case and takes it for a
    # strategy using `random`; the cases stay reproducible (their seed is hypothesis' own).
    pytest.mark.filterwarnings(
        "ignore:Do not use the `random` module inside strategies"
        ":hypothesis.errors.HypothesisDeprecationWarning"
    ),
]


def dev_token(role: str) -> str:
    """The public dev token of `role` (in effect when env=dev and no tokens are configured)."""
    return f"dev-{role}-token-please-change"


@dataclass(frozen=True)
class FuzzRun:
    """One schemathesis run: whose token it sends and how much it generates."""

    role: str
    max_examples: int
    #: Paths whose operations must also refuse every schema-violating request.
    strict_input_paths: Sequence[str] = ()
    #: The coverage phase (boundary values, every unexpected method, each required part
    #: left out) costs a fixed, large number of requests per operation whatever
    #: `max_examples` is; runs that only add a role's view of the API can leave it out.
    coverage: bool = True
    #: Operations ("METHOD /path") whose coverage phase another run already sends.
    coverage_elsewhere: Sequence[str] = ()

    @property
    def token(self) -> str:
        """The bearer token the run authenticates with."""
        return dev_token(self.role)

    @property
    def id(self) -> str:
        """A pytest id naming the run."""
        return f"{self.role}-x{self.max_examples}{'' if self.coverage else '-no-coverage'}"


def operations_documenting(document: Mapping[str, Any], status: str) -> list[str]:
    """The operations ("METHOD /path") whose responses in `document` include `status`."""
    found: list[str] = []
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in HTTP_METHODS and status in operation.get("responses", {}):
                found.append(f"{method.upper()} {path}")
    return found


def _operation_names(document: Mapping[str, Any]) -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, item in document.get("paths", {}).items()
        for method in item
        if method in HTTP_METHODS
    }


def fuzz_config(document: Mapping[str, Any], run: FuzzRun) -> schemathesis.Config:
    """The schemathesis configuration of `run` against the OpenAPI `document`."""
    operations: list[dict[str, Any]] = []
    retryable = operations_documenting(document, "503")
    if retryable:
        operations.append(
            {
                "include-name": retryable,
                "checks": {
                    "not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "503"]},
                    # An unconfigured receiver refuses before it looks at any header.
                    "missing_required_header": {
                        "expected-statuses": [*MISSING_HEADER_STATUSES, 503]
                    },
                },
            }
        )
    names = _operation_names(document)
    without_coverage = [n for n in (*MANIFEST_OPERATIONS, *run.coverage_elsewhere) if n in names]
    if without_coverage:
        operations.append(
            {"include-name": without_coverage, "phases": {"coverage": {"enabled": False}}}
        )
    if run.strict_input_paths:
        operations.append(
            {
                "include-path": list(run.strict_input_paths),
                "checks": {
                    "negative_data_rejection": {
                        "enabled": True,
                        "expected-statuses": list(REJECTION_STATUSES),
                    }
                },
            }
        )
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "base-url": BASE_URL,
            # As auth (not a fixed header), so `ignored_auth` can also try requests without it.
            "auth": {"openapi": {"bearerAuth": {"bearer": run.token}}},
            "generation": {"mode": "all", "max-examples": run.max_examples, "no-shrink": True},
            "phases": {
                "coverage": {"enabled": run.coverage},
                "stateful": {"enabled": False},
            },
            "checks": {
                "positive_data_acceptance": {"enabled": False},
                "negative_data_rejection": {"enabled": False},
            },
            "operations": operations,
        }
    )


def openapi_document(app: ASGIApp) -> dict[str, Any]:
    """The OpenAPI document `app` serves (starting its lifespan, which schemathesis keeps)."""
    # Schemathesis types ASGI apps with plain dicts where Starlette has mappings.
    with asgi.get_client(cast(asgi.ASGIApp, app)) as client:
        response = client.get(f"{BASE_URL}/openapi.json")
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document


def asgi_schema(app: ASGIApp, run: FuzzRun) -> schemathesis.BaseSchema:
    """`app`'s OpenAPI, loaded for `run`; requests go to `app` in-process, lifespan running."""
    config = fuzz_config(openapi_document(app), run)
    host = {"Host": BASE_URL.removeprefix("http://")}
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config, headers=host)


def stop_apps() -> None:
    """End the lifespans schemathesis started, closing the apps' bus clients and databases."""
    asgi.shutdown_lifespans()


@pytest.fixture(autouse=True)
def schemathesis_node_id(request: pytest.FixtureRequest) -> None:
    """Schemathesis 4.32's fixture loader reads `Function._nodeid`, which pytest 9.2 removed."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


class _Receiver(BaseHTTPRequestHandler):
    """Accepts every delivery: as a webhook (200) or PagerDuty's Events API (202) would."""

    def do_POST(self) -> None:
        """Read the delivery and acknowledge it."""
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        pagerduty = self.path.startswith("/pd")
        body = json.dumps(
            {"status": "success", "message": "Event processed", "dedup_key": "fuzz"}
            if pagerduty
            else {"ok": True}
        ).encode()
        self.send_response(202 if pagerduty else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output free of one line per delivery."""


@contextmanager
def local_receiver() -> Iterator[str]:
    """A local HTTP server standing in for every router receiver; yields its base URL.

    A thread of its own, since schemathesis runs the apps on an event loop of its own and
    the router's deliveries must never leave the machine.
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, name="fuzz-receiver", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
