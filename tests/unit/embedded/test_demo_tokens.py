"""`make run` with tokens of one's own: the in-process demo still loads (issue 13, item 7)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from aigov_embedded.app import create_app
from aigov_embedded.settings import Settings
from aigov_runtime.asgi import running_lifespan

LOOPBACK = "http://127.0.0.1:8080"
OPERATOR = "operator-reader-Qx7vN2pLm9Zr4Kc8Wd7Tg3"


@pytest.mark.asyncio
async def test_the_demo_loads_with_configured_tokens_and_accepts_no_dev_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        demo=True,
        auth_tokens=SecretStr(json.dumps({OPERATOR: {"principal": "ops", "roles": ["reader"]}})),
    )
    app = create_app(settings)
    async with running_lifespan(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=LOOPBACK, timeout=30.0
        ) as client:
            reader = {"Authorization": f"Bearer {OPERATOR}"}
            items: list[dict[str, object]] = []
            for _ in range(600):
                body = (await client.get("/v1/systems", headers=reader)).json()
                items = body["items"]
                if len(items) == 3 and all(item["last_gate"] for item in items):
                    break
                await asyncio.sleep(0.1)
            dev = await client.get(
                "/v1/systems", headers={"Authorization": "Bearer dev-reader-token-please-change"}
            )
    assert {item["id"] for item in items} == {
        "code-assistant",
        "support-summarizer",
        "hr-policy-assistant",
    }
    assert dev.status_code == 401, "configured tokens replace the public dev set"
    said = capsys.readouterr().err
    assert "demo loaded" in said
    assert "could not be loaded" not in said
    assert "demo-" not in said.replace("demo loaded", ""), "minted tokens are never printed"
