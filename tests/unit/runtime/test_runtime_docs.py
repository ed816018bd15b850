"""`/docs`, `/redoc` and `/`: served from the process itself, with no other host named."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from aigov_runtime.testing import app_client

AppFactory = Callable[..., FastAPI]

# Every URL an HTML page makes the browser load: src/href attributes and JS string literals.
_URL = re.compile(r"""(?:src|href|url)\s*[=:(]\s*["']([^"']+)["']""", re.IGNORECASE)
_ABSOLUTE = re.compile(r"(?:https?:)?//", re.IGNORECASE)
_CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
}


def loaded_urls(page: str) -> list[str]:
    """The URLs a page references (scripts, styles, icons, the OpenAPI document)."""
    return _URL.findall(page)


async def assert_offline_page(client: httpx.AsyncClient, path: str) -> list[str]:
    """GET `path` with no token: HTML naming only local URLs, each of which answers."""
    page = await client.get(path)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    urls = loaded_urls(page.text)
    assert urls, page.text
    remote = [url for url in urls if _ABSOLUTE.match(url) or not url.startswith("/")]
    assert remote == [], f"{path} loads from elsewhere: {remote}"
    assert "http://" not in page.text
    assert "https://" not in page.text
    for url in urls:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        suffix = url[url.rfind(".") :]
        if suffix in _CONTENT_TYPES:
            content_type = asset.headers["content-type"].split(";")[0]
            assert content_type in _CONTENT_TYPES[suffix], (url, content_type)
    return urls


@pytest.mark.asyncio
class TestOfflineDocs:
    async def test_swagger_ui_loads_only_local_assets(self, make_app: AppFactory) -> None:
        async with app_client(make_app()) as client:
            urls = await assert_offline_page(client, "/docs")
        assert "/openapi.json" in urls
        assert any(url.endswith("swagger-ui-bundle.js") for url in urls)
        assert any(url.endswith("swagger-ui.css") for url in urls)

    async def test_redoc_loads_only_local_assets(self, make_app: AppFactory) -> None:
        async with app_client(make_app()) as client:
            urls = await assert_offline_page(client, "/redoc")
        assert any(url.endswith("redoc.standalone.js") for url in urls)

    async def test_docs_pages_forbid_loading_from_other_hosts(self, make_app: AppFactory) -> None:
        async with app_client(make_app()) as client:
            for path in ("/docs", "/redoc", "/"):
                policy = (await client.get(path)).headers["content-security-policy"]
                assert "default-src 'self'" in policy, path
                assert "connect-src 'self'" in policy, path
                assert "http" not in policy, path

    async def test_assets_are_the_packaged_builds(self, make_app: AppFactory) -> None:
        async with app_client(make_app()) as client:
            bundle = await client.get("/docs/assets/swagger-ui-bundle.js")
            redoc = await client.get("/docs/assets/redoc.standalone.js")
            missing = await client.get("/docs/assets/nope.js")
            escape = await client.get("/docs/assets/..%2F__init__.py")
        assert bundle.status_code == 200
        assert "SwaggerUIBundle" in bundle.text
        assert redoc.status_code == 200
        assert "Redoc" in redoc.text
        assert missing.status_code == 404
        assert escape.status_code == 404

    async def test_docs_stay_behind_the_host_check(self, make_app: AppFactory) -> None:
        app = make_app(allowed_hosts="127.0.0.1")
        async with app_client(app, base_url="http://evil.example") as client:
            for path in ("/docs", "/redoc", "/", "/docs/assets/swagger-ui.css"):
                assert (await client.get(path)).status_code == 421, path

    async def test_the_cdn_pages_are_gone_from_the_schema(self, make_app: AppFactory) -> None:
        paths = make_app().openapi()["paths"]
        assert "/docs" not in paths
        assert "/redoc" not in paths
        assert not any(path.startswith("/docs/") for path in paths)


@pytest.mark.asyncio
class TestLanding:
    async def test_root_links_docs_and_probes(self, make_app: AppFactory) -> None:
        async with app_client(make_app()) as client:
            page = await client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        for href in ("/docs", "/redoc", "/openapi.json", "/readyz", "/healthz"):
            assert f'href="{href}"' in page.text, href
        assert "test service" in page.text
        assert "token-please-change" not in page.text

    async def test_root_answers_json_when_asked(self, make_app: AppFactory) -> None:
        async with app_client(make_app()) as client:
            answer = await client.get("/", headers={"Accept": "application/json"})
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        assert answer.json() == {
            "title": "test service",
            "version": "0.0.0",
            "services": ["test"],
            "links": {
                "docs": "/docs",
                "redoc": "/redoc",
                "openapi": "/openapi.json",
                "readiness": "/readyz",
                "liveness": "/healthz",
            },
        }

    async def test_root_is_documented_with_both_media_types(self, make_app: AppFactory) -> None:
        operation = make_app(allowed_hosts="127.0.0.1").openapi()["paths"]["/"]["get"]
        content = operation["responses"]["200"]["content"]
        assert {"application/json", "text/html"} <= set(content)
        assert "421" in operation["responses"]
        assert "security" not in operation
