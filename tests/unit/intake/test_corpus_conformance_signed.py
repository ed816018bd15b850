"""Real MLflow and GitHub payloads (tests/fixtures/corpus) through the signature checks and adapters.

The corpus is the reference published by the projects themselves, vendored byte for byte
(signatures are over bytes). A missing corpus file is an error, not a skip: conformance
untested must not look like conformance passed.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest

from aigov_events.catalog import (
    DeploymentCompleted,
    DeploymentOutcome,
    DeploymentRequested,
    ModelVersionRegistered,
)
from aigov_intake.adapters import github, mlflow
from aigov_intake.signatures import (
    MlflowScheme,
    sign_github,
    sign_mlflow,
    verify_github,
    verify_mlflow,
)
from tests.fixtures import CORPUS

SYSTEM = "hello-world"


def corpus_file(relative: str) -> bytes:
    """The exact bytes of a corpus file; fails (never skips) when the corpus is absent."""
    path = CORPUS / relative
    if not path.is_file():
        pytest.fail(f"corpus file {path} is missing: the vendored corpus is part of the repository")
    return path.read_bytes()


def published_sha256() -> dict[str, str]:
    """The integrity table of SOURCES.md: corpus path -> sha256 of its bytes."""
    text = corpus_file("SOURCES.md").decode()
    return dict(re.findall(r"^\| ([\w/.-]+\.json) \| \d+ \| \w+ \| ([0-9a-f]{64}) \|$", text, re.M))


MLFLOW_FILES = ["mlflow/mlflow_docs_model_version_created_envelope.json"]
GITHUB_FILES = {
    "github/deployment_created.json": "deployment",
    "github/deployment_status_created.json": "deployment_status",
    "github/check_run_completed.json": "check_run",
}


class TestCorpusIntegrity:
    @pytest.mark.parametrize("relative", [*MLFLOW_FILES, *GITHUB_FILES])
    def test_bytes_are_the_published_ones(self, relative: str) -> None:
        # Signatures are over bytes: a re-serialised corpus file would prove nothing.
        expected = published_sha256()
        assert relative in expected, f"{relative} is not in the SOURCES.md integrity table"
        assert hashlib.sha256(corpus_file(relative)).hexdigest() == expected[relative]


class TestMlflowCorpus:
    def test_signed_bytes_verify_exactly(self) -> None:
        raw = corpus_file(MLFLOW_FILES[0])
        secret, delivery, timestamp = (
            b"corpus-secret",
            "a1b2c3d4-0000-4000-8000-000000000001",
            "1754000000",
        )
        signature = sign_mlflow(secret, delivery_id=delivery, timestamp=timestamp, body=raw)
        scheme = verify_mlflow(
            raw,
            signature=signature,
            delivery_id=delivery,
            timestamp=timestamp,
            secrets=[secret],
            now=1754000010,
            tolerance_seconds=300,
        )
        assert scheme is MlflowScheme.V1

    def test_model_version_created_maps_to_model_version_registered(self) -> None:
        body: Any = json.loads(corpus_file(MLFLOW_FILES[0]))
        delivery = mlflow.parse_delivery(body)
        statement = mlflow.interpret(delivery)
        assert isinstance(statement, mlflow.ModelVersionStatement)
        # The docs example has no ai_system tag: such a webhook needs ?system= in its URL.
        assert statement.system_candidates == (None,)
        [event] = mlflow.to_events(
            statement,
            system_id=SYSTEM,
            delivery_key="mlflow-delivery:corpus",
            actor="webhook:mlflow",
            time=delivery.timestamp,
        )
        payload = event.payload
        assert isinstance(payload, ModelVersionRegistered)
        assert (payload.model_name, payload.model_version) == (
            body["data"]["name"],
            body["data"]["version"],
        )
        assert payload.source == body["data"]["source"]
        assert payload.run_id == body["data"]["run_id"]
        assert payload.tags == body["data"]["tags"]
        assert event.time == delivery.timestamp
        assert statement.notes == ()


class TestGithubCorpus:
    @pytest.mark.parametrize("relative", list(GITHUB_FILES))
    def test_signed_bytes_verify_exactly(self, relative: str) -> None:
        raw = corpus_file(relative)
        verify_github(raw, sign_github(b"corpus-secret", raw), secrets=[b"corpus-secret"])

    def test_deployment_created_maps_to_deployment_requested(self) -> None:
        body = json.loads(corpus_file("github/deployment_created.json"))
        facts = github.interpret("deployment", body)
        assert isinstance(facts, github.DeploymentFacts)
        assert facts.system_candidates == (None,)  # its payload is empty: ?system= is needed
        [event] = github.to_events(
            facts, system_id=SYSTEM, region="EU", body_digest="c" * 64, actor="webhook:github"
        )
        payload = event.payload
        assert isinstance(payload, DeploymentRequested)
        deployment = body["deployment"]
        assert payload.version == deployment["ref"]
        assert payload.environment == deployment["environment"]
        assert payload.pipeline is not None
        assert payload.pipeline.id == str(deployment["id"])
        assert event.envelope.source == body["repository"]["html_url"]

    def test_deployment_status_success_maps_to_deployment_completed(self) -> None:
        body = json.loads(corpus_file("github/deployment_status_created.json"))
        facts = github.interpret("deployment_status", body)
        assert isinstance(facts, github.DeploymentFacts)
        [event] = github.to_events(
            facts, system_id=SYSTEM, region="EU", body_digest="d" * 64, actor="webhook:github"
        )
        payload = event.payload
        assert isinstance(payload, DeploymentCompleted)
        assert payload.outcome is DeploymentOutcome.SUCCEEDED
        assert payload.version == body["deployment"]["ref"]
        assert payload.detail is None  # the corpus status has an empty description

    def test_check_run_completed_is_acknowledged_not_published(self) -> None:
        body = json.loads(corpus_file("github/check_run_completed.json"))
        assert isinstance(github.interpret("check_run", body), github.Ignored)
