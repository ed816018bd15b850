"""Bounded work on tiering's API (issue 12): YAML size and aliases, the event loop, rate limits.

`/v1/tiering/simulate` takes any authenticated caller's manifest, so in the all-in-one
process one expensive request must not freeze the other services: YAML bodies are capped
(413), parsed in a worker thread, and each principal's requests are rate-limited (429).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.types import Message, Receive, Scope, Send

from aigov_runtime.testing import app_client
from aigov_tiering.app import create_app
from tests.unit.tiering.conftest import embedded_settings
from tests.unit.tiering.harness import PUBLISHER, READER, auth, running_tiering
from tests.unit.tiering.helpers import example_document

pytestmark = pytest.mark.asyncio

SIMULATE = "/v1/tiering/simulate"
YAML = {"Content-Type": "application/yaml"}
BILLION_LAUGHS = "\n".join(
    ['lol0: &lol0 "lol"']
    + [f"lol{n}: &lol{n} [{', '.join([f'*lol{n - 1}'] * 10)}]" for n in range(1, 10)]
)


async def test_a_5_mib_yaml_body_is_413_naming_the_limit(tmp_path: Path) -> None:
    async with running_tiering(embedded_settings(tmp_path)) as tiering:
        response = await tiering.client.post(
            SIMULATE,
            content=b"a: " + b"x" * (5 * 1024 * 1024),
            headers={**YAML, **auth(READER)},
        )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "262144 bytes" in response.json()["detail"]


async def test_the_yaml_limit_is_configurable(tmp_path: Path) -> None:
    body = yaml.safe_dump(example_document("support-summarizer")).encode()
    async with running_tiering(embedded_settings(tmp_path, max_yaml_bytes=len(body) - 1)) as t:
        response = await t.client.post(SIMULATE, content=body, headers={**YAML, **auth(READER)})
    assert response.status_code == 413
    assert f"{len(body) - 1} bytes" in response.json()["detail"]


async def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    async with running_tiering(embedded_settings(tmp_path)) as tiering:
        response = await tiering.client.post(
            SIMULATE, content=BILLION_LAUGHS, headers={**YAML, **auth(READER)}
        )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_other_requests_are_served_while_a_manifest_parses(tmp_path: Path) -> None:
    document = example_document("support-summarizer")
    # Unknown fields are kept: a large but legitimate annex of notes, about 200 KB of YAML.
    document["spec"]["reviewNotes"] = [
        f"note {i}: checked by the review board" for i in range(5000)
    ]
    body = yaml.safe_dump(document).encode()
    app = create_app(embedded_settings(tmp_path))
    order: list[str] = []
    body_read = asyncio.Event()

    async def observed(scope: Scope, receive: Receive, send: Send) -> None:
        async def observed_receive() -> Message:
            message = await receive()
            if scope.get("path") == SIMULATE and not message.get("more_body", False):
                body_read.set()
            return message

        async def observed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                order.append(scope.get("path", ""))
            await send(message)

        await app(scope, observed_receive, observed_send)

    async with app_client(observed, base_url="http://127.0.0.1") as client:
        parse = asyncio.create_task(
            client.post(SIMULATE, content=body, headers={**YAML, **auth(READER)})
        )
        await asyncio.wait_for(body_read.wait(), timeout=60)
        live = await client.get("/healthz")
        simulated = await parse
    assert live.status_code == 200
    assert simulated.status_code == 200, simulated.text
    assert order == ["/healthz", SIMULATE]


async def test_a_burst_beyond_the_limit_is_429_with_retry_after(tmp_path: Path) -> None:
    settings = embedded_settings(tmp_path, rate_limit_per_second=0.01, rate_limit_burst=2)
    document: dict[str, Any] = example_document("code-assistant")
    async with running_tiering(settings) as tiering:
        answers = [
            await tiering.client.post(SIMULATE, json=document, headers=auth(READER))
            for _ in range(3)
        ]
        policy = await tiering.client.get("/v1/policies", headers=auth(READER))
        other = await tiering.client.post(SIMULATE, json=document, headers=auth(PUBLISHER))
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[-1].headers["content-type"].startswith("application/problem+json")
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert policy.status_code == 429, "the principal's bucket covers all of tiering's routes"
    assert other.status_code == 200


async def test_openapi_documents_413_and_429(tmp_path: Path) -> None:
    async with running_tiering(embedded_settings(tmp_path)) as tiering:
        document = (await tiering.client.get("/openapi.json")).json()
    responses = document["paths"][SIMULATE]["post"]["responses"]
    assert {"413", "429"} <= set(responses)
    assert "429" in document["paths"]["/v1/policies"]["get"]["responses"]
