"""YAML request bodies: a size cap (413), bounded alias expansion, parsing off the event loop.

Attack tests: a 5 MiB YAML body is refused before it is read; a "billion laughs" document
(a few hundred bytes of nested aliases standing for 10^9 values) is refused; a large valid
document is parsed in a worker thread while the same app keeps answering other requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import yaml
from fastapi import APIRouter, FastAPI, Request
from starlette.types import Message, Receive, Scope, Send

from aigov_runtime import yaml_body
from aigov_runtime.errors import ProblemError
from aigov_runtime.settings import ServiceSettings
from aigov_runtime.testing import app_client
from aigov_runtime.yaml_body import DEFAULT_MAX_YAML_BYTES, YamlLimits, load_yaml, read_yaml

AppFactory = Callable[..., FastAPI]
YAML = {"Content-Type": "application/yaml"}

BILLION_LAUGHS = "\n".join(
    ['lol0: &lol0 "lol"']
    + [f"lol{n}: &lol{n} [{', '.join([f'*lol{n - 1}'] * 10)}]" for n in range(1, 10)]
)


def big_valid_yaml(approx_bytes: int) -> bytes:
    """A plain mapping of lists of short strings, about `approx_bytes` long."""
    entries = approx_bytes // 60
    return yaml.safe_dump(
        {f"key-{i}": [f"value-{i}-{j}" for j in range(4)] for i in range(entries)}
    ).encode()


def yaml_router() -> APIRouter:
    router = APIRouter()

    @router.post("/v1/documents")
    async def submit(request: Request) -> dict[str, int]:
        document = await read_yaml(request)
        return {"keys": len(document)}

    return router


class TestLoad:
    def test_parses_with_the_c_loader(self) -> None:
        assert yaml.__with_libyaml__
        assert yaml_body.LOADER is yaml.CSafeLoader
        assert load_yaml(b"a: [1, two, {c: null}]\n") == {"a": [1, "two", {"c": None}]}

    def test_billion_laughs_is_refused_without_expanding_it(self) -> None:
        with pytest.raises(ProblemError) as caught:
            load_yaml(BILLION_LAUGHS.encode())
        assert caught.value.status_code == 413
        assert "100000" in caught.value.detail

    def test_aliases_within_the_limit_are_fine(self) -> None:
        document = load_yaml(b"base: &b {x: 1}\nfirst: *b\nsecond: *b\n")
        assert document == {"base": {"x": 1}, "first": {"x": 1}, "second": {"x": 1}}

    def test_the_node_limit_counts_expanded_aliases(self) -> None:
        text = b"a: &a [1, 2, 3, 4]\nb: [*a, *a, *a]\n"
        load_yaml(text, YamlLimits(max_nodes=30))
        with pytest.raises(ProblemError) as caught:
            load_yaml(text, YamlLimits(max_nodes=20))
        assert caught.value.status_code == 413

    def test_a_recursive_alias_is_400(self) -> None:
        with pytest.raises(ProblemError) as caught:
            load_yaml(b"a: &a [1, *a]\n")
        assert caught.value.status_code == 400
        assert "recursive" in caught.value.detail

    @pytest.mark.parametrize(
        "raw",
        [b"a: [1", b"apiVersion: aigov.io/v1\nkind: [AISystem\n", b"a: b: c", b"\x80abc"],
    )
    def test_malformed_yaml_is_400_with_the_position(self, raw: bytes) -> None:
        with pytest.raises(ProblemError) as caught:
            load_yaml(raw)
        assert caught.value.status_code == 400
        assert caught.value.detail.startswith("malformed YAML: ")

    def test_deep_nesting_is_400(self) -> None:
        with pytest.raises(ProblemError) as caught:
            load_yaml(b"[" * 5000 + b"]" * 5000)
        assert caught.value.status_code == 400

    def test_too_large_is_413_naming_the_limit(self) -> None:
        with pytest.raises(ProblemError) as caught:
            load_yaml(b"a: " + b"x" * 2000, YamlLimits(max_bytes=1000))
        assert caught.value.status_code == 413
        assert "1000 bytes" in caught.value.detail


@pytest.mark.asyncio
class TestRequests:
    async def test_a_5_mib_yaml_body_is_413_before_it_is_read(self, make_app: AppFactory) -> None:
        async with app_client(make_app(yaml_router())) as client:
            response = await client.post(
                "/v1/documents", content=b"a: " + b"x" * (5 * 1024 * 1024), headers=YAML
            )
        assert response.status_code == 413
        assert response.headers["content-type"].startswith("application/problem+json")
        assert f"{DEFAULT_MAX_YAML_BYTES} bytes" in response.json()["detail"]
        assert "AIGOV_MAX_YAML_BYTES" in response.json()["detail"]

    async def test_a_streamed_yaml_body_is_cut_at_the_limit(self, make_app: AppFactory) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(100):
                yield b"x" * 65536

        async with app_client(make_app(yaml_router(), max_yaml_bytes=100_000)) as client:
            response = await client.post(
                "/v1/documents", content=chunks(), headers={"Content-Type": "text/x-yaml"}
            )
        assert response.status_code == 413
        assert "100000 bytes" in response.json()["detail"]

    async def test_json_bodies_keep_the_general_limit(self, make_app: AppFactory) -> None:
        router = APIRouter()

        @router.post("/v1/blobs")
        async def blob(request: Request) -> dict[str, int]:
            return {"size": len(await request.body())}

        async with app_client(make_app(router, max_yaml_bytes=1000)) as client:
            response = await client.post(
                "/v1/blobs", content=b"1" * 5000, headers={"Content-Type": "application/json"}
            )
        assert response.json() == {"size": 5000}

    async def test_billion_laughs_is_refused(self, make_app: AppFactory) -> None:
        async with app_client(make_app(yaml_router())) as client:
            response = await client.post("/v1/documents", content=BILLION_LAUGHS, headers=YAML)
        assert response.status_code == 413
        assert response.headers["content-type"].startswith("application/problem+json")

    async def test_limits_come_from_the_settings(self, make_app: AppFactory) -> None:
        async with app_client(make_app(yaml_router(), max_yaml_nodes=10)) as client:
            small = await client.post("/v1/documents", content=b"a: 1\nb: 2\n", headers=YAML)
            large = await client.post(
                "/v1/documents", content=b"a: [1, 2, 3, 4, 5, 6, 7, 8]\n", headers=YAML
            )
        assert small.json() == {"keys": 2}
        assert large.status_code == 413

    async def test_other_requests_are_served_while_a_document_parses(
        self, make_app: AppFactory
    ) -> None:
        app = make_app(yaml_router())
        body = big_valid_yaml(200_000)
        order, body_read = await served_while_parsing(app, "/v1/documents", body, YAML)
        assert body_read
        assert order == ["/healthz", "/v1/documents"]


async def served_while_parsing(
    app: Any, path: str, body: bytes, headers: dict[str, str]
) -> tuple[list[str], bool]:
    """POST `body` to `path`; once the app has read it all, GET /healthz. Order of answers."""
    order: list[str] = []
    body_read = asyncio.Event()

    async def observed(scope: Scope, receive: Receive, send: Send) -> None:
        async def observed_receive() -> Message:
            message = await receive()
            if scope.get("path") == path and not message.get("more_body", False):
                body_read.set()
            return message

        async def observed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                order.append(scope.get("path", ""))
            await send(message)

        await app(scope, observed_receive, observed_send)

    async with app_client(observed, base_url="http://127.0.0.1") as client:
        parse = asyncio.create_task(client.post(path, content=body, headers=headers))
        await asyncio.wait_for(body_read.wait(), timeout=60)
        live = await client.get("/healthz")
        answered = await parse
    assert live.status_code == 200
    assert answered.status_code == 200, answered.text
    return order, body_read.is_set()


def test_default_limits_are_documented_values() -> None:
    settings = ServiceSettings()
    assert settings.max_yaml_bytes == 256 * 1024 == DEFAULT_MAX_YAML_BYTES
    assert settings.max_yaml_nodes == 100_000
