"""The typed endpoints' OpenAPI: real request schemas, the public examples verbatim, docs."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, SecretStr

from aigov_events.catalog import AISystemManifest
from aigov_intake.api import typed_examples
from aigov_intake.api.typed_openapi import inline_schema
from aigov_intake.app import create_app
from aigov_intake.schemas import (
    AlertRequest,
    ApprovalRequest,
    ArtifactRequest,
    DeploymentRequest,
    EvaluationRequest,
    IncidentAcknowledgeRequest,
    IncidentContainRequest,
    IncidentRequest,
    IncidentResolveRequest,
    SystemAccepted,
    WaiverDecisionRequest,
    WaiverRequest,
)
from aigov_intake.settings import Settings
from tests.fixtures import EXAMPLES

#: Request example file -> its copy in typed_examples.
REQUEST_COPIES: dict[str, dict[str, Any]] = {
    "evaluation.json": typed_examples.EVALUATION,
    "artifact.json": typed_examples.ARTIFACT,
    "deployment.json": typed_examples.DEPLOYMENT,
    "approval.json": typed_examples.APPROVAL,
    "waiver-request.json": typed_examples.WAIVER_REQUEST,
    "alert.json": typed_examples.ALERT,
    "incident.json": typed_examples.INCIDENT,
}

#: Typed JSON path -> the model its body is validated as.
BODIES: dict[str, type[BaseModel]] = {
    "/v1/evaluations": EvaluationRequest,
    "/v1/artifacts": ArtifactRequest,
    "/v1/deployments": DeploymentRequest,
    "/v1/approvals": ApprovalRequest,
    "/v1/waivers": WaiverRequest,
    "/v1/waivers/{waiver_id}/grant": WaiverDecisionRequest,
    "/v1/waivers/{waiver_id}/reject": WaiverDecisionRequest,
    "/v1/alerts": AlertRequest,
    "/v1/incidents": IncidentRequest,
    "/v1/incidents/{incident_id}/acknowledge": IncidentAcknowledgeRequest,
    "/v1/incidents/{incident_id}/contain": IncidentContainRequest,
    "/v1/incidents/{incident_id}/resolve": IncidentResolveRequest,
}


#: Typed path -> the public request example it must show.
EXAMPLE_OF: dict[str, str] = {
    "/v1/evaluations": "evaluation.json",
    "/v1/artifacts": "artifact.json",
    "/v1/deployments": "deployment.json",
    "/v1/approvals": "approval.json",
    "/v1/waivers": "waiver-request.json",
    "/v1/alerts": "alert.json",
    "/v1/incidents": "incident.json",
}


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


class TestExampleCopies:
    def test_every_request_example_is_copied(self) -> None:
        files = {path.name for path in (EXAMPLES / "requests").glob("*.json")}
        assert files == set(REQUEST_COPIES)

    @pytest.mark.parametrize("name", sorted(REQUEST_COPIES))
    def test_request_copy_equals_the_file(self, name: str) -> None:
        assert json.loads((EXAMPLES / "requests" / name).read_text()) == REQUEST_COPIES[name]

    def test_manifest_copies_equal_the_files(self) -> None:
        files = {path.name: path.read_text() for path in (EXAMPLES / "systems").glob("*.yaml")}
        assert files == typed_examples.SYSTEMS_YAML


class TestDocument:
    @pytest.mark.parametrize("path", sorted(BODIES))
    def test_json_body_has_the_model_schema_and_valid_examples(
        self, openapi: dict[str, Any], path: str
    ) -> None:
        operation = openapi["paths"][path]["post"]
        content = operation["requestBody"]["content"]
        assert list(content) == ["application/json"]
        schema = content["application/json"]["schema"]
        model = BODIES[path]
        assert set(schema["properties"]) == {
            field.alias or name for name, field in model.model_fields.items()
        }
        examples = content["application/json"]["examples"]
        assert examples
        for example in examples.values():
            model.model_validate(example["value"])

    @pytest.mark.parametrize(("path", "name"), sorted(EXAMPLE_OF.items()))
    def test_public_examples_are_shown_verbatim(
        self, openapi: dict[str, Any], path: str, name: str
    ) -> None:
        content = openapi["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        shown = [example["value"] for example in content["examples"].values()]
        assert json.loads((EXAMPLES / "requests" / name).read_text()) in shown

    def test_systems_accepts_json_and_yaml_with_every_example(
        self, openapi: dict[str, Any]
    ) -> None:
        content = openapi["paths"]["/v1/systems"]["post"]["requestBody"]["content"]
        assert set(content) == {"application/json", "application/yaml"}
        yaml_examples = [e["value"] for e in content["application/yaml"]["examples"].values()]
        assert sorted(yaml_examples) == sorted(typed_examples.SYSTEMS_YAML.values())
        for example in content["application/json"]["examples"].values():
            AISystemManifest.model_validate(example["value"])
        assert "spec" in content["application/json"]["schema"]["properties"]
        responses = openapi["paths"]["/v1/systems"]["post"]["responses"]
        assert {"200", "202", "409", "415", "422"} <= set(responses)

    @pytest.mark.parametrize("path", [*sorted(BODIES), "/v1/systems"])
    def test_routes_are_documented(self, openapi: dict[str, Any], path: str) -> None:
        operation = openapi["paths"][path]["post"]
        assert operation["summary"]
        assert operation["description"]
        assert {"400", "401", "403", "415", "422", "503"} <= set(operation["responses"])
        headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
        assert headers == ["Idempotency-Key"]

    def test_every_reference_resolves(self, openapi: dict[str, Any]) -> None:
        references: list[str] = []

        def collect(node: Any) -> None:
            if isinstance(node, dict):
                if isinstance(node.get("$ref"), str):
                    references.append(node["$ref"])
                for value in node.values():
                    collect(value)
            elif isinstance(node, list):
                for value in node:
                    collect(value)

        collect(openapi)
        schemas = openapi["components"]["schemas"]
        for reference in references:
            assert reference.startswith("#/components/schemas/"), reference
            assert reference.removeprefix("#/components/schemas/") in schemas, reference


class TestInlineSchema:
    @pytest.mark.parametrize("model", [EvaluationRequest, DeploymentRequest, SystemAccepted])
    def test_no_references_are_left(self, model: type[EvaluationRequest]) -> None:
        schema = inline_schema(model)
        assert "$ref" not in json.dumps(schema)
        assert "$defs" not in schema

    def test_nested_models_are_inlined_with_their_fields(self) -> None:
        schema = inline_schema(EvaluationRequest)
        dataset = schema["properties"]["dataset"]
        assert set(dataset["required"]) == {"id", "version"}
        assert schema["additionalProperties"] is False


def test_yaml_examples_parse_to_their_json_examples() -> None:
    for text in typed_examples.SYSTEMS_YAML.values():
        AISystemManifest.model_validate(yaml.safe_load(text))
