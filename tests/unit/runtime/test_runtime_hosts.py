"""Host-header check (DNS rebinding): loopback names only while dev tokens are in effect.

Attack: a web page on `evil.example` whose DNS answer is rebound to 127.0.0.1 makes the
browser send requests to the local dev server with `Host: evil.example`; the page knows the
public dev tokens, so without this check it could read and write everything.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from pydantic import SecretStr, ValidationError

from aigov_runtime.app import build_service_app
from aigov_runtime.auth import CurrentPrincipal
from aigov_runtime.settings import ServiceSettings
from aigov_runtime.testing import app_client

pytestmark = pytest.mark.asyncio

AppFactory = Callable[..., FastAPI]
DEV_ADMIN = {"Authorization": "Bearer dev-admin-token-please-change"}


def whoami_router() -> APIRouter:
    router = APIRouter()

    @router.get("/v1/whoami")
    async def whoami(principal: CurrentPrincipal) -> dict[str, str]:
        return {"name": principal.name}

    return router


def dev_app(**overrides: Any) -> FastAPI:
    """An app on the public dev tokens (no tokens configured), as `make run` starts it."""
    return build_service_app(
        service="test",
        title="test",
        version="0.0.0",
        settings=ServiceSettings(database_url="sqlite+aiosqlite://", **overrides),
        readiness_checks={},
        routers=[whoami_router()],
    )


async def get(app: FastAPI, path: str, host: str, **headers: str) -> Any:
    async with app_client(app, base_url="http://127.0.0.1:8080") as client:
        return await client.get(path, headers={"Host": host, **headers})


class TestDevServer:
    async def test_a_rebound_host_is_refused(self) -> None:
        """Attack: `Host: evil.example` with a public dev token."""
        response = await get(dev_app(), "/v1/whoami", "evil.example", **DEV_ADMIN)
        assert response.status_code == 421, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "evil.example" in response.json()["detail"]
        assert "AIGOV_ALLOWED_HOSTS" in response.json()["detail"]

    @pytest.mark.parametrize(
        "host",
        ["127.0.0.1:8080", "127.0.0.1", "localhost:8080", "LocalHost", "[::1]:8080", "[::1]"],
    )
    async def test_loopback_hosts_are_served(self, host: str) -> None:
        response = await get(dev_app(), "/v1/whoami", host, **DEV_ADMIN)
        assert response.status_code == 200, response.text
        assert response.json() == {"name": "dev-admin"}

    @pytest.mark.parametrize(
        "host",
        ["evil.example:8080", "localhost.evil.example", "127.0.0.1.evil.example", "0.0.0.0", ""],
    )
    async def test_other_hosts_are_refused(self, host: str) -> None:
        response = await get(dev_app(), "/v1/whoami", host, **DEV_ADMIN)
        assert response.status_code == 421

    async def test_liveness_and_readiness_answer_any_host(self) -> None:
        app = dev_app()
        assert (await get(app, "/healthz", "10.1.2.3:8080")).status_code == 200
        assert (await get(app, "/readyz", "10.1.2.3:8080")).status_code == 200

    async def test_documented_in_openapi(self) -> None:
        async with app_client(dev_app(), base_url="http://localhost") as client:
            document = (await client.get("/openapi.json")).json()
        assert "421" in document["paths"]["/v1/whoami"]["get"]["responses"]


class TestAllowList:
    async def test_configured_hosts_replace_the_loopback_default(self) -> None:
        app = dev_app(allowed_hosts="aigov.dev.example, *.corp.example")
        assert (
            await get(app, "/v1/whoami", "aigov.dev.example:8080", **DEV_ADMIN)
        ).status_code == 200
        assert (await get(app, "/v1/whoami", "ci.corp.example", **DEV_ADMIN)).status_code == 200
        assert (await get(app, "/v1/whoami", "corp.example", **DEV_ADMIN)).status_code == 421
        assert (await get(app, "/v1/whoami", "127.0.0.1:8080", **DEV_ADMIN)).status_code == 421

    async def test_applies_with_configured_tokens_in_prod(self) -> None:
        token = "Zq8rT1vK0pWx3nB6yLc2Hs9mDf4Gj7Ua"
        app = dev_app(
            env="prod",
            http_host="0.0.0.0",
            allowed_hosts="aigov.example.com",
            auth_tokens=SecretStr(json.dumps({token: {"principal": "ci", "roles": ["reader"]}})),
        )
        bearer = {"Authorization": f"Bearer {token}"}
        assert (await get(app, "/v1/whoami", "aigov.example.com", **bearer)).status_code == 200
        assert (await get(app, "/v1/whoami", "evil.example", **bearer)).status_code == 421

    async def test_no_check_without_dev_tokens_or_a_list(self) -> None:
        token = "Zq8rT1vK0pWx3nB6yLc2Hs9mDf4Gj7Ua"
        app = dev_app(
            http_host="0.0.0.0",
            auth_tokens=SecretStr(json.dumps({token: {"principal": "ci", "roles": ["reader"]}})),
        )
        response = await get(app, "/v1/whoami", "10.0.0.7:8080", Authorization=f"Bearer {token}")
        assert response.status_code == 200

    @pytest.mark.parametrize("value", ["https://aigov.example", "aigov.example:8080", "a b", ","])
    async def test_malformed_entries_are_refused_at_load(
        self, value: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AIGOV_ALLOWED_HOSTS", value)
        with pytest.raises(ValidationError, match="AIGOV_ALLOWED_HOSTS"):
            ServiceSettings()

    async def test_read_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AIGOV_ALLOWED_HOSTS", "aigov.example.com,[::1],*")
        assert ServiceSettings().allowed_hosts == ("aigov.example.com", "::1", "*")
