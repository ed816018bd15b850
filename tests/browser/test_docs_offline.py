"""A real browser renders `/docs` and `/redoc` of a running aigov with every other host unreachable.

The all-in-one runs as `python -m aigov_embedded` (uvicorn) on a free loopback port; headless
Chromium loads the pages with a host resolver that fails every name except 127.0.0.1, so
Swagger UI and ReDoc only render if their JavaScript and CSS came from aigov itself. Chromium
is a test dependency like PostgreSQL: `.ci/run` installs it (`apt-get install chromium`);
without it these tests fail, they do not skip (deselect with `-m "not browser"` locally).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import httpx
import pytest

from tests.browser.allinone import chromium, running_aigov

pytestmark = pytest.mark.browser

_RENDER_BUDGET_MS: Final = 15_000


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def aigov_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a running all-in-one aigov, stopped after the module's tests."""
    tmp = tmp_path_factory.mktemp("docs-offline")
    with running_aigov(tmp, ready=_healthy, within=60, what="aigov did not start") as url:
        yield url


def rendered_dom(url: str, profile: Path) -> str:
    """The DOM headless Chromium builds for `url` with every host but 127.0.0.1 unresolvable."""
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--no-first-run",
        "--no-default-browser-check",
        # Offline, as far as the page can tell: any CDN name fails to resolve.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--user-data-dir={profile}",
        f"--virtual-time-budget={_RENDER_BUDGET_MS}",
        "--dump-dom",
        url,
    ]
    done = subprocess.run(command, capture_output=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done.stdout.decode(errors="replace")


def test_swagger_ui_renders_offline(aigov_url: str, tmp_path: Path) -> None:
    dom = rendered_dom(f"{aigov_url}/docs", tmp_path / "profile")
    # Rendered by Swagger UI's JavaScript: the API title and the operation blocks.
    assert 'class="swagger-ui' in dom, dom[:2000]
    assert 'class="title"' in dom, dom[:2000]
    assert "aigov" in dom
    assert "opblock" in dom, dom[:2000]
    assert "/v1/systems" in dom


def test_redoc_renders_offline(aigov_url: str, tmp_path: Path) -> None:
    dom = rendered_dom(f"{aigov_url}/redoc", tmp_path / "profile")
    # Rendered by ReDoc's JavaScript: its layout and the operations of the merged document.
    assert "redoc-wrap" in dom, dom[:2000]
    assert "/v1/systems" in dom, dom[:2000]
