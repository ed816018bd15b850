"""Intake's OpenAPI: the incident reads with examples and problems, tags by domain concept."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import SecretStr

from aigov_events.envelope import BATCH_CONTENT_TYPE
from aigov_intake.app import create_app
from aigov_intake.schemas import IncidentList, IncidentOut
from aigov_intake.settings import Settings
from aigov_runtime.tags import Tag


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Intake's OpenAPI document (the app is built, not started)."""
    directory = tmp_path_factory.mktemp("intake")
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{directory / 'intake.sqlite3'}",
        bus="embedded",
        embedded_bus_path=directory / "bus.sqlite3",
        auth_tokens=SecretStr(
            json.dumps({"openapi-test-token-7Qx2": {"principal": "t", "roles": ["reader"]}})
        ),
    )
    document: dict[str, Any] = create_app(settings).openapi()
    return document


def operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in openapi["paths"].items()
        for method, operation in item.items()
    ]


#: Path prefix -> the one tag its operations carry (the brief's grouping by what users look for).
TAG_OF: dict[str, Tag] = {
    "/v1/systems": Tag.SYSTEMS,
    "/v1/evaluations": Tag.RELEASES,
    "/v1/artifacts": Tag.RELEASES,
    "/v1/deployments": Tag.RELEASES,
    "/v1/approvals": Tag.RELEASES,
    "/v1/waivers": Tag.WAIVERS,
    "/v1/events": Tag.EVIDENCE,
    "/v1/alerts": Tag.INCIDENTS,
    "/v1/incidents": Tag.INCIDENTS,
    "/v1/webhooks/": Tag.INTEGRATIONS,
}


def test_every_intake_route_carries_its_domain_tag(openapi: dict[str, Any]) -> None:
    seen = set()
    for path, method, operation in operations(openapi):
        if not path.startswith("/v1/"):
            continue
        [prefix] = [p for p in TAG_OF if path == p or path.startswith(p.rstrip("/") + "/")]
        assert operation["tags"] == [TAG_OF[prefix].value], (method, path)
        seen.add(prefix)
    assert seen == set(TAG_OF)


@pytest.mark.parametrize(
    ("path", "model", "problems"),
    [
        ("/v1/incidents", IncidentList, {"401", "403", "422", "429"}),
        ("/v1/incidents/{incident_id}", IncidentOut, {"401", "403", "404", "422", "429"}),
    ],
)
def test_incident_reads_have_examples_and_problems(
    openapi: dict[str, Any], path: str, model: type[IncidentOut | IncidentList], problems: set[str]
) -> None:
    operation = openapi["paths"][path]["get"]
    assert operation["summary"]
    assert operation["description"]
    assert problems <= set(operation["responses"])
    for status in problems:
        assert "application/problem+json" in operation["responses"][status]["content"]
    example = operation["responses"]["200"]["content"]["application/json"]["example"]
    model.model_validate(example)


def test_the_list_documents_its_filters_and_the_limit_bound(openapi: dict[str, Any]) -> None:
    parameters = {p["name"]: p for p in openapi["paths"]["/v1/incidents"]["get"]["parameters"]}
    assert set(parameters) == {"system", "status", "opened_by", "limit"}
    assert parameters["limit"]["schema"]["maximum"] == 500
    assert parameters["status"]["schema"]["anyOf"][0]["type"] == "array"


def test_the_empty_batch_is_documented(openapi: dict[str, Any]) -> None:
    body = openapi["paths"]["/v1/events"]["post"]["requestBody"]
    examples = body["content"][BATCH_CONTENT_TYPE]["examples"]
    assert [] in [example["value"] for example in examples.values()]
    assert "`[]` is valid" in body["description"]
