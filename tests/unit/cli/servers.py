"""Real services for the CLI to talk to, each its own process on a free local port.

The CLI is a separate program speaking HTTP, so its tests run the services the way users
do (`python -m aigov_<service>`, a real socket), not in-process through an ASGI transport.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from aigov_events.embedded_bus import EmbeddedBus
from aigov_events.testing import read_records

STARTUP_TIMEOUT_S = 60.0

#: token -> (principal, roles), as the services' AIGOV_AUTH_TOKENS.
TOKENS: dict[str, tuple[str, list[str]]] = {
    "cli-publisher-token-0123456789": ("ci-bot", ["publisher", "owner"]),
    "cli-approver-token-0123456789a": ("risk-officer", ["approver"]),
    "cli-reader-token-0123456789abc": ("dashboard", ["reader"]),
    "cli-manager-token-0123456789ab": ("release-manager", ["publisher", "approver"]),
    "cli-scoped-token-0123456789abc": ("team-bot", ["owner", "publisher"]),
}
PUBLISHER = "cli-publisher-token-0123456789"
APPROVER = "cli-approver-token-0123456789a"
READER = "cli-reader-token-0123456789abc"
MANAGER = "cli-manager-token-0123456789ab"
"""Publisher and approver at once: separation of duties, not its roles, limits it."""
SCOPED = "cli-scoped-token-0123456789abc"
"""Limited to a team no example manifest belongs to."""
SCOPES: dict[str, dict[str, list[str]]] = {SCOPED: {"teams": ["no-such-team"]}}


def auth_tokens() -> SecretStr:
    """The TOKENS mapping (with SCOPES) as the services' `auth_tokens` setting."""
    return SecretStr(
        json.dumps(
            {t: {"principal": p, "roles": r, **SCOPES.get(t, {})} for t, (p, r) in TOKENS.items()}
        )
    )


def free_port() -> int:
    """A TCP port nothing listens on right now (the service binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(modules: list[str], tmp: Path, *, bus_path: Path) -> Iterator[dict[str, str]]:
    """Run `python -m <module>` for each service on one embedded bus; yield name -> base URL.

    Separate processes, as in production: the services' logs and threads cannot mix with
    the CLI's output, which the tests read. They start concurrently (startup is mostly
    imports and migrations), and share the bus file as the all-in-one server would.
    """
    started: dict[str, tuple[str, subprocess.Popen[bytes], Path]] = {}
    try:
        for module in modules:
            name = module.removeprefix("aigov_")
            port = free_port()
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith(("AIGOV_", "OTEL_"))},
                "AIGOV_HTTP_PORT": str(port),
                "AIGOV_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / f'{name}.sqlite3'}",
                "AIGOV_BUS": "embedded",
                "AIGOV_EMBEDDED_BUS_PATH": str(bus_path),
                "AIGOV_AUTH_TOKENS": auth_tokens().get_secret_value(),
                "AIGOV_LOG_LEVEL": "WARNING",
            }
            log = tmp / f"{name}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", module], env=env, stdout=out, stderr=subprocess.STDOUT
                )
            started[name] = (f"http://127.0.0.1:{port}", process, log)
        for url, process, log in started.values():
            _wait_until_ready(url, process, log)
        yield {name: url for name, (url, _, _) in started.items()}
    finally:
        for _, process, _ in started.values():
            process.terminate()
        for _, process, _ in started.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} was not ready within {STARTUP_TIMEOUT_S}s:\n{log.read_text()}")


@dataclass(frozen=True)
class Published:
    """An event as it sits on the bus: CloudEvents id and type, AI system key, data."""

    event_id: str
    event_type: str
    system: str
    data: dict[str, Any]


def published(bus_path: Path, topic: str, *, system: str, count: int) -> list[Published]:
    """The events of `system` on `topic` of the embedded bus (waits for at least `count`)."""

    async def read() -> list[Published]:
        bus = EmbeddedBus(bus_path)
        await bus.start()
        try:
            found: list[Published] = []
            deadline = time.monotonic() + 10
            while len(found) < count and time.monotonic() < deadline:
                records = await read_records(bus, [topic], count=10_000, max_wait=0.5)
                found = [
                    Published(
                        event_id=dict(r.headers)["ce_id"].decode(),
                        event_type=dict(r.headers)["ce_type"].decode(),
                        system=(r.key or b"").decode(),
                        data=json.loads(r.value or b"{}"),
                    )
                    for r in records
                    if (r.key or b"").decode() == system
                ]
            return found
        finally:
            await bus.stop()

    return asyncio.run(read())
