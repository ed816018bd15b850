"""A real browser renders `/docs` and `/redoc` of a running aigov with every other host unreachable.

The all-in-one runs as `python -m aigov_embedded` (uvicorn) on a free loopback port; headless
Chromium loads the pages with a host resolver that fails every name except 127.0.0.1, so
Swagger UI and ReDoc only render if their JavaScript and CSS came from aigov itself. Chromium
is a test dependency like PostgreSQL: `.ci/run` installs it (`apt-get install chromium`);
without it these tests fail, they do not skip (deselect with `-m "not browser"` locally).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import httpx
import pytest

pytestmark = pytest.mark.browser

_BROWSERS: Final = ("chromium", "chromium-browser", "google-chrome")
_RENDER_BUDGET_MS: Final = 15_000


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def chromium() -> str:
    """The headless browser to drive; fails (not skips) when none is installed."""
    for name in _BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("Chromium is not installed: `apt-get install chromium` (.ci/run does this)")


@pytest.fixture(scope="module")
def aigov_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a running all-in-one aigov, stopped after the module's tests."""
    tmp = tmp_path_factory.mktemp("docs-offline")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIGOV_", "OTEL_"))}
    env |= {"AIGOV_HTTP_PORT": str(port), "AIGOV_DATA_DIR": str(tmp / "data")}
    log = tmp / "aigov.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "aigov_embedded"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"aigov exited ({process.returncode}):\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"aigov did not start in 60 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
