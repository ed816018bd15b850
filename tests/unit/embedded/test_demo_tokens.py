"""`make run` with tokens of one's own: the in-process demo still loads (issue 13, item 7)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from aigov_embedded.app import _demo_access, _print_banner, build_services, create_app
from aigov_embedded.settings import Settings
from aigov_runtime.asgi import running_lifespan
from aigov_runtime.testing import app_client

LOOPBACK = "http://127.0.0.1:8080"
OPERATOR = "operator-reader-Qx7vN2pLm9Zr4Kc8Wd7Tg3"
OPERATOR_TOKENS = SecretStr(json.dumps({OPERATOR: {"principal": "ops", "roles": ["reader"]}}))


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Developer shells may export AIGOV_*/OTEL_* variables; tests must not see them."""
    for name in list(os.environ):
        if name.startswith(("AIGOV_", "OTEL_")):
            monkeypatch.delenv(name)


async def said_until_done(capsys: pytest.CaptureFixture[str], *, within: float = 60.0) -> str:
    """What the all-in-one said on stderr, once the demo's summary is out (or it failed)."""
    said = ""
    for _ in range(int(within * 10)):
        said += capsys.readouterr().err
        if "  look: " in said or "could not be loaded" in said:
            break
        await asyncio.sleep(0.1)
    return said


@pytest.mark.asyncio
async def test_the_demo_loads_with_configured_tokens_and_accepts_no_dev_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(data_dir=tmp_path, demo=True, auth_tokens=OPERATOR_TOKENS)
    app = create_app(settings)
    async with running_lifespan(app):
        said = await said_until_done(capsys)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=LOOPBACK, timeout=30.0
        ) as client:
            reader = {"Authorization": f"Bearer {OPERATOR}"}
            items = (await client.get("/v1/systems", headers=reader)).json()["items"]
            incidents = (await client.get("/v1/incidents", headers=reader)).json()["incidents"]
            dev = await client.get(
                "/v1/systems", headers={"Authorization": "Bearer dev-reader-token-please-change"}
            )
    assert "could not be loaded" not in said
    assert "demo loaded" in said
    assert {item["id"] for item in items} == {
        "code-assistant",
        "support-summarizer",
        "hr-policy-assistant",
    }
    assert all(item["last_gate"] for item in items)
    assert [(i["system_id"], i["status"]) for i in incidents] == [
        ("support-summarizer", "acknowledged")
    ], "the demo acknowledged the incident its alert opened"
    assert dev.status_code == 401, "configured tokens replace the public dev set"
    assert "demo-" not in said.replace("demo loaded", "").replace("demo:", ""), (
        "minted tokens are never printed"
    )


@pytest.mark.asyncio
async def test_minted_tokens_are_accepted_only_while_the_demo_loads(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, auth_tokens=OPERATOR_TOKENS)
    services = build_services(settings)
    [evidence] = [service for service in services if service.name == "evidence"]
    async with app_client(evidence.app) as client:

        async def systems(token: str) -> int:
            response = await client.get("/v1/systems", headers={"Authorization": f"Bearer {token}"})
            return response.status_code

        with _demo_access(services, settings) as tokens:
            during = {role: await systems(token) for role, token in tokens.items()}
            operator_during = await systems(OPERATOR)
        after = {role: await systems(token) for role, token in tokens.items()}
        operator_after = await systems(OPERATOR)
    assert during["reader"] == 200
    assert len(set(tokens.values())) == len(tokens), "one principal per role"
    assert all(not token.startswith("dev-") for token in tokens.values())
    assert set(after.values()) == {401}, "the demo's tokens die with the demo"
    assert operator_during == operator_after == 200, "configured tokens keep working"


def test_the_banner_says_which_tokens_to_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _print_banner(Settings(data_dir=tmp_path, auth_tokens=OPERATOR_TOKENS))
    said = capsys.readouterr().err
    assert "tokens:    the ones you configured (AIGOV_AUTH_TOKENS); the dev tokens are off" in said
    assert "dev-reader-token-please-change" not in said
