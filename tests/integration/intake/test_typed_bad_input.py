"""Every typed JSON endpoint refuses bad input the same way: 401, 415, 400, 422 with paths."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from aigov_intake.app import create_app
from aigov_runtime.testing import app_client
from tests.integration.intake.conftest import APPROVER, PUBLISHER, Intake, auth, intake_settings

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def intake(local_stack: Any) -> AsyncIterator[Intake]:
    """One intake for the module: every request here is refused, so tests cannot interfere."""
    settings = intake_settings(local_stack)
    async with app_client(create_app(settings)) as client:
        yield Intake(client=client, settings=settings, kafka_bootstrap=local_stack.kafka_bootstrap)


@dataclass(frozen=True)
class Endpoint:
    """A typed endpoint, a token allowed to use it, and the fields its body requires."""

    path: str
    token: str
    required: tuple[str, ...]

    def __str__(self) -> str:
        return self.path


# Ids that do not exist: the body is checked before the waiver or incident is looked up.
ENDPOINTS = [
    Endpoint(
        "/v1/evaluations",
        PUBLISHER,
        ("system", "version", "suite", "dataset", "metrics", "run"),
    ),
    Endpoint("/v1/artifacts", PUBLISHER, ("system", "version", "kind", "title", "uri", "sha256")),
    Endpoint(
        "/v1/deployments", PUBLISHER, ("system", "version", "environment", "region", "status")
    ),
    Endpoint("/v1/approvals", APPROVER, ("system", "version", "decision", "rationale")),
    Endpoint(
        "/v1/waivers",
        PUBLISHER,
        ("system", "version", "controls", "justification", "expires_at"),
    ),
    Endpoint("/v1/waivers/W-UNKNOWN/grant", APPROVER, ("rationale",)),
    Endpoint("/v1/waivers/W-UNKNOWN/reject", APPROVER, ("rationale",)),
    Endpoint("/v1/alerts", PUBLISHER, ("system", "signal", "severity", "summary")),
    Endpoint(
        "/v1/incidents",
        PUBLISHER,
        ("system", "severity", "category", "summary", "reported_by", "serious", "occurred_at"),
    ),
    Endpoint("/v1/incidents/INC-UNKNOWN/acknowledge", PUBLISHER, ()),
    Endpoint("/v1/incidents/INC-UNKNOWN/contain", PUBLISHER, ("note",)),
    Endpoint("/v1/incidents/INC-UNKNOWN/resolve", PUBLISHER, ("resolution",)),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
class TestEveryEndpoint:
    async def test_no_token_is_401(self, intake: Intake, endpoint: Endpoint) -> None:
        response = await intake.client.post(
            endpoint.path, content=b"{}", headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 401

    async def test_wrong_content_type_is_415(self, intake: Intake, endpoint: Endpoint) -> None:
        response = await intake.client.post(
            endpoint.path,
            content=b"system=x",
            headers={"Content-Type": "application/x-www-form-urlencoded", **auth(endpoint.token)},
        )
        assert response.status_code == 415
        assert response.headers["content-type"].startswith("application/problem+json")

    @pytest.mark.parametrize(
        "body", [b'{"system": ', b"{'system': 'x'}", b"\xff\xfe", b"[" * 50_000 + b"]" * 50_000]
    )
    async def test_malformed_json_is_400(
        self, intake: Intake, endpoint: Endpoint, body: bytes
    ) -> None:
        response = await intake.client.post(
            endpoint.path,
            content=body,
            headers={"Content-Type": "application/json", **auth(endpoint.token)},
        )
        assert response.status_code == 400, response.text

    async def test_not_an_object_is_422(self, intake: Intake, endpoint: Endpoint) -> None:
        response = await intake.client.post(
            endpoint.path,
            content=b"[]",
            headers={"Content-Type": "application/json", **auth(endpoint.token)},
        )
        assert response.status_code == 422
        assert [e["loc"] for e in response.json()["errors"]] == [["body"]]

    async def test_every_missing_field_is_named(self, intake: Intake, endpoint: Endpoint) -> None:
        response = await intake.client.post(
            endpoint.path,
            content=b"{}",
            headers={"Content-Type": "application/json", **auth(endpoint.token)},
        )
        if not endpoint.required:
            assert response.status_code == 404  # a valid body, for an unknown incident
            return
        assert response.status_code == 422
        errors = response.json()["errors"]
        assert sorted(e["loc"][1] for e in errors) == sorted(endpoint.required)
        assert {e["type"] for e in errors} == {"missing"}

    async def test_unknown_fields_are_refused_not_dropped(
        self, intake: Intake, endpoint: Endpoint
    ) -> None:
        response = await intake.client.post(
            endpoint.path,
            content=json.dumps({"severty": "high"}),
            headers={"Content-Type": "application/json", **auth(endpoint.token)},
        )
        assert response.status_code == 422
        errors = {tuple(e["loc"]): e["type"] for e in response.json()["errors"]}
        assert errors[("body", "severty")] == "extra_forbidden"

    async def test_a_bad_idempotency_key_is_422(self, intake: Intake, endpoint: Endpoint) -> None:
        response = await intake.client.post(
            endpoint.path,
            content=b"{}",
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": "has spaces",
                **auth(endpoint.token),
            },
        )
        assert response.status_code == 422
        assert ["header", "Idempotency-Key"] in [e["loc"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/waivers/%00/grant",
        "/v1/waivers/{long}/reject",
        "/v1/incidents/%20INC/contain",
        "/v1/incidents/{long}/resolve",
    ],
)
async def test_ids_intake_cannot_have_issued_are_404(intake: Intake, path: str) -> None:
    body = {"rationale": "r", "note": "n", "resolution": "r"}
    field = {
        "grant": "rationale",
        "reject": "rationale",
        "contain": "note",
        "resolve": "resolution",
    }
    step = path.rsplit("/", 1)[1]
    response = await intake.client.post(
        path.format(long="W" * 5000),
        content=json.dumps({field[step]: body[field[step]]}),
        headers={
            "Content-Type": "application/json",
            **auth(APPROVER if "waivers" in path else PUBLISHER),
        },
    )
    assert response.status_code == 404, response.text


EVALUATION: dict[str, Any] = {
    "system": "support-summarizer",
    "version": "2026.11.3",
    "suite": "release-evaluation",
    "dataset": {"id": "support-eval-set", "version": "7"},
    "metrics": [{"name": "groundedness", "value": 0.86, "higher_is_better": True}],
    "run": {"id": "8812"},
}
INCIDENT: dict[str, Any] = {
    "system": "support-summarizer",
    "severity": "high",
    "category": "privacy",
    "summary": "A summary included another customer's contact details",
    "reported_by": "support agent",
    "serious": False,
    "occurred_at": "2026-11-20T09:42:00Z",
}


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        (
            "/v1/evaluations",
            {**EVALUATION, "metrics": [{**EVALUATION["metrics"][0], "higher_is_better": 1}]},
            ["body", "metrics", 0, "higher_is_better"],
        ),
        (
            "/v1/evaluations",
            {**EVALUATION, "metrics": [{**EVALUATION["metrics"][0], "value": "0.86"}]},
            ["body", "metrics", 0, "value"],
        ),
        ("/v1/evaluations", {**EVALUATION, "version": 7}, ["body", "version"]),
        ("/v1/incidents", {**INCIDENT, "serious": 0}, ["body", "serious"]),
        ("/v1/incidents", {**INCIDENT, "serious": "false"}, ["body", "serious"]),
        ("/v1/incidents", {**INCIDENT, "occurred_at": 1763631720}, ["body", "occurred_at"]),
    ],
    ids=lambda value: "-".join(map(str, value)) if isinstance(value, list) else "",
)
async def test_values_of_another_json_type_are_422_not_coerced(
    intake: Intake, path: str, body: dict[str, Any], loc: list[str | int]
) -> None:
    # Lax parsing would read 0 as false, "0.86" as a number and an epoch as a time:
    # evidence that says something other than what the sender's schema says it sent.
    # Only the altered field is named: the rest of each body is valid as it stands.
    response = await intake.client.post(
        path,
        content=json.dumps(body),
        headers={"Content-Type": "application/json", **auth(PUBLISHER)},
    )
    assert response.status_code == 422, response.text
    assert [error["loc"] for error in response.json()["errors"]] == [loc]
