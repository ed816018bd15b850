"""Dispatch in the all-in-one: a path two services share by method answers 405 for both."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aigov_embedded.app import create_app
from aigov_embedded.settings import Settings
from aigov_runtime.testing import app_client

READER = {"Authorization": "Bearer dev-reader-token-please-change"}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Developer shells may export AIGOV_*/OTEL_* variables; tests must not see them."""
    for name in list(os.environ):
        if name.startswith(("AIGOV_", "OTEL_")):
            monkeypatch.delenv(name)


@pytest.mark.asyncio
class TestMethodNotAllowed:
    @pytest.mark.parametrize("path", ["/v1/systems", "/v1/waivers"])
    async def test_allow_names_the_methods_of_every_service(
        self, tmp_path: Path, path: str
    ) -> None:
        # Intake serves POST on these paths and evidence GET: a 405 names both.
        async with app_client(create_app(Settings(data_dir=tmp_path))) as client:
            response = await client.request("OPTIONS", path, headers=READER)
        assert response.status_code == 405
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["allow"] == "GET, POST"

    async def test_a_path_of_one_service_keeps_its_own_methods(self, tmp_path: Path) -> None:
        async with app_client(create_app(Settings(data_dir=tmp_path))) as client:
            response = await client.delete("/v1/gate", headers=READER)
        assert response.status_code == 405
        assert response.headers["allow"] == "GET"
