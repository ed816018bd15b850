"""Intake uses the runtime's per-principal rate limiter and YAML body parser, not copies.

The runtime installs one limiter on every app (`rate_limiter_of(app)`); an intake with a
second one of its own let each principal spend two budgets. Manifests are parsed by the
runtime's `read_yaml` within the app's AIGOV_MAX_YAML_NODES, in a worker thread.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import uuid
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from aigov_events.catalog import EvaluationCompleted, SystemRegistered
from aigov_intake.app import create_app
from aigov_intake.settings import Settings
from aigov_runtime.ratelimit import RateLimiter, install_rate_limiter
from aigov_runtime.testing import app_client

pytestmark = pytest.mark.asyncio

TOKEN = "intake-limits-test-token-7Hq2"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GITHUB_SECRET = "github-secret-for-limit-tests"


def settings(tmp_path: Path, **overrides: object) -> Settings:
    """An intake on SQLite and the embedded bus."""
    tokens = {TOKEN: {"principal": "ci-bot", "roles": ["publisher", "owner"]}}
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'intake.sqlite3'}",
        bus="embedded",
        embedded_bus_path=tmp_path / "bus.sqlite3",
        auth_tokens=SecretStr(json.dumps(tokens)),
        **overrides,  # type: ignore[arg-type]
    )


def evaluation() -> bytes:
    """One structured-mode evaluation event with a fresh id."""
    event = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "https://ci.example.com/limits",
        "type": EvaluationCompleted.event_type,
        "time": "2026-11-20T10:00:00Z",
        "data": copy.deepcopy(dict(EvaluationCompleted.example)),
    }
    return json.dumps(event).encode()


async def test_principals_are_limited_by_the_runtime_limiter(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path))
    install_rate_limiter(app, RateLimiter(rate=0.01, burst=1))
    headers = {"Content-Type": "application/cloudevents+json", **AUTH}
    async with app_client(app) as client:
        statuses = [
            (await client.post("/v1/events", content=evaluation(), headers=headers)).status_code
            for _ in range(2)
        ]
        limited = await client.post("/v1/events", content=evaluation(), headers=headers)
    assert statuses == [202, 429]
    assert int(limited.headers["retry-after"]) >= 1


async def test_signed_webhooks_are_limited_by_the_runtime_limiter(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, github_webhook_secret=SecretStr(GITHUB_SECRET)))
    install_rate_limiter(app, RateLimiter(rate=0.01, burst=1))
    async with app_client(app) as client:
        statuses = []
        for _ in range(2):
            raw = json.dumps({"zen": "Keep it logically awesome."}).encode()
            digest = hmac.new(GITHUB_SECRET.encode(), raw, hashlib.sha256).hexdigest()
            headers = {
                "Content-Type": "application/json",
                "X-GitHub-Event": "ping",
                "X-GitHub-Delivery": str(uuid.uuid4()),
                "X-Hub-Signature-256": f"sha256={digest}",
            }
            response = await client.post("/v1/webhooks/github", content=raw, headers=headers)
            statuses.append(response.status_code)
    assert statuses == [200, 429]


async def test_a_manifest_is_parsed_within_the_apps_yaml_node_limit(tmp_path: Path) -> None:
    document = copy.deepcopy(dict(SystemRegistered.example["manifest"]))
    document["metadata"]["id"] = f"sys-{uuid.uuid4().hex[:8]}"
    text = yaml.safe_dump(document).encode()
    app = create_app(settings(tmp_path, max_yaml_nodes=20))
    async with app_client(app) as client:
        response = await client.post(
            "/v1/systems", content=text, headers={"Content-Type": "application/yaml", **AUTH}
        )
    assert response.status_code == 413, response.text
    assert "AIGOV_MAX_YAML_NODES" in response.json()["detail"]
