"""What the browser tests share: the browser to drive, and a running all-in-one aigov."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import pytest

_BROWSERS: Final = ("chromium", "chromium-browser", "google-chrome")


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


@contextmanager
def running_aigov(
    tmp: Path,
    *,
    ready: Callable[[str], bool],
    within: float,
    what: str,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """`python -m aigov_embedded` on a free loopback port, yielded once `ready(url)`, then stopped.

    The process gets this one's environment without any `AIGOV_`/`OTEL_` variable, plus `env`.
    """
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AIGOV_", "OTEL_"))}
    environment |= {"AIGOV_HTTP_PORT": str(port), "AIGOV_DATA_DIR": str(tmp / "data")}
    environment |= env or {}
    log = tmp / "aigov.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "aigov_embedded"],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + within
        while not ready(url):
            if process.poll() is not None:
                pytest.fail(f"aigov exited ({process.returncode}):\n{log.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"{what} within {within:g} s:\n{log.read_text()[-4000:]}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
