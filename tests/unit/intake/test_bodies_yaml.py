"""Intake's YAML bodies (issue 12): capped in bytes, bounded in aliases, parsed off the loop.

Attack tests: a YAML body over AIGOV_MAX_YAML_BYTES sent to `POST /v1/systems` is refused
with 413 before it is parsed; a "billion laughs" document is refused by the parser itself;
`read_yaml` parses in a worker thread while the app keeps answering.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import APIRouter, Request
from pydantic import SecretStr
from starlette.types import Message, Receive, Scope, Send

from aigov_intake.app import create_app
from aigov_intake.bodies import parse_yaml, read_yaml
from aigov_intake.settings import Settings
from aigov_runtime.app import build_service_app
from aigov_runtime.errors import ProblemError
from aigov_runtime.settings import ServiceSettings
from aigov_runtime.testing import app_client

TOKEN = "intake-yaml-test-token-4Kq9Zr"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
YAML = {"Content-Type": "application/yaml"}
BILLION_LAUGHS = "\n".join(
    ['lol0: &lol0 "lol"']
    + [f"lol{n}: &lol{n} [{', '.join([f'*lol{n - 1}'] * 10)}]" for n in range(1, 10)]
).encode()


def tokens() -> SecretStr:
    return SecretStr(json.dumps({TOKEN: {"principal": "ci-bot", "roles": ["publisher"]}}))


class TestParseYaml:
    def test_billion_laughs_is_413(self) -> None:
        with pytest.raises(ProblemError) as caught:
            parse_yaml(BILLION_LAUGHS)
        assert caught.value.status_code == 413

    def test_malformed_yaml_is_400_with_its_position(self) -> None:
        with pytest.raises(ProblemError) as caught:
            parse_yaml(b"apiVersion: aigov.io/v1\nkind: [AISystem\n")
        assert caught.value.status_code == 400
        assert caught.value.detail.startswith("malformed YAML: ")
        assert "line 3, column 1" in caught.value.detail

    def test_plain_documents_parse(self) -> None:
        assert parse_yaml(b"a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}


@pytest.mark.asyncio
@pytest.mark.parametrize("size", [300 * 1024, 5 * 1024 * 1024])
async def test_a_large_yaml_manifest_is_413_before_parsing(tmp_path: Path, size: int) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'intake.sqlite3'}",
        bus="embedded",
        embedded_bus_path=tmp_path / "bus.sqlite3",
        auth_tokens=tokens(),
    )
    async with app_client(create_app(settings)) as client:
        response = await client.post(
            "/v1/systems", content=b"a: " + b"x" * size, headers={**YAML, **AUTH}
        )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "262144 bytes" in response.json()["detail"]


@pytest.mark.asyncio
async def test_read_yaml_leaves_the_event_loop_free() -> None:
    router = APIRouter()

    @router.post("/v1/documents")
    async def submit(request: Request) -> dict[str, int]:
        return {"keys": len(await read_yaml(request))}

    app = build_service_app(
        service="test",
        title="test",
        version="0",
        settings=ServiceSettings(database_url="sqlite+aiosqlite://", auth_tokens=tokens()),
        readiness_checks={},
        routers=[router],
    )
    body = yaml.safe_dump({f"key-{i}": [f"v-{i}-{j}" for j in range(4)] for i in range(3000)})
    order: list[str] = []
    body_read = asyncio.Event()

    async def observed(scope: Scope, receive: Receive, send: Send) -> None:
        async def observed_receive() -> Message:
            message = await receive()
            if scope.get("path") == "/v1/documents" and not message.get("more_body", False):
                body_read.set()
            return message

        async def observed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                order.append(scope.get("path", ""))
            await send(message)

        await app(scope, observed_receive, observed_send)

    answers: dict[str, Any] = {}
    async with app_client(observed) as client:
        parse = asyncio.create_task(client.post("/v1/documents", content=body, headers=YAML))
        await asyncio.wait_for(body_read.wait(), timeout=60)
        answers["live"] = await client.get("/healthz")
        answers["parsed"] = await parse
    assert answers["live"].status_code == 200
    assert answers["parsed"].json() == {"keys": 3000}
    assert order == ["/healthz", "/v1/documents"]
