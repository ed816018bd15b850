"""Fixtures for aigov_runtime unit tests: a clean environment, tokens per role, app builders.

Everything is exposed as fixtures (never imported from here): several test directories have a
conftest.py and `import conftest` would be ambiguous.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from pydantic import SecretStr

from aigov_runtime.app import build_service_app
from aigov_runtime.auth import Role
from aigov_runtime.health import ReadinessChecks
from aigov_runtime.logging import JsonFormatter, RedactionFilter
from aigov_runtime.settings import ServiceSettings

LogLines = Callable[[], list[dict[str, Any]]]
SettingsFactory = Callable[..., ServiceSettings]
AppFactory = Callable[..., FastAPI]
AuthHeader = Callable[[Role], dict[str, str]]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Developer shells may export AIGOV_*/OTEL_* variables; tests must not see them."""
    for name in list(os.environ):
        if name.startswith(("AIGOV_", "OTEL_")):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def tokens() -> dict[Role, str]:
    """One long random-looking token per role (acceptable even in prod)."""
    return {role: f"t0k-{role.value}-Qx7vN2pLm9Zr4Kc8Wd" for role in Role}


@pytest.fixture(scope="session")
def tokens_secret(tokens: dict[Role, str]) -> SecretStr:
    """AIGOV_AUTH_TOKENS text granting each test token its one role, principal `<role>-bot`."""
    document = {
        token: {"principal": f"{role.value}-bot", "roles": [role.value]}
        for role, token in tokens.items()
    }
    return SecretStr(json.dumps(document))


@pytest.fixture(scope="session")
def auth_header(tokens: dict[Role, str]) -> AuthHeader:
    """The Authorization header of the test token holding a role."""

    def header(role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[role]}"}

    return header


@pytest.fixture
def make_settings(tokens_secret: SecretStr) -> SettingsFactory:
    """Dev settings with the test tokens and an in-memory database, plus keyword overrides."""

    def build(**overrides: Any) -> ServiceSettings:
        fields: dict[str, Any] = {
            "auth_tokens": tokens_secret,
            "database_url": "sqlite+aiosqlite://",
        }
        return ServiceSettings(**(fields | overrides))

    return build


@pytest.fixture
def make_app(make_settings: SettingsFactory) -> AppFactory:
    """Build a runtime app around test routers; settings fields can be overridden by keyword."""

    def build(
        *routers: APIRouter,
        readiness_checks: ReadinessChecks | None = None,
        **overrides: Any,
    ) -> FastAPI:
        return build_service_app(
            service="test",
            title="test service",
            version="0.0.0",
            settings=make_settings(**overrides),
            readiness_checks=readiness_checks or {},
            routers=routers,
        )

    return build


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    """Capture JSON log lines as our pipeline writes them; call the result to parse them.

    A separate handler (not the one `configure_logging` manages), so apps built during the test
    may reconfigure logging without detaching the capture.
    """
    root = logging.getLogger()
    saved_level = root.level
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter("test-service"))
    handler.addFilter(RedactionFilter())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in buffer.getvalue().splitlines() if line]

    yield lines
    root.removeHandler(handler)
    root.setLevel(saved_level)
