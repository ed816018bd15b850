"""The all-in-one's `/docs`, `/redoc` and `/`: its own, for all four services, offline."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from aigov_embedded.app import create_app
from aigov_embedded.dispatch import OWN_PATHS
from aigov_embedded.settings import Settings
from aigov_runtime.testing import app_client

LOOPBACK = "http://127.0.0.1:8080"
READER = {"Authorization": "Bearer dev-reader-token-please-change"}
SERVICES = ["intake", "tiering", "evidence", "monitoring-router"]
_URL = re.compile(r"""(?:src|href|url)\s*[=:(]\s*["']([^"']+)["']""", re.IGNORECASE)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Developer shells may export AIGOV_*/OTEL_* variables; tests must not see them."""
    for name in list(os.environ):
        if name.startswith(("AIGOV_", "OTEL_")):
            monkeypatch.delenv(name)


@pytest.mark.asyncio
class TestAllInOneDocs:
    async def test_docs_name_only_local_assets_and_they_answer(self, tmp_path: Path) -> None:
        async with app_client(create_app(Settings(data_dir=tmp_path)), base_url=LOOPBACK) as client:
            for path in ("/docs", "/redoc"):
                page = await client.get(path)
                assert page.status_code == 200, path
                assert "http://" not in page.text, path
                assert "https://" not in page.text, path
                urls = _URL.findall(page.text)
                assert urls, path
                assert all(url.startswith("/") for url in urls), urls
                for url in urls:
                    assert (await client.get(url)).status_code == 200, url
            css = await client.get("/docs/assets/swagger-ui.css")
        assert css.headers["content-type"].startswith("text/css")

    async def test_root_names_the_four_services(self, tmp_path: Path) -> None:
        async with app_client(create_app(Settings(data_dir=tmp_path)), base_url=LOOPBACK) as client:
            landing = await client.get("/", headers={"Accept": "application/json"})
            page = await client.get("/")
        assert landing.status_code == 200
        assert landing.json()["title"] == "aigov"
        assert landing.json()["services"] == SERVICES
        assert page.status_code == 200
        for name in SERVICES:
            assert name in page.text
        assert "token-please-change" not in page.text

    async def test_front_serves_docs_not_a_service(self) -> None:
        assert {"/", "/docs", "/redoc", "/openapi.json"} <= OWN_PATHS

    async def test_merged_document_lists_root_once(self, tmp_path: Path) -> None:
        async with app_client(create_app(Settings(data_dir=tmp_path)), base_url=LOOPBACK) as client:
            document = (await client.get("/openapi.json")).json()
        assert "/" in document["paths"]
        assert "/docs" not in document["paths"]


@pytest.mark.asyncio
class TestAllInOneHostCheck:
    """The front app's own pages follow the services' Host rule (DNS rebinding, dev tokens)."""

    async def test_rebound_page_cannot_read_the_front_pages(self, tmp_path: Path) -> None:
        app = create_app(Settings(data_dir=tmp_path))
        async with app_client(app, base_url="http://evil.example") as client:
            for path in ("/", "/docs", "/redoc", "/openapi.json", "/docs/assets/swagger-ui.css"):
                refused = await client.get(path)
                assert refused.status_code == 421, path
                assert refused.headers["content-type"] == "application/problem+json"
            metrics = await client.get("/metrics", headers=READER)
            live = await client.get("/healthz")
        assert metrics.status_code == 421
        assert live.status_code == 200

    async def test_merged_document_lists_421_on_the_front_pages(self, tmp_path: Path) -> None:
        async with app_client(create_app(Settings(data_dir=tmp_path)), base_url=LOOPBACK) as client:
            document = (await client.get("/openapi.json")).json()
        assert "421" in document["paths"]["/"]["get"]["responses"]
        assert "421" in document["paths"]["/metrics"]["get"]["responses"]
        assert "421" not in document["paths"]["/healthz"]["get"]["responses"]
