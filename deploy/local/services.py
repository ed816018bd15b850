#!/usr/bin/env python3
"""Start, stop and list the aigov services as separate local processes (`make up` / `make down`).

    python deploy/local/services.py start     # every service on its default port, waits for /readyz
    python deploy/local/services.py stop
    python deploy/local/services.py status

Each service runs as `python -m aigov_<name>` against the local Kafka and PostgreSQL that
`stack.py` starts, logs JSON to `.local/services/<name>.log` and records its pid next to it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from deploy.local import stack  # noqa: E402

SERVICES_DIR = stack.LOCAL_DIR / "services"
HOST = "127.0.0.1"
READY_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Service:
    """One aigov service: its name, Python module and default port (architecture brief)."""

    name: str
    module: str
    port: int

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://{HOST}:{self.port}"

    @property
    def log(self) -> Path:
        """Where its JSON log goes."""
        return SERVICES_DIR / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        """Where its pid is recorded."""
        return SERVICES_DIR / f"{self.name}.pid"


SERVICES: tuple[Service, ...] = (
    Service("intake", "aigov_intake", 8081),
    Service("tiering", "aigov_tiering", 8082),
    Service("evidence", "aigov_evidence", 8083),
    Service("monitoring-router", "aigov_monitoring_router", 8084),
)


def _pid(service: Service) -> int | None:
    try:
        pid = int(service.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if stack.pid_alive(pid):
        return pid
    service.pid_file.unlink(missing_ok=True)
    return None


def _ready(service: Service) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(f"{service.url}/readyz", timeout=3) as response:
            return response.status == 200, f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return False, f"HTTP {exc.code}: {exc.read(500).decode('utf-8', 'replace')}"
    except OSError as exc:
        return False, str(exc)


def _environment(service: Service) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "AIGOV_ENV": env.get("AIGOV_ENV", "dev"),
            "AIGOV_HTTP_HOST": HOST,
            "AIGOV_HTTP_PORT": str(service.port),
            "AIGOV_BUS": "kafka",
            "AIGOV_KAFKA_BOOTSTRAP_SERVERS": stack.KAFKA_BOOTSTRAP,
            "AIGOV_DATABASE_URL": stack.postgres_url("aigov"),
        }
    )
    return env


def start(services: Sequence[Service] = SERVICES) -> None:
    """Start every service that is not running and wait until each answers /readyz."""
    SERVICES_DIR.mkdir(parents=True, exist_ok=True)
    launched: list[tuple[Service, int, float]] = []
    for service in services:
        if (pid := _pid(service)) is not None:
            stack.say(f"{service.name} already running (pid {pid})")
            continue
        if stack.port_open(HOST, service.port):
            raise stack.StackError(
                f"port {service.port} is taken by another program; {service.name} cannot start"
            )
        pid = stack.spawn_detached(
            [sys.executable, "-m", service.module],
            log=service.log,
            cwd=REPO_ROOT,
            env=_environment(service),
        )
        service.pid_file.write_text(f"{pid}\n")
        launched.append((service, pid, time.monotonic()))
        stack.say(f"starting {service.name} on {service.url} (pid {pid})…")
    for service, pid, started_at in launched:
        elapsed = stack.wait_ready(
            service.name,
            lambda s=service: _ready(s),  # type: ignore[misc]
            lambda p=pid: stack.pid_alive(p),  # type: ignore[misc]
            service.log,
            started_at,
            READY_TIMEOUT_S,
        )
        stack.say(f"{service.name} ready on {service.url} ({elapsed:.1f} s)")
    print_table()


def stop(services: Sequence[Service] = SERVICES) -> None:
    """SIGTERM every running service (graceful shutdown), then SIGKILL stragglers."""
    for service in reversed(services):
        pid = _pid(service)
        if pid is None:
            continue
        stack.say(f"stopping {service.name} (pid {pid})…")
        stack.terminate(pid, service.name)
        service.pid_file.unlink(missing_ok=True)


def print_table() -> None:
    """Where each service is, whether it is ready, and how to call it."""
    print(f"{'service':<18} {'url':<24} {'pid':>7}  state", flush=True)
    for service in SERVICES:
        pid = _pid(service)
        if pid is None:
            state = "stopped"
        else:
            ready, detail = _ready(service)
            state = "ready" if ready else f"not ready ({detail})"
        print(f"{service.name:<18} {service.url:<24} {pid or '-':>7}  {state}", flush=True)
    print(
        "\nAPI docs: <url>/docs   logs: .local/services/<name>.log\n"
        "dev tokens (AIGOV_ENV=dev, no AIGOV_AUTH_TOKENS set): dev-<role>-token-please-change,\n"
        "  e.g. curl -H 'Authorization: Bearer dev-reader-token-please-change' "
        f"{SERVICES[0].url}/metrics",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description="Run the aigov services as local processes.")
    parser.add_argument("command", choices=["start", "stop", "status"])
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            start()
        elif args.command == "stop":
            stop()
        else:
            print_table()
    except stack.StackError as exc:
        stack.say(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
