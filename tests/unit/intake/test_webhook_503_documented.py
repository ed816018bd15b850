"""The signed receivers' 503 (no secret configured) is documented (issue 12, item 5b)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from aigov_intake.app import create_app
from aigov_intake.settings import Settings


@pytest.mark.parametrize(
    ("path", "variable"),
    [
        ("/v1/webhooks/github", "AIGOV_GITHUB_WEBHOOK_SECRET"),
        ("/v1/webhooks/mlflow", "AIGOV_MLFLOW_WEBHOOK_SECRET"),
    ],
)
def test_an_unconfigured_receiver_documents_its_503(
    tmp_path: Path, path: str, variable: str
) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'intake.sqlite3'}",
        bus="embedded",
        embedded_bus_path=tmp_path / "bus.sqlite3",
        auth_tokens=SecretStr(
            json.dumps({"t-0123456789abcdef": {"principal": "t", "roles": ["reader"]}})
        ),
    )
    response = create_app(settings).openapi()["paths"][path]["post"]["responses"]["503"]
    assert "not configured" in response["description"]
    assert variable in response["description"]
    assert "application/problem+json" in response["content"]
