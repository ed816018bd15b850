"""Intake's answers to bad input and hostile callers, each against the real app, broker and DB.

| case                                   | answer                                        |
|----------------------------------------|-----------------------------------------------|
| body over the limit (declared/streamed) | 413, nothing read past the limit             |
| unsupported Content-Type               | 415 with Accept-Post                          |
| malformed JSON                         | 400 with line, column and position            |
| schema violations                      | 422 listing each field's JSON path            |
| unknown event type                     | 422 at `type`                                 |
| token over its rate                    | 429 + Retry-After, other tokens unaffected    |
| broker unavailable                     | 503 + Retry-After, nothing half-published     |
| duplicate (source, id)                 | 202, published once                           |
| client-supplied `actor`                | replaced by the authenticated principal       |
| tokens and webhook secrets             | never in the logs                             |
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.types import Receive, Scope, Send

from aigov_events.catalog import EvaluationCompleted, LineageRecorded
from aigov_events.envelope import from_kafka_record
from aigov_events.topics import LIFECYCLE
from aigov_intake.app import create_app
from aigov_intake.settings import Settings
from aigov_intake.signatures import sign_github
from aigov_runtime.testing import app_client, running_lifespan
from tests.integration.intake.conftest import (
    ADMIN,
    PUBLISHER,
    PUBLISHER_2,
    TOKENS,
    Intake,
    auth,
    intake_settings,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

STRUCTURED = {"Content-Type": "application/cloudevents+json"}
BATCH = {"Content-Type": "application/cloudevents-batch+json"}


def evaluation_event(system_id: str | None = None, **attrs: Any) -> dict[str, Any]:
    """A valid structured-mode evaluation.completed event."""
    data = {
        **copy.deepcopy(EvaluationCompleted.example),
        "system_id": system_id or f"sys-{uuid.uuid4().hex[:8]}",
    }
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "https://ci.example.com/security-matrix",
        "type": EvaluationCompleted.event_type,
        "time": "2026-11-20T10:00:00Z",
        "datacontenttype": "application/json",
        "data": data,
        **attrs,
    }


@asynccontextmanager
async def intake_with_state(
    settings: Settings,
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, Any]]]:
    """Like `app_client`, but also hands out the lifespan state (to stop the bus mid-test)."""
    app = create_app(settings)
    async with running_lifespan(app) as state:

        async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
            await app({**scope, "state": dict(state)}, receive, send)

        transport = httpx.ASGITransport(app=with_state)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, state


class TestBodies:
    async def test_declared_body_over_the_limit_is_413(self, local_stack: Any) -> None:
        settings = intake_settings(local_stack, max_request_bytes=4096)
        async with app_client(create_app(settings)) as client:
            event = evaluation_event()
            event["data"]["suite"] = "x" * 5000
            response = await client.post(
                "/v1/events", content=json.dumps(event), headers={**STRUCTURED, **auth(PUBLISHER)}
            )
        assert response.status_code == 413
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["max_bytes"] == 4096

    async def test_streamed_body_over_the_limit_is_413(self, local_stack: Any) -> None:
        settings = intake_settings(local_stack, max_request_bytes=4096)

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b" " * 1000

        async with app_client(create_app(settings)) as client:
            response = await client.post(
                "/v1/events", content=chunks(), headers={**BATCH, **auth(PUBLISHER)}
            )
        assert response.status_code == 413

    async def test_unsupported_content_type_is_415(self, intake: Intake) -> None:
        response = await intake.client.post(
            "/v1/events",
            content=b"specversion: '1.0'",
            headers={"Content-Type": "text/yaml", **auth(PUBLISHER)},
        )
        assert response.status_code == 415
        assert "application/cloudevents+json" in response.headers["accept-post"]

    async def test_malformed_json_is_400_with_its_position(self, intake: Intake) -> None:
        response = await intake.client.post(
            "/v1/events",
            content=b'{\n  "specversion": "1.0",\n  "id": "a",,\n}',
            headers={**STRUCTURED, **auth(PUBLISHER)},
        )
        assert response.status_code == 400
        problem = response.json()
        assert (problem["line"], problem["column"], problem["position"]) == (3, 13, 38)
        assert "line 3, column 13" in problem["detail"]

    async def test_schema_violations_are_422_with_json_paths(self, intake: Intake) -> None:
        event = evaluation_event()
        event["data"]["metrics"][1]["value"] = "low"
        del event["data"]["run"]
        event["data"]["surprise"] = True
        response = await intake.client.post(
            "/v1/events", content=json.dumps(event), headers={**STRUCTURED, **auth(PUBLISHER)}
        )
        assert response.status_code == 422
        locations = [error["loc"] for error in response.json()["errors"]]
        assert ["body", "data", "metrics", 1, "value"] in locations
        assert ["body", "data", "run"] in locations
        assert ["body", "data", "surprise"] in locations

    async def test_unknown_event_type_is_422_at_type(self, intake: Intake) -> None:
        event = evaluation_event(type="io.aigov.model.teleported.v1")
        response = await intake.client.post(
            "/v1/events", content=json.dumps(event), headers={**STRUCTURED, **auth(PUBLISHER)}
        )
        assert response.status_code == 422
        [error] = response.json()["errors"]
        assert error["loc"] == ["body", "type"]
        assert error["type"] == "unknown_event_type"


class TestRateLimit:
    async def test_a_token_over_its_rate_gets_429_with_retry_after(self, local_stack: Any) -> None:
        settings = intake_settings(local_stack, rate_limit_per_second=0.05, rate_limit_burst=2)
        async with app_client(create_app(settings)) as client:
            statuses = []
            for _ in range(3):
                response = await client.post(
                    "/v1/events",
                    content=json.dumps(evaluation_event()),
                    headers={**STRUCTURED, **auth(PUBLISHER)},
                )
                statuses.append(response.status_code)
            assert statuses == [202, 202, 429]
            assert int(response.headers["retry-after"]) >= 1
            assert response.headers["content-type"].startswith("application/problem+json")
            # The limit is per principal: another token still gets through.
            other = await client.post(
                "/v1/events",
                content=json.dumps(evaluation_event()),
                headers={**STRUCTURED, **auth(PUBLISHER_2)},
            )
            assert other.status_code == 202


class TestBrokerUnavailable:
    async def test_503_with_retry_after_and_nothing_half_published(self, local_stack: Any) -> None:
        settings = intake_settings(local_stack)
        system_id = f"sys-{uuid.uuid4().hex[:8]}"
        # Fresh ids: the ledger outlives test runs, and a known id would be a duplicate.
        refused = [evaluation_event(system_id) for _ in range(3)]
        later = [evaluation_event(system_id) for _ in range(2)]
        headers = {**BATCH, **auth(PUBLISHER)}
        async with intake_with_state(settings) as (client, state):
            await state["bus"].stop()
            response = await client.post("/v1/events", content=json.dumps(refused), headers=headers)
            assert response.status_code == 503
            assert int(response.headers["retry-after"]) >= 1
            assert "nothing was published" in response.json()["detail"]

            await state["bus"].start()
            response = await client.post("/v1/events", content=json.dumps(later), headers=headers)
            assert response.status_code == 202, response.text
            # The refused batch was not remembered as accepted: a retry publishes it.
            retried = await client.post("/v1/events", content=json.dumps(refused), headers=headers)
            assert retried.status_code == 202
            assert retried.json()["duplicates"] == []

        reader = Intake(
            client=client, settings=settings, kafka_bootstrap=local_stack.kafka_bootstrap
        )
        records = await reader.records(LIFECYCLE, 6, max_wait=8)
        ids = [dict(r.headers)["ce_id"].decode() for r in records]
        # Exactly the later batch, then the retry: no record of the refused attempt.
        assert ids == [e["id"] for e in later] + [e["id"] for e in refused]

    async def test_an_event_too_large_for_one_record_is_a_client_error(
        self, intake: Intake
    ) -> None:
        # Each field is within the catalog's bounds; together they exceed a Kafka record.
        lineage = {
            **copy.deepcopy(LineageRecorded.example),
            "system_id": f"sys-{uuid.uuid4().hex[:8]}",
            "inputs": [
                {
                    "namespace": "s3://lake",
                    "name": f"t{n}",
                    "facets": {f"f{k}": "v" * 1000 for k in range(20)},
                }
                for n in range(60)
            ],
        }
        event = evaluation_event(type=LineageRecorded.event_type, data=lineage)
        response = await intake.client.post(
            "/v1/events", content=json.dumps(event), headers={**STRUCTURED, **auth(PUBLISHER)}
        )
        assert response.status_code == 413, response.text


class TestIdentity:
    async def test_duplicate_source_and_id_is_202_and_published_once(self, intake: Intake) -> None:
        event = evaluation_event()
        answers = []
        for _ in range(3):
            response = await intake.client.post(
                "/v1/events", content=json.dumps(event), headers={**STRUCTURED, **auth(PUBLISHER)}
            )
            answers.append((response.status_code, response.json()["duplicates"]))
        assert answers == [(202, []), (202, [event["id"]]), (202, [event["id"]])]
        assert len(await intake.records(LIFECYCLE, 2, max_wait=3)) == 1

    async def test_same_id_from_another_source_is_another_event(self, intake: Intake) -> None:
        first = evaluation_event()
        second = {**evaluation_event(), "id": first["id"], "source": "https://other.example.com"}
        for event in (first, second):
            response = await intake.client.post(
                "/v1/events", content=json.dumps(event), headers={**STRUCTURED, **auth(PUBLISHER)}
            )
            assert response.json()["accepted"] == [first["id"]]
        assert len(await intake.records(LIFECYCLE, 2)) == 2

    async def test_client_supplied_actor_is_replaced_in_every_mode(self, intake: Intake) -> None:
        structured = evaluation_event(actor="ceo")
        binary = evaluation_event()
        binary_headers = {
            "Content-Type": "application/json",
            "ce-specversion": "1.0",
            "ce-id": binary["id"],
            "ce-source": binary["source"],
            "ce-type": binary["type"],
            "ce-actor": "ceo",
            **auth(PUBLISHER),
        }
        response = await intake.client.post(
            "/v1/events", content=json.dumps(structured), headers={**STRUCTURED, **auth(PUBLISHER)}
        )
        assert response.status_code == 202
        response = await intake.client.post(
            "/v1/events", content=json.dumps(binary["data"]), headers=binary_headers
        )
        assert response.status_code == 202, response.text
        records = await intake.records(LIFECYCLE, 2)
        assert [dict(r.headers)["ce_actor"] for r in records] == [b"ci-bot", b"ci-bot"]
        for record in records:
            assert from_kafka_record(record.value, record.headers).actor == "ci-bot"


class TestSecretsStayOutOfLogs:
    async def test_tokens_and_webhook_secrets_never_reach_the_logs(
        self, local_stack: Any, capsys: pytest.CaptureFixture[str]
    ) -> None:
        webhook_secret = "gh-whsec-Lq2Wm8Zt4Xc6Vb0Np"
        unknown_token = "tok-unknown-Yh7Kd3Rf9Ts1Qa5"
        settings = intake_settings(
            local_stack, log_level="DEBUG", github_webhook_secret=SecretStr(webhook_secret)
        )
        async with app_client(create_app(settings)) as client:
            await client.post(
                "/v1/events",
                content=json.dumps(evaluation_event()),
                headers={**STRUCTURED, **auth(PUBLISHER)},
            )
            await client.post(
                "/v1/events",
                content=json.dumps(evaluation_event()),
                headers={**STRUCTURED, **auth(unknown_token)},
            )
            await client.get(f"/metrics?access_token={ADMIN}", headers=auth(ADMIN))
            await client.post(
                "/v1/events", content=b"{not json", headers={**STRUCTURED, **auth(PUBLISHER)}
            )
            raw = b'{"zen": "Mind your words, they are important."}'
            await client.post(
                "/v1/webhooks/github",
                content=raw,
                headers={
                    "Content-Type": "application/json",
                    "X-GitHub-Event": "ping",
                    "X-Hub-Signature-256": sign_github(webhook_secret.encode(), raw),
                },
            )
            await client.post(
                "/v1/webhooks/github",
                content=raw,
                headers={"X-GitHub-Event": "ping", "X-Hub-Signature-256": "sha256=" + "0" * 64},
            )
        output = "".join(capsys.readouterr())  # intake logs JSON lines to stdout
        # The capture must hold the logs, or the absence below proves nothing.
        assert "intake ready to serve" in output
        assert "GitHub delivery refused" in output
        for secret in [*TOKENS, unknown_token, webhook_secret]:
            assert secret not in output, f"a secret ({secret[:8]}...) leaked into the logs"
