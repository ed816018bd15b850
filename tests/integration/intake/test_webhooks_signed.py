"""Signed MLflow and GitHub webhooks against the real broker and database."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest
import pytest_asyncio
from pydantic import SecretStr

from aigov_events.catalog import (
    DeploymentCompleted,
    DeploymentRequested,
    DeploymentRolledBack,
    ModelVersionRegistered,
)
from aigov_events.envelope import from_kafka_record
from aigov_events.topics import LIFECYCLE
from aigov_intake.app import create_app
from aigov_intake.signatures import sign_github, sign_mlflow, sign_mlflow_legacy
from aigov_runtime.testing import app_client
from tests.integration.intake.conftest import Intake, intake_settings

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

GITHUB_SECRET = "gh-whsec-Zq8rT1vK0pWx3nB6"
MLFLOW_SECRET = "ml-whsec-Hs9mDf4Gj7Ua2Lc"
JSON = {"Content-Type": "application/json"}


@pytest_asyncio.fixture
async def signed(local_stack: Any) -> AsyncIterator[Intake]:
    """Intake with both signed receivers configured."""
    settings = intake_settings(
        local_stack,
        github_webhook_secret=SecretStr(GITHUB_SECRET),
        mlflow_webhook_secret=SecretStr(MLFLOW_SECRET),
    )
    async with app_client(create_app(settings)) as client:
        yield Intake(client=client, settings=settings, kafka_bootstrap=local_stack.kafka_bootstrap)


def new_system() -> str:
    """A system id no other test uses."""
    return f"sys-{uuid.uuid4().hex[:8]}"


def mlflow_delivery(
    body: dict[str, Any],
    *,
    delivery_id: str | None = None,
    timestamp: int | None = None,
    secret: str = MLFLOW_SECRET,
) -> tuple[bytes, dict[str, str]]:
    """Body bytes and headers exactly as MLflow sends them (json.dumps, v1 signature)."""
    raw = json.dumps(body).encode()
    delivery_id = delivery_id or str(uuid.uuid4())
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = sign_mlflow(secret.encode(), delivery_id=delivery_id, timestamp=stamp, body=raw)
    headers = {
        **JSON,
        "X-MLflow-Delivery-Id": delivery_id,
        "X-MLflow-Timestamp": stamp,
        "X-MLflow-Signature": signature,
    }
    return raw, headers


def model_version_created(system_id: str) -> dict[str, Any]:
    """A `model_version.created` delivery tagged with `system_id`."""
    return {
        "entity": "model_version",
        "action": "created",
        "timestamp": "2026-03-02T09:41:07.512044+00:00",
        "data": {
            "name": "ranker",
            "version": "3",
            "source": "models:/m-77",
            "run_id": "3f9a1c0b7e6d4a5f",
            "tags": {"ai_system": system_id, "ai_release": "2026.3.1"},
            "description": None,
        },
    }


def github_delivery(
    event: str, body: dict[str, Any], *, secret: str = GITHUB_SECRET
) -> tuple[bytes, dict[str, str]]:
    """Body bytes and headers as GitHub sends them."""
    raw = json.dumps(body, indent=2).encode()
    return raw, {
        **JSON,
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": sign_github(secret.encode(), raw),
    }


def deployment(system_id: str, **payload: str) -> dict[str, Any]:
    """The `deployment` of a GitHub delivery, deploying release 2026.3.1 of `system_id`."""
    return {
        "id": 880011,
        "sha": "9f2c1e7a4b3d2c1e0f9a8b7c6d5e4f3a2b1c0d9e",
        "ref": "v2026.3.1",
        "environment": "production",
        "description": "Release 2026.3.1",
        "payload": {"ai_system": system_id, "ai_release": "2026.3.1", "ai_region": "EU", **payload},
        "created_at": "2026-03-04T12:00:05Z",
    }


REPOSITORY = {"full_name": "acme-ml/ranker", "html_url": "https://github.com/acme-ml/ranker"}


class TestMlflow:
    async def test_signed_delivery_lands_on_lifecycle_keyed_by_system(self, signed: Intake) -> None:
        system_id = new_system()
        raw, headers = mlflow_delivery(model_version_created(system_id))
        response = await signed.client.post("/v1/webhooks/mlflow", content=raw, headers=headers)
        assert response.status_code == 202, response.text
        receipt = response.json()
        assert receipt["event"] == "model_version.created"
        assert receipt["delivery"] == headers["X-MLflow-Delivery-Id"]

        [record] = await signed.records(LIFECYCLE, 1)
        assert record.key == system_id.encode()
        record_headers = dict(record.headers)
        assert record_headers["ce_type"] == ModelVersionRegistered.event_type.encode()
        assert record_headers["ce_id"] == receipt["accepted"][0].encode()
        assert record_headers["ce_actor"] == b"webhook:mlflow"
        data = from_kafka_record(record.value, record.headers).data
        assert isinstance(data, dict)
        assert (data["model_name"], data["model_version"], data["version"]) == (
            "ranker",
            "3",
            "2026.3.1",
        )

    async def test_system_from_the_query_when_untagged(self, signed: Intake) -> None:
        system_id = new_system()
        body = {
            "entity": "model_version_alias",
            "action": "created",
            "timestamp": "2026-03-03T08:00:12+00:00",
            "data": {"name": "ranker", "alias": "champion", "version": "3"},
        }
        raw, headers = mlflow_delivery(body)
        response = await signed.client.post(
            f"/v1/webhooks/mlflow?system={system_id}", content=raw, headers=headers
        )
        assert response.status_code == 202, response.text
        [record] = await signed.records(LIFECYCLE, 1)
        assert record.key == system_id.encode()

    async def test_redelivery_is_a_duplicate(self, signed: Intake) -> None:
        # MLflow's retries resend the same delivery id, timestamp and signature.
        raw, headers = mlflow_delivery(model_version_created(new_system()))
        first = await signed.client.post("/v1/webhooks/mlflow", content=raw, headers=headers)
        again = await signed.client.post("/v1/webhooks/mlflow", content=raw, headers=headers)
        assert first.status_code == again.status_code == 202
        assert again.json()["accepted"] == []
        assert again.json()["duplicates"] == first.json()["accepted"]
        assert len(await signed.records(LIFECYCLE, 2, max_wait=3)) == 1

    async def test_bad_signature_is_401_and_nothing_is_published(self, signed: Intake) -> None:
        raw, headers = mlflow_delivery(model_version_created(new_system()), secret="not-the-secret")
        response = await signed.client.post("/v1/webhooks/mlflow", content=raw, headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "www-authenticate" in response.headers
        assert await signed.records(LIFECYCLE, 1, max_wait=2) == []

    async def test_tampered_body_is_401(self, signed: Intake) -> None:
        raw, headers = mlflow_delivery(model_version_created(new_system()))
        tampered = raw.replace(b'"ranker"', b'"ranker2"')
        response = await signed.client.post(
            "/v1/webhooks/mlflow", content=tampered, headers=headers
        )
        assert response.status_code == 401

    async def test_stale_delivery_is_401(self, signed: Intake) -> None:
        raw, headers = mlflow_delivery(
            model_version_created(new_system()), timestamp=int(time.time()) - 600
        )
        response = await signed.client.post("/v1/webhooks/mlflow", content=raw, headers=headers)
        assert response.status_code == 401
        assert "replayed" in response.json()["detail"]

    async def test_unsigned_delivery_is_401(self, signed: Intake) -> None:
        raw, headers = mlflow_delivery(model_version_created(new_system()))
        del headers["X-MLflow-Signature"]
        response = await signed.client.post("/v1/webhooks/mlflow", content=raw, headers=headers)
        assert response.status_code == 401
        assert "secret" in response.json()["detail"]

    async def test_a_bearer_token_does_not_replace_the_signature(self, signed: Intake) -> None:
        raw, headers = mlflow_delivery(model_version_created(new_system()))
        del headers["X-MLflow-Signature"]
        headers["Authorization"] = "Bearer tok-admin-0123456789abcdefg"
        response = await signed.client.post("/v1/webhooks/mlflow", content=raw, headers=headers)
        assert response.status_code == 401

    async def test_untagged_version_without_query_is_422(self, signed: Intake) -> None:
        body = model_version_created(new_system())
        body["data"]["tags"] = {}
        raw, headers = mlflow_delivery(body)
        response = await signed.client.post("/v1/webhooks/mlflow", content=raw, headers=headers)
        assert response.status_code == 422
        assert "?system=" in response.json()["detail"]

    async def test_ignored_event_is_acknowledged(self, signed: Intake) -> None:
        body = {
            "entity": "registered_model",
            "action": "created",
            "timestamp": "2026-03-01T16:20:00+00:00",
            "data": {"name": "ranker", "tags": {}, "description": None},
        }
        raw, headers = mlflow_delivery(body)
        response = await signed.client.post("/v1/webhooks/mlflow", content=raw, headers=headers)
        assert response.status_code == 202
        assert response.json()["accepted"] == []
        assert response.json()["ignored"]

    async def test_shape_errors_are_422_with_paths(self, signed: Intake) -> None:
        body = model_version_created(new_system())
        del body["data"]["name"]
        raw, headers = mlflow_delivery(body)
        response = await signed.client.post("/v1/webhooks/mlflow", content=raw, headers=headers)
        assert response.status_code == 422
        assert ["body", "data", "name"] in [e["loc"] for e in response.json()["errors"]]


class TestGithub:
    async def test_deployment_then_success_status(self, signed: Intake) -> None:
        system_id = new_system()
        raw, headers = github_delivery(
            "deployment",
            {"action": "created", "deployment": deployment(system_id), "repository": REPOSITORY},
        )
        requested = await signed.client.post("/v1/webhooks/github", content=raw, headers=headers)
        assert requested.status_code == 202, requested.text
        status = {
            "id": 990022,
            "state": "success",
            "environment": "production",
            "description": "Rolled out",
            "created_at": "2026-03-04T12:07:41Z",
        }
        raw, headers = github_delivery(
            "deployment_status",
            {
                "action": "created",
                "deployment_status": status,
                "deployment": deployment(system_id),
                "repository": REPOSITORY,
            },
        )
        completed = await signed.client.post("/v1/webhooks/github", content=raw, headers=headers)
        assert completed.status_code == 202, completed.text

        records = await signed.records(LIFECYCLE, 2)
        assert [r.key for r in records] == [system_id.encode()] * 2
        types = [dict(r.headers)["ce_type"].decode() for r in records]
        assert types == [DeploymentRequested.event_type, DeploymentCompleted.event_type]
        assert {dict(r.headers)["ce_source"] for r in records} == {
            b"https://github.com/acme-ml/ranker"
        }
        assert {dict(r.headers)["ce_actor"] for r in records} == {b"webhook:github"}

    async def test_rollback_is_published_atomically_with_the_completion(
        self, signed: Intake
    ) -> None:
        system_id = new_system()
        status = {"id": 1, "state": "success", "created_at": "2026-03-04T12:07:41Z"}
        raw, headers = github_delivery(
            "deployment_status",
            {
                "action": "created",
                "deployment_status": status,
                "deployment": deployment(system_id, ai_rollback_from="2026.3.2"),
                "repository": REPOSITORY,
            },
        )
        response = await signed.client.post("/v1/webhooks/github", content=raw, headers=headers)
        assert response.status_code == 202, response.text
        assert len(response.json()["accepted"]) == 2
        records = await signed.records(LIFECYCLE, 2)
        assert [dict(r.headers)["ce_type"].decode() for r in records] == [
            DeploymentCompleted.event_type,
            DeploymentRolledBack.event_type,
        ]

    async def test_redelivery_and_replay_under_a_new_delivery_id_are_duplicates(
        self, signed: Intake
    ) -> None:
        raw, headers = github_delivery(
            "deployment",
            {"action": "created", "deployment": deployment(new_system()), "repository": REPOSITORY},
        )
        first = await signed.client.post("/v1/webhooks/github", content=raw, headers=headers)
        redelivered = await signed.client.post("/v1/webhooks/github", content=raw, headers=headers)
        # X-GitHub-Delivery is not signed: a captured body replayed under a fresh id is the same event.
        replayed = await signed.client.post(
            "/v1/webhooks/github",
            content=raw,
            headers={**headers, "X-GitHub-Delivery": str(uuid.uuid4())},
        )
        assert first.status_code == redelivered.status_code == replayed.status_code == 202
        assert (
            redelivered.json()["duplicates"]
            == replayed.json()["duplicates"]
            == first.json()["accepted"]
        )
        assert len(await signed.records(LIFECYCLE, 2, max_wait=3)) == 1

    async def test_bad_signature_is_401(self, signed: Intake) -> None:
        raw, headers = github_delivery(
            "deployment",
            {"action": "created", "deployment": deployment(new_system()), "repository": REPOSITORY},
            secret="It's a Secret to Everybody",
        )
        response = await signed.client.post("/v1/webhooks/github", content=raw, headers=headers)
        assert response.status_code == 401
        assert response.json()["detail"] == "X-Hub-Signature-256 does not match the body"
        assert await signed.records(LIFECYCLE, 1, max_wait=2) == []

    async def test_missing_signature_is_401(self, signed: Intake) -> None:
        raw, headers = github_delivery("ping", {"zen": "Keep it logically awesome."})
        del headers["X-Hub-Signature-256"]
        response = await signed.client.post("/v1/webhooks/github", content=raw, headers=headers)
        assert response.status_code == 401

    async def test_ping_is_200(self, signed: Intake) -> None:
        raw, headers = github_delivery("ping", {"zen": "Design for failure.", "hook_id": 1})
        response = await signed.client.post("/v1/webhooks/github", content=raw, headers=headers)
        assert response.status_code == 200
        assert response.json()["event"] == "ping"

    async def test_form_encoded_delivery(self, signed: Intake) -> None:
        system_id = new_system()
        body = {"action": "created", "deployment": deployment(system_id), "repository": REPOSITORY}
        raw = urlencode({"payload": json.dumps(body)}).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-GitHub-Event": "deployment",
            "X-Hub-Signature-256": sign_github(GITHUB_SECRET.encode(), raw),
        }
        response = await signed.client.post("/v1/webhooks/github", content=raw, headers=headers)
        assert response.status_code == 202, response.text
        [record] = await signed.records(LIFECYCLE, 1)
        assert record.key == system_id.encode()

    async def test_check_run_is_acknowledged_and_not_published(self, signed: Intake) -> None:
        raw, headers = github_delivery(
            "check_run",
            {"action": "completed", "check_run": {"id": 1, "conclusion": "success"}},
        )
        response = await signed.client.post("/v1/webhooks/github", content=raw, headers=headers)
        assert response.status_code == 202
        assert response.json()["ignored"]
        assert await signed.records(LIFECYCLE, 1, max_wait=2) == []

    async def test_missing_event_header_is_400(self, signed: Intake) -> None:
        raw, headers = github_delivery("deployment", {"action": "created"})
        del headers["X-GitHub-Event"]
        response = await signed.client.post("/v1/webhooks/github", content=raw, headers=headers)
        assert response.status_code == 400

    async def test_malformed_json_is_400_with_position(self, signed: Intake) -> None:
        raw = b'{"action": "created",\n "deployment": }'
        headers = {
            **JSON,
            "X-GitHub-Event": "deployment",
            "X-Hub-Signature-256": sign_github(GITHUB_SECRET.encode(), raw),
        }
        response = await signed.client.post("/v1/webhooks/github", content=raw, headers=headers)
        assert response.status_code == 400
        assert response.json()["line"] == 2

    async def test_unsupported_content_type_is_415(self, signed: Intake) -> None:
        raw = b"<deployment/>"
        headers = {
            "Content-Type": "application/xml",
            "X-GitHub-Event": "deployment",
            "X-Hub-Signature-256": sign_github(GITHUB_SECRET.encode(), raw),
        }
        response = await signed.client.post("/v1/webhooks/github", content=raw, headers=headers)
        assert response.status_code == 415

    async def test_missing_region_is_422_naming_both_places(self, signed: Intake) -> None:
        dep = deployment(new_system())
        del dep["payload"]["ai_region"]
        raw, headers = github_delivery(
            "deployment", {"action": "created", "deployment": dep, "repository": REPOSITORY}
        )
        response = await signed.client.post("/v1/webhooks/github", content=raw, headers=headers)
        assert response.status_code == 422
        [error] = response.json()["errors"]
        assert error["loc"] == ["body", "deployment", "payload", "ai_region"]


class TestMlflowLegacySignature:
    async def test_accepted_only_when_enabled_keyed_by_body_and_logged(
        self, local_stack: Any, capsys: pytest.CaptureFixture[str]
    ) -> None:
        raw = json.dumps(model_version_created(new_system())).encode()
        headers = {
            **JSON,
            "X-MLflow-Delivery-Id": str(uuid.uuid4()),
            "X-MLflow-Signature": sign_mlflow_legacy(MLFLOW_SECRET.encode(), raw),
        }
        for enabled, expected in ((False, 401), (True, 202)):
            settings = intake_settings(
                local_stack,
                mlflow_webhook_secret=SecretStr(MLFLOW_SECRET),
                mlflow_accept_legacy_signature=enabled,
            )
            async with app_client(create_app(settings)) as client:
                response = await client.post("/v1/webhooks/mlflow", content=raw, headers=headers)
                assert response.status_code == expected, response.text
                if enabled:
                    # The legacy form does not sign the delivery id: a replay under a new
                    # one is still the same event.
                    replay = await client.post(
                        "/v1/webhooks/mlflow",
                        content=raw,
                        headers={**headers, "X-MLflow-Delivery-Id": str(uuid.uuid4())},
                    )
                    assert replay.json()["duplicates"] == response.json()["accepted"]
        assert "legacy sha256= signature" in capsys.readouterr().out


class TestReceiverConfiguration:
    async def test_receiver_without_a_secret_is_503(self, intake: Intake) -> None:
        raw, headers = github_delivery("ping", {"zen": "Speak like a human."})
        response = await intake.client.post("/v1/webhooks/github", content=raw, headers=headers)
        assert response.status_code == 503
        assert "not configured" in response.json()["detail"]
        raw, headers = mlflow_delivery(model_version_created(new_system()))
        response = await intake.client.post("/v1/webhooks/mlflow", content=raw, headers=headers)
        assert response.status_code == 503

    async def test_deliveries_are_rate_limited_per_source(self, local_stack: Any) -> None:
        settings = intake_settings(
            local_stack,
            github_webhook_secret=SecretStr(GITHUB_SECRET),
            mlflow_webhook_secret=SecretStr(MLFLOW_SECRET),
            rate_limit_per_second=0.01,
            rate_limit_burst=2,
        )
        async with app_client(create_app(settings)) as client:
            statuses = []
            for _ in range(3):
                raw, headers = github_delivery(
                    "ping", {"zen": "Approachable is better than simple."}
                )
                response = await client.post("/v1/webhooks/github", content=raw, headers=headers)
                statuses.append(response.status_code)
            assert statuses == [200, 200, 429]
            assert int(response.headers["retry-after"]) >= 1
            # MLflow has its own budget: GitHub's traffic does not use it up.
            raw, headers = mlflow_delivery(model_version_created(new_system()))
            response = await client.post("/v1/webhooks/mlflow", content=raw, headers=headers)
            assert response.status_code == 202, response.text
            # Forged deliveries are refused before the limiter, so they cannot exhaust it.
            raw, headers = mlflow_delivery(model_version_created(new_system()), secret="forged")
            for _ in range(3):
                response = await client.post("/v1/webhooks/mlflow", content=raw, headers=headers)
                assert response.status_code == 401
            raw, headers = mlflow_delivery(model_version_created(new_system()))
            response = await client.post("/v1/webhooks/mlflow", content=raw, headers=headers)
            assert response.status_code == 202, response.text
