"""The two run modes as real processes, and a local HTTP receiver for routed notifications.

`embedded`: `python -m aigov_embedded` (one process, SQLite, the embedded log) on a free port.
`services`: the four services as separate processes on the real Kafka broker and a fresh
PostgreSQL database, with their own topic prefix. Tests talk to either only over HTTP.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

SERVICES: Mapping[str, str] = {
    "intake": "aigov_intake",
    "tiering": "aigov_tiering",
    "evidence": "aigov_evidence",
    "router": "aigov_monitoring_router",
}


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Received:
    """One HTTP request the receiver got."""

    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Receiver:
    """A minimal HTTP/1.1 server that answers 200 and keeps what it received."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        """Base URL of the receiver."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen on a free port."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                try:
                    parsed: Any = json.loads(body) if body else None
                except ValueError:
                    parsed = body.decode("utf-8", "replace")
                self.received.append(Received(path, headers, parsed))
                self._arrived.set()
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{}"
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def wait_for(self, predicate: Any, *, within: float = 60.0) -> Received:
        """The first received request matching `predicate`, waiting up to `within` seconds."""
        deadline = time.monotonic() + within
        while True:
            for item in self.received:
                if predicate(item):
                    return item
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                paths = [r.path for r in self.received]
                raise AssertionError(f"no matching request within {within:g} s; got {paths}")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout=min(remaining, 1.0))
            except TimeoutError:
                pass


def routing_config(receiver: Receiver) -> str:
    """Route every alert to the receiver at once; escalate incidents within seconds."""
    return f"""
global:
  dashboard_url: http://127.0.0.1:9/dashboard
route:
  receiver: alerts
  group_by: [system, signal]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - name: high
      matchers: ['tier="high"']
      receiver: alerts
receivers:
  - name: alerts
    webhook:
      url: {receiver.url}/alerts
      secret: e2e-webhook-secret-0123456789
  - name: escalations
    webhook:
      url: {receiver.url}/escalations
      secret: e2e-webhook-secret-0123456789
incidents:
  slas:
    - {{acknowledge: 3s, contain: 30s}}
  escalation:
    - {{to: owner, receiver: escalations, after: 0s}}
    - {{to: on-call, receiver: escalations, after: 1s}}
    - {{to: governance-lead, receiver: escalations, after: 2s}}
  breach_receiver: escalations
  article73:
    regions: [EU, EEA]
    tiers: [high]
    report_within: 15d
    death_within: 10d
    widespread_within: 2d
    escalate_to: escalations
probe:
  tiers: [high]
  interval: 24h
"""


@dataclass
class Deployment:
    """A running aigov, reachable per service (one URL for all in the embedded mode)."""

    mode: str
    urls: dict[str, str]
    processes: list[tuple[str, subprocess.Popen[bytes], Path]]

    def url(self, service: str) -> str:
        """Base URL of `service` (intake, tiering, evidence, router)."""
        return self.urls[service]

    def logs(self) -> str:
        """The tail of every process's log, for failure messages."""
        parts = []
        for name, _, log in self.processes:
            text = log.read_text(errors="replace") if log.exists() else ""
            parts.append(f"--- {name} ---\n" + "\n".join(text.splitlines()[-40:]))
        return "\n".join(parts)


def _spawn(name: str, module: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", module],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


async def wait_ready(deployment: Deployment, *, within: float = 90.0) -> None:
    """Wait until every process answers /readyz with 200 (fail with their logs otherwise)."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=5.0) as client:
        for url in set(deployment.urls.values()):
            while True:
                for name, process, _ in deployment.processes:
                    if process.poll() is not None:
                        raise AssertionError(
                            f"{name} exited ({process.returncode})\n{deployment.logs()}"
                        )
                try:
                    if (await client.get(f"{url}/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"{url} not ready in {within:g} s\n{deployment.logs()}")
                await asyncio.sleep(0.3)


def start_embedded(tmp: Path, routing: Path) -> Deployment:
    """The all-in-one server on a free port, data under `tmp`."""
    port = free_port()
    env = _base_env() | {
        "AIGOV_HTTP_PORT": str(port),
        "AIGOV_DATA_DIR": str(tmp / "data"),
        "AIGOV_ROUTING_CONFIG": str(routing),
    }
    log = tmp / "aigov.log"
    process = _spawn("aigov", "aigov_embedded", env, log)
    url = f"http://127.0.0.1:{port}"
    return Deployment("embedded", dict.fromkeys(SERVICES, url), [("aigov", process, log)])


def start_services(
    tmp: Path, routing: Path, *, kafka: str, database_url: str, topic_prefix: str
) -> Deployment:
    """The four services as separate processes on Kafka and PostgreSQL."""
    urls: dict[str, str] = {}
    processes = []
    for name, module in SERVICES.items():
        port = free_port()
        env = _base_env() | {
            "AIGOV_HTTP_PORT": str(port),
            "AIGOV_BUS": "kafka",
            "AIGOV_KAFKA_BOOTSTRAP_SERVERS": kafka,
            "AIGOV_DATABASE_URL": database_url,
            "AIGOV_TOPIC_PREFIX": topic_prefix,
            "AIGOV_ROUTING_CONFIG": str(routing),
        }
        log = tmp / f"{name}.log"
        processes.append((name, _spawn(name, module, env, log), log))
        urls[name] = f"http://127.0.0.1:{port}"
    return Deployment("services", urls, processes)


def stop(deployment: Deployment) -> None:
    """SIGTERM every process and wait for it (kill after 30 s)."""
    for _, process, _ in deployment.processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for _, process, _ in deployment.processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIGOV_", "OTEL_"))}
    env.update({"AIGOV_ENV": "dev", "AIGOV_LOG_LEVEL": "INFO", "OTEL_SDK_DISABLED": "true"})
    return env


def unique(prefix: str) -> str:
    """A short unique name."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"
