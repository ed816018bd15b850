#!/usr/bin/env python3
"""Fetch, start, stop and check the real Kafka broker and PostgreSQL server for local runs and tests.

    python deploy/local/stack.py fetch                      # Kafka jars from Maven Central
    python deploy/local/stack.py start [kafka|postgres|all]
    python deploy/local/stack.py stop  [kafka|postgres|all]
    python deploy/local/stack.py status
    python deploy/local/stack.py wait  [kafka|postgres|all]

Importable too: the pytest session calls ensure_started() and release(). Only the standard
library is used, except aiokafka for the Kafka readiness check (a real metadata round-trip).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import concurrent.futures
import contextlib
import fcntl
import hashlib
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

Component = Literal["kafka", "postgres"]
ALL_COMPONENTS: tuple[Component, ...] = ("kafka", "postgres")

# Who asked for a server: "cli" (a developer's `make up`) is never stopped by a test session;
# "session" (pytest) is stopped by the last test session that uses it.
Origin = Literal["cli", "session"]

KAFKA_VERSION = "4.1.1"
KAFKA_HOST = "127.0.0.1"
KAFKA_PORT = 9092
KAFKA_CONTROLLER_PORT = 9093
KAFKA_BOOTSTRAP = f"{KAFKA_HOST}:{KAFKA_PORT}"

POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 55432
POSTGRES_USER = "aigov"
POSTGRES_DATABASES: tuple[str, ...] = ("aigov", "aigov_test")

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
LOG_TAIL_LINES = 40
MIN_JAVA_MAJOR = 17

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
LOCAL_DIR = REPO_ROOT / ".local"
POM = HERE / "pom.xml"
LOG4J_CONFIG = HERE / "log4j2.yaml"

KAFKA_CACHE_DIR = LOCAL_DIR / "cache" / f"kafka-{KAFKA_VERSION}"
# Written last by fetch() and holding the pom.xml digest: a cache directory without it is a
# half-finished download, one with another digest was fetched for different pins.
KAFKA_FETCH_MARKER = KAFKA_CACHE_DIR / ".complete"
# Spot checks that the classpath really holds the broker and a logging backend.
KAFKA_REQUIRED_JARS = (f"kafka_2.13-{KAFKA_VERSION}.jar", f"kafka-clients-{KAFKA_VERSION}.jar")
KAFKA_REQUIRED_JAR_PREFIXES = ("log4j-core-", "log4j-slf4j-impl-", "slf4j-api-")
FETCH_LOCK_FILE = LOCAL_DIR / "cache" / "fetch.lock"

KAFKA_DIR = LOCAL_DIR / "kafka"
KAFKA_DATA_DIR = KAFKA_DIR / "data"
KAFKA_PROPERTIES = KAFKA_DIR / "server.properties"
KAFKA_LOG = KAFKA_DIR / "kafka.log"
KAFKA_PID_FILE = KAFKA_DIR / "kafka.pid"
KAFKA_HEAP = ("-Xms256m", "-Xmx512m")

POSTGRES_STATE_DIR = LOCAL_DIR / "postgres"
# Where the data directory really lives (the repo path, or a /tmp fallback when the
# postgres system user cannot reach the repo).
POSTGRES_LOCATION_FILE = POSTGRES_STATE_DIR / "location"

LEASES_DIR = LOCAL_DIR / "leases"
LOCK_FILE = LOCAL_DIR / "stack.lock"
# Rotate instead of truncating so the previous run's log survives one restart.
MAX_LOG_BYTES = 50 * 1024 * 1024

T = TypeVar("T")


class StackError(RuntimeError):
    """A local server could not be fetched, started, checked or stopped."""


@dataclass(frozen=True)
class StartedStack:
    """What one ensure_started() call found running and what it had to start itself."""

    components: tuple[Component, ...]
    started: tuple[Component, ...]
    lease: Path


@dataclass(frozen=True)
class ComponentStatus:
    """One server's address, process and readiness, as shown by `stack.py status`."""

    name: Component
    address: str
    pid: int | None
    ready: bool
    detail: str


@dataclass(frozen=True)
class _PostgresLayout:
    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    @property
    def initialized_marker(self) -> Path:
        # initdb can be interrupted half-way; only this marker proves the cluster is complete.
        return self.root / "initialized"


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def postgres_url(database: str = "aigov", *, driver: str = "postgresql+asyncpg") -> str:
    """SQLAlchemy URL of a database on the local PostgreSQL server."""
    return f"{driver}://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{database}"


def fetch(*, force: bool = False) -> Path:
    """Download the pinned Kafka jars from Maven Central into the cache; no-op when complete."""
    if _fetch_complete() and not force:
        return KAFKA_CACHE_DIR
    # Separate from the stack lock because start() fetches while holding that one.
    with _file_lock(FETCH_LOCK_FILE, "another Kafka download in this checkout"):
        if _fetch_complete() and not force:
            return KAFKA_CACHE_DIR  # a concurrent fetch finished while we waited
        return _fetch_locked()


def _fetch_complete() -> bool:
    try:
        return KAFKA_FETCH_MARKER.read_text().strip() == _pom_digest()
    except OSError:
        return False


def _pom_digest() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def _fetch_locked() -> Path:
    _java()
    mvn = _mvn()
    say(f"fetching Kafka {KAFKA_VERSION} jars from Maven Central…")
    started_at = time.monotonic()
    partial = KAFKA_CACHE_DIR.with_name(KAFKA_CACHE_DIR.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    result = subprocess.run(
        [
            mvn,
            "-B",
            "-q",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={partial}",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=HERE,
    )
    if result.returncode != 0:
        raise StackError(
            f"mvn could not fetch the Kafka jars (exit {result.returncode}); is Maven Central "
            f"reachable?\n{_tail_text(result.stdout + result.stderr)}"
        )
    names = {jar.name for jar in partial.glob("*.jar")}
    missing = [jar for jar in KAFKA_REQUIRED_JARS if jar not in names]
    missing += [
        f"{prefix}*.jar"
        for prefix in KAFKA_REQUIRED_JAR_PREFIXES
        if not any(name.startswith(prefix) for name in names)
    ]
    if missing:
        raise StackError(
            f"Kafka classpath in {partial} is incomplete, missing: {', '.join(missing)}"
        )
    # Swap only once the new set is complete, so the old jars serve until the last moment.
    shutil.rmtree(KAFKA_CACHE_DIR, ignore_errors=True)
    partial.rename(KAFKA_CACHE_DIR)
    KAFKA_FETCH_MARKER.write_text(f"{_pom_digest()}\n")
    say(
        f"fetched {len(names)} jars into {_display(KAFKA_CACHE_DIR)} "
        f"({time.monotonic() - started_at:.1f} s)"
    )
    return KAFKA_CACHE_DIR


def start(
    names: Iterable[Component] = ALL_COMPONENTS, *, origin: Origin = "cli"
) -> tuple[Component, ...]:
    """Start the named servers unless already running and ready; return those started now."""
    with _stack_lock():
        return _start_locked(tuple(names), origin=origin)


def stop(names: Iterable[Component] = ALL_COMPONENTS) -> tuple[Component, ...]:
    """Stop the named servers this checkout runs (pid files); return those that were running."""
    with _stack_lock():
        return _stop_locked(tuple(names))


def ensure_started(names: Iterable[Component] = ALL_COMPONENTS) -> StartedStack:
    """Start what is not already running for a test session and hold a lease until release()."""
    components = tuple(names)
    with _stack_lock():
        LEASES_DIR.mkdir(parents=True, exist_ok=True)
        lease = LEASES_DIR / f"{os.getpid()}-{uuid.uuid4().hex[:8]}.json"
        # The lease goes down before starting so a concurrent session's release() already
        # sees that these servers are wanted.
        lease.write_text(json.dumps({"pid": os.getpid(), "components": list(components)}))
        try:
            started = _start_locked(components, origin="session")
        except BaseException:
            lease.unlink(missing_ok=True)
            raise
    return StartedStack(components=components, started=started, lease=lease)


def release(stack: StartedStack) -> tuple[Component, ...]:
    """Drop a session's lease; stop servers started by test sessions once no live session needs them."""
    with _stack_lock():
        if not stack.lease.exists():
            return ()  # already released (fixture finalizer and atexit both call this)
        stack.lease.unlink()
        still_wanted = _components_wanted_by_live_leases()
        to_stop = tuple(
            name
            for name in stack.components
            if name not in still_wanted and _read_origin(name) == "session"
        )
        return _stop_locked(to_stop)


def status() -> tuple[ComponentStatus, ...]:
    """Address, pid and readiness of each server."""
    kafka_pid = _kafka_pid(clean_stale=False)
    layout = _postgres_layout_if_known()
    pg_pid = _postgres_pid(layout) if layout else None
    return (
        ComponentStatus(
            name="kafka",
            address=KAFKA_BOOTSTRAP,
            pid=kafka_pid,
            ready=_kafka_probe()[0],
            detail=f"log {_display(KAFKA_LOG)}",
        ),
        ComponentStatus(
            name="postgres",
            address=f"{POSTGRES_HOST}:{POSTGRES_PORT}",
            pid=pg_pid,
            ready=_postgres_probe("aigov")[0],
            detail=f"data {_display(layout.data)}" if layout else "not initialised",
        ),
    )


def wait(
    names: Iterable[Component] = ALL_COMPONENTS, *, timeout_s: float = READY_TIMEOUT_S
) -> None:
    """Block until the named servers answer real requests, or raise StackError."""
    not_running = "is not running (start it with `python deploy/local/stack.py start`); gave up"
    for name in names:
        if name == "kafka":
            elapsed = wait_ready(
                "kafka",
                _kafka_probe,
                _kafka_present,
                KAFKA_LOG,
                time.monotonic(),
                timeout_s,
                gone=not_running,
            )
            say(f"kafka ready on {KAFKA_BOOTSTRAP} ({elapsed:.1f} s)")
        else:
            layout = _postgres_layout_if_known()
            elapsed = wait_ready(
                "postgres",
                lambda: _postgres_probe("aigov"),
                _postgres_present,
                layout.log if layout else None,
                time.monotonic(),
                timeout_s,
                gone=not_running,
            )
            say(f"postgres ready on {POSTGRES_HOST}:{POSTGRES_PORT} ({elapsed:.1f} s)")


# ---------------------------------------------------------------------------------------------
# Orchestration (callers hold the stack lock)
# ---------------------------------------------------------------------------------------------


def _start_locked(names: Sequence[Component], *, origin: Origin) -> tuple[Component, ...]:
    started: list[Component] = []
    for name in names:
        if name == "kafka" and origin == "session" and _kafka_pid(clean_stale=True) is None:
            # A broker a test session starts is throwaway: start it empty, so topics left by
            # earlier (killed) runs never pile up and slow its startup.
            shutil.rmtree(KAFKA_DATA_DIR, ignore_errors=True)
        if _start_kafka() if name == "kafka" else _start_postgres():
            started.append(name)
            _write_origin(name, origin)
        elif origin == "cli":
            # An explicit `start` adopts a server a test session brought up, so the
            # session's release() leaves it running for the developer.
            _write_origin(name, "cli")
    return tuple(started)


def _stop_locked(names: Sequence[Component]) -> tuple[Component, ...]:
    stopped: list[Component] = []
    for name in names:
        if _stop_kafka() if name == "kafka" else _stop_postgres():
            stopped.append(name)
        _origin_file(name).unlink(missing_ok=True)
    return tuple(stopped)


@contextlib.contextmanager
def _stack_lock() -> Iterator[None]:
    """Serialise start/stop across processes (several test sessions may share one checkout)."""
    with _file_lock(LOCK_FILE, "another stack.py start/stop in this checkout"):
        yield


@contextlib.contextmanager
def _file_lock(path: Path, holder: str) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for {holder}…")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _components_wanted_by_live_leases() -> set[Component]:
    wanted: set[Component] = set()
    for lease in LEASES_DIR.glob("*.json"):
        try:
            claim = json.loads(lease.read_text())
            pid = int(claim["pid"])
            components = [c for c in claim["components"] if c in ALL_COMPONENTS]
        except (OSError, ValueError, KeyError, TypeError):
            lease.unlink(missing_ok=True)
            continue
        if not pid_alive(pid):
            lease.unlink(missing_ok=True)  # a session that died without releasing
            continue
        wanted.update(cast("list[Component]", components))
    return wanted


def _origin_file(name: Component) -> Path:
    return (KAFKA_DIR if name == "kafka" else POSTGRES_STATE_DIR) / "origin"


def _read_origin(name: Component) -> Origin:
    try:
        text = _origin_file(name).read_text().strip()
    except OSError:
        return "cli"  # unknown provenance: never let a test session stop it
    return "session" if text == "session" else "cli"


def _write_origin(name: Component, origin: Origin) -> None:
    path = _origin_file(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{origin}\n")


# ---------------------------------------------------------------------------------------------
# Kafka
# ---------------------------------------------------------------------------------------------


def _start_kafka() -> bool:
    pid = _kafka_pid(clean_stale=True)
    if pid is not None:
        if _kafka_probe()[0]:
            say(f"kafka already running on {KAFKA_BOOTSTRAP} (pid {pid})")
            return False
        say(f"kafka (pid {pid}) is running but not ready yet; waiting…")
        elapsed = wait_ready(
            "kafka", _kafka_probe, lambda: _kafka_pid(clean_stale=False) == pid, KAFKA_LOG,
            time.monotonic(), READY_TIMEOUT_S,
        )  # fmt: skip
        say(f"kafka ready on {KAFKA_BOOTSTRAP} ({elapsed:.1f} s)")
        return False
    if _kafka_probe()[0]:
        say(
            f"a Kafka broker not started by stack.py already answers on {KAFKA_BOOTSTRAP}; using it"
        )
        return False
    for port in (KAFKA_PORT, KAFKA_CONTROLLER_PORT):
        if port_open(KAFKA_HOST, port):
            raise StackError(
                f"{KAFKA_HOST}:{port} is taken by another process that is not a working Kafka "
                f"broker; stop it (see `ss -ltnp 'sport = :{port}'`) and retry"
            )

    java = _java()
    cache = fetch()
    KAFKA_DIR.mkdir(parents=True, exist_ok=True)
    KAFKA_PROPERTIES.write_text(_kafka_server_properties())
    _rotate_log(KAFKA_LOG)
    classpath = f"{cache}/*"
    if not (KAFKA_DATA_DIR / "meta.properties").is_file():
        _format_kafka_storage(java, classpath)

    say(f"starting kafka {KAFKA_VERSION} (KRaft, broker+controller) on {KAFKA_BOOTSTRAP}…")
    started_at = time.monotonic()
    with KAFKA_LOG.open("a") as log:
        log.write(
            f"\n===== stack.py: starting kafka at {time.strftime('%Y-%m-%d %H:%M:%S')} =====\n"
        )
    pid = spawn_detached(
        [
            java,
            *KAFKA_HEAP,
            # G1 with short pauses is what Kafka's own start script uses; ExitOnOutOfMemoryError
            # turns a wedged broker into a dead one that the readiness check reports at once.
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            f"-Dkafka.logs.dir={KAFKA_DIR}",
            "-cp",
            classpath,
            "kafka.Kafka",
            str(KAFKA_PROPERTIES),
        ],
        log=KAFKA_LOG,
        cwd=KAFKA_DIR,
    )
    KAFKA_PID_FILE.write_text(f"{pid}\n")
    try:
        elapsed = wait_ready(
            "kafka", _kafka_probe, lambda: pid_alive(pid), KAFKA_LOG, started_at, READY_TIMEOUT_S
        )
    except BaseException:
        # Never leave a half-started broker behind: the caller cannot know its pid.
        terminate(pid, "kafka")
        KAFKA_PID_FILE.unlink(missing_ok=True)
        raise
    say(f"kafka ready on {KAFKA_BOOTSTRAP} ({elapsed:.1f} s, pid {pid})")
    return True


def _stop_kafka() -> bool:
    pid = _kafka_pid(clean_stale=True)
    if pid is None:
        say("kafka is not running")
        return False
    say(f"stopping kafka (pid {pid})…")
    started_at = time.monotonic()
    terminate(pid, "kafka")
    KAFKA_PID_FILE.unlink(missing_ok=True)
    say(f"kafka stopped ({time.monotonic() - started_at:.1f} s)")
    return True


def _kafka_pid(*, clean_stale: bool) -> int | None:
    try:
        pid = int(KAFKA_PID_FILE.read_text().strip())
    except (OSError, ValueError):
        return None
    if pid_alive(pid) and _cmdline_contains(pid, "kafka.Kafka"):
        return pid
    if clean_stale:
        say(f"removing stale kafka pid file (pid {pid} is gone)")
        KAFKA_PID_FILE.unlink(missing_ok=True)
    return None


def _kafka_present() -> bool:
    # Used by `wait`: a broker that is neither our process nor listening will never get ready.
    return _kafka_pid(clean_stale=False) is not None or port_open(KAFKA_HOST, KAFKA_PORT)


def _kafka_server_properties() -> str:
    settings: dict[str, str | int] = {
        # Combined mode: one JVM is both the KRaft controller and the broker.
        "process.roles": "broker,controller",
        "node.id": 1,
        "controller.quorum.bootstrap.servers": f"{KAFKA_HOST}:{KAFKA_CONTROLLER_PORT}",
        "listeners": (
            f"PLAINTEXT://{KAFKA_HOST}:{KAFKA_PORT},CONTROLLER://{KAFKA_HOST}:{KAFKA_CONTROLLER_PORT}"
        ),
        "advertised.listeners": (
            f"PLAINTEXT://{KAFKA_HOST}:{KAFKA_PORT},CONTROLLER://{KAFKA_HOST}:{KAFKA_CONTROLLER_PORT}"
        ),
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(KAFKA_DATA_DIR),
        # Two cores: a handful of threads is plenty and leaves CPU for the services and tests.
        "num.network.threads": 2,
        "num.io.threads": 2,
        "background.threads": 2,
        "num.recovery.threads.per.data.dir": 1,
        "num.replica.fetchers": 1,
        # The application creates its topics explicitly (with the partition count it needs),
        # so a typo in a topic name fails loudly instead of silently creating a new topic.
        "auto.create.topics.enable": "false",
        "num.partitions": 1,
        "default.replication.factor": 1,
        "min.insync.replicas": 1,
        # A single broker cannot host internal topics with the default replication factor 3;
        # one partition each keeps startup and the first consumer-group join fast.
        "offsets.topic.replication.factor": 1,
        "offsets.topic.num.partitions": 1,
        "transaction.state.log.replication.factor": 1,
        "transaction.state.log.min.isr": 1,
        "transaction.state.log.num.partitions": 1,
        "share.coordinator.state.topic.replication.factor": 1,
        "share.coordinator.state.topic.min.isr": 1,
        "share.coordinator.state.topic.num.partitions": 1,
        # Tests start consumers and expect them to get partitions immediately.
        "group.initial.rebalance.delay.ms": 0,
        # A week of data in 64 MB segments (default 1 GB), so retention actually frees disk
        # on a developer machine.
        "log.retention.hours": 168,
        "log.segment.bytes": 64 * 1024 * 1024,
    }
    header = (
        "# Generated by deploy/local/stack.py on every start; edit the script, not this file.\n"
    )
    return header + "".join(f"{key}={value}\n" for key, value in settings.items())


def _format_kafka_storage(java: str, classpath: str) -> None:
    # No meta.properties means a format never completed, so whatever is there is debris.
    shutil.rmtree(KAFKA_DATA_DIR, ignore_errors=True)
    cluster_id = _kafka_cluster_id()
    say(f"formatting kafka storage in {_display(KAFKA_DATA_DIR)} (cluster id {cluster_id})…")
    result = subprocess.run(
        [
            java,
            "-Xmx256m",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            "-cp",
            classpath,
            "kafka.tools.StorageTool",
            "format",
            # A single-node dynamic KRaft quorum: this node is the only voter.
            "--standalone",
            "--cluster-id",
            cluster_id,
            "--config",
            str(KAFKA_PROPERTIES),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=KAFKA_DIR,
    )
    with KAFKA_LOG.open("a") as log:
        log.write(f"\n===== stack.py: kafka-storage format =====\n{result.stdout}{result.stderr}")
    if result.returncode != 0:
        shutil.rmtree(KAFKA_DATA_DIR, ignore_errors=True)
        raise StackError(
            f"kafka storage format failed (exit {result.returncode}):\n"
            f"{_tail_text(result.stdout + result.stderr)}"
        )


def _kafka_cluster_id() -> str:
    # Kafka's Uuid.randomUuid(): URL-safe base64 of 16 random bytes, never starting with '-'.
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _kafka_probe() -> tuple[bool, str]:
    if not port_open(KAFKA_HOST, KAFKA_PORT):
        return False, f"nothing listening on {KAFKA_BOOTSTRAP}"
    try:
        brokers = _run_coroutine(_kafka_broker_count, timeout_s=10.0)
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"
    if brokers < 1:
        return False, "metadata lists no brokers yet"
    return True, ""


async def _kafka_broker_count() -> int:
    # Imported here so fetch/stop/status-by-pid work even outside the project venv.
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        bootstrap_servers=KAFKA_BOOTSTRAP,
        client_id="aigov-local-stack",
        request_timeout_ms=5000,
    )
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
    return len(cluster.get("brokers", []))


def _run_coroutine(factory: Callable[[], Coroutine[Any, Any, T]], *, timeout_s: float) -> T:
    # A private loop in a worker thread: callers may be sync code running under
    # pytest-asyncio, where asyncio.run() in the main thread would replace its event loop.
    async def bounded() -> T:
        return await asyncio.wait_for(factory(), timeout_s)

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(bounded())).result()


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    java = (
        str(Path(java_home, "bin", "java"))
        if java_home and Path(java_home, "bin", "java").is_file()
        else shutil.which("java")
    )
    if java is None:
        raise StackError(
            f"Java {MIN_JAVA_MAJOR}+ is required for Kafka {KAFKA_VERSION} but `java` is not on "
            "PATH (Debian: apt-get install -y openjdk-17-jre-headless)"
        )
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if match is None:
        raise StackError(f"could not read the Java version from `{java} -version`")
    major = int(match.group(1))
    if major == 1 and match.group(2):  # "1.8.0" style
        major = int(match.group(2))
    if major < MIN_JAVA_MAJOR:
        raise StackError(
            f"Kafka {KAFKA_VERSION} needs Java {MIN_JAVA_MAJOR}+, found Java {major} at {java} "
            "(set JAVA_HOME or put a newer java first on PATH)"
        )
    return java


def _mvn() -> str:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError(
            "Maven (`mvn`) is required to fetch the Kafka jars from Maven Central but is not on "
            "PATH (Debian: apt-get install -y maven)"
        )
    return mvn


# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------


def _start_postgres() -> bool:
    layout = _postgres_layout_if_known()
    pid = _postgres_pid(layout) if layout else None
    if _postgres_probe("aigov")[0]:
        if pid is None:
            say(
                f"a PostgreSQL server not started by stack.py already answers on {POSTGRES_HOST}:{POSTGRES_PORT}; using it"
            )
        else:
            _ensure_postgres_databases()  # someone may have dropped aigov_test by hand
            say(f"postgres already running on {POSTGRES_HOST}:{POSTGRES_PORT} (pid {pid})")
        return False

    bindir = _postgres_bindir(layout, install=True)
    if layout is None or not layout.initialized_marker.is_file():
        layout = _postgres_init(bindir)
    _write_postgres_conf(layout)
    started_at = time.monotonic()
    started = False
    if _postgres_pid(layout) is None:
        if port_open(POSTGRES_HOST, POSTGRES_PORT):
            raise StackError(
                f"{POSTGRES_HOST}:{POSTGRES_PORT} is taken by another process that is not this "
                "checkout's PostgreSQL; stop it and retry"
            )
        say(f"starting postgres on {POSTGRES_HOST}:{POSTGRES_PORT} (data {_display(layout.data)})…")
        _prepare_postgres_log(layout)
        result = _run_as_postgres(
            [
                str(bindir / "pg_ctl"),
                "start",
                "-D",
                str(layout.data),
                "-l",
                str(layout.log),
                "-w",
                "-t",
                str(int(READY_TIMEOUT_S)),
                "-s",
            ],
            cwd=layout.root,
        )
        if result.returncode != 0:
            raise StackError(
                f"pg_ctl start failed (exit {result.returncode}): {result.stdout.strip()} "
                f"{result.stderr.strip()}\n{log_tail(layout.log)}"
            )
        started = True
    else:
        say("postgres is running but not answering yet; waiting…")

    pid = _postgres_pid(layout)
    try:
        wait_ready(
            "postgres",
            lambda: _postgres_probe("postgres"),
            lambda: _postgres_pid(layout) is not None,
            layout.log,
            started_at,
            READY_TIMEOUT_S,
        )
        _ensure_postgres_databases()
        elapsed = wait_ready(
            "postgres",
            lambda: _postgres_probe("aigov"),
            lambda: _postgres_pid(layout) is not None,
            layout.log,
            started_at,
            READY_TIMEOUT_S,
        )
    except BaseException:
        if started:
            _pg_ctl_stop(bindir, layout)
        raise
    say(f"postgres ready on {POSTGRES_HOST}:{POSTGRES_PORT} ({elapsed:.1f} s, pid {pid})")
    return started


def _stop_postgres() -> bool:
    layout = _postgres_layout_if_known()
    pid = _postgres_pid(layout) if layout else None
    if layout is None or pid is None:
        say("postgres is not running")
        return False
    say(f"stopping postgres (pid {pid})…")
    started_at = time.monotonic()
    _pg_ctl_stop(_postgres_bindir(layout, install=False), layout)
    say(f"postgres stopped ({time.monotonic() - started_at:.1f} s)")
    return True


def _pg_ctl_stop(bindir: Path, layout: _PostgresLayout) -> None:
    result = _run_as_postgres(
        [
            str(bindir / "pg_ctl"),
            "stop",
            "-D",
            str(layout.data),
            "-m",
            "fast",
            "-w",
            "-t",
            str(int(STOP_TIMEOUT_S)),
            "-s",
        ],
        cwd=layout.root,
    )
    if result.returncode != 0 and _postgres_pid(layout) is not None:
        raise StackError(
            f"pg_ctl stop failed (exit {result.returncode}): {result.stdout.strip()} "
            f"{result.stderr.strip()}\n{log_tail(layout.log)}"
        )


def _postgres_pid(layout: _PostgresLayout | None) -> int | None:
    if layout is None:
        return None
    try:
        pid = int((layout.data / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if pid_alive(pid) else None


def _postgres_present() -> bool:
    # Used by `wait`: a server that is neither our process nor listening will never get ready.
    layout = _postgres_layout_if_known()
    return _postgres_pid(layout) is not None or port_open(POSTGRES_HOST, POSTGRES_PORT)


def _postgres_probe(database: str) -> tuple[bool, str]:
    if not port_open(POSTGRES_HOST, POSTGRES_PORT):
        return False, f"nothing listening on {POSTGRES_HOST}:{POSTGRES_PORT}"
    result = _psql(database, "select 1")
    if result is None:
        return False, "psql not found"
    if result.returncode != 0 or result.stdout.strip() != "1":
        return False, (result.stderr or result.stdout).strip()
    return True, ""


def _psql(database: str, sql: str) -> subprocess.CompletedProcess[str] | None:
    layout = _postgres_layout_if_known()
    try:
        bindir = _postgres_bindir(layout, install=False)
        psql = str(bindir / "psql")
    except StackError:
        found = shutil.which("psql")
        if found is None:
            return None
        psql = found
    return subprocess.run(
        [
            psql,
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            POSTGRES_HOST,
            "-p",
            str(POSTGRES_PORT),
            "-U",
            POSTGRES_USER,
            "-d",
            database,
            "-c",
            sql,
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PGCONNECT_TIMEOUT": "5"},
    )


def _ensure_postgres_databases() -> None:
    result = _psql("postgres", "select datname from pg_database")
    if result is None or result.returncode != 0:
        raise StackError(f"could not list databases: {result.stderr if result else 'no psql'}")
    existing = set(result.stdout.split())
    for database in POSTGRES_DATABASES:
        if database in existing:
            continue
        created = _psql("postgres", f'create database "{database}"')
        if created is None or created.returncode != 0:
            raise StackError(
                f"could not create database {database}: {created.stderr if created else ''}"
            )
        say(f"created database {database}")


def _postgres_init(bindir: Path) -> _PostgresLayout:
    layout = _choose_postgres_layout()
    say(f"initialising postgres cluster in {_display(layout.data)}…")
    shutil.rmtree(layout.data, ignore_errors=True)
    layout.initialized_marker.unlink(missing_ok=True)
    layout.data.mkdir(mode=0o700, parents=True)
    _chown_to_postgres(layout.data)
    result = _run_as_postgres(
        [
            str(bindir / "initdb"),
            "-D",
            str(layout.data),
            # The bootstrap superuser is the application role, so no second role is needed.
            "-U",
            POSTGRES_USER,
            "--auth=trust",
            "--encoding=UTF8",
            # C collation: identical ordering on every machine, and no locale package needed.
            "--locale=C",
        ],
        cwd=layout.root,
    )
    if result.returncode != 0:
        raise StackError(
            f"initdb failed (exit {result.returncode}):\n{_tail_text(result.stdout + result.stderr)}"
        )
    with (layout.data / "postgresql.conf").open("a") as conf:
        conf.write(
            "\n# Local settings written by deploy/local/stack.py\ninclude_if_exists = 'aigov-local.conf'\n"
        )
    layout.initialized_marker.write_text(f"{bindir}\n")
    POSTGRES_STATE_DIR.mkdir(parents=True, exist_ok=True)
    POSTGRES_LOCATION_FILE.write_text(f"{layout.root}\n")
    return layout


def _write_postgres_conf(layout: _PostgresLayout) -> None:
    socket_dir = layout.data
    # Unix socket paths are limited to ~107 bytes; deep checkouts fall back to /tmp.
    if len(str(socket_dir / f".s.PGSQL.{POSTGRES_PORT}")) > 100:
        socket_dir = Path("/tmp")
    conf = layout.data / "aigov-local.conf"
    conf.write_text(
        "# Written by deploy/local/stack.py on every start; edit the script, not this file.\n"
        f"listen_addresses = '{POSTGRES_HOST}'\n"
        f"port = {POSTGRES_PORT}\n"
        f"unix_socket_directories = '{socket_dir}'\n"
        # Each service keeps a pool and tests open more; 200 leaves headroom on one machine.
        "max_connections = 200\n"
        "shared_buffers = '128MB'\n"
        "timezone = 'UTC'\n"
        "log_timezone = 'UTC'\n"
    )
    conf.chmod(0o644)
    _chown_to_postgres(conf)


def _prepare_postgres_log(layout: _PostgresLayout) -> None:
    # pg_ctl opens the log as the postgres user, so it must exist and belong to it.
    _rotate_log(layout.log)
    with layout.log.open("a") as log:
        log.write(
            f"\n===== stack.py: starting postgres at {time.strftime('%Y-%m-%d %H:%M:%S')} =====\n"
        )
    _chown_to_postgres(layout.log)


def _choose_postgres_layout() -> _PostgresLayout:
    POSTGRES_STATE_DIR.mkdir(parents=True, exist_ok=True)
    if not _running_as_root() or _postgres_user_can_enter(POSTGRES_STATE_DIR):
        return _PostgresLayout(POSTGRES_STATE_DIR)
    digest = hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:12]
    fallback = Path("/tmp") / f"aigov-postgres-{digest}"
    say(
        f"the postgres system user cannot reach {_display(POSTGRES_STATE_DIR)} "
        f"(a parent directory is not world-executable); using {fallback}"
    )
    fallback.mkdir(mode=0o700, exist_ok=True)
    _chown_to_postgres(fallback)
    return _PostgresLayout(fallback)


def _postgres_layout_if_known() -> _PostgresLayout | None:
    try:
        root = Path(POSTGRES_LOCATION_FILE.read_text().strip())
    except OSError:
        return None
    return _PostgresLayout(root) if root.is_dir() else None


def _postgres_bindir(layout: _PostgresLayout | None, *, install: bool) -> Path:
    candidates: list[Path] = []
    # A cluster only starts with the major version that created it.
    if layout is not None:
        with contextlib.suppress(OSError):
            candidates.append(Path(layout.initialized_marker.read_text().strip()))
        with contextlib.suppress(OSError):
            major = (layout.data / "PG_VERSION").read_text().strip()
            candidates.append(Path("/usr/lib/postgresql") / major / "bin")
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        if result.returncode == 0:
            candidates.append(Path(result.stdout.strip()))
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: _version_key(path.parent.name),
        reverse=True,
    )
    for candidate in candidates:
        if all((candidate / tool).is_file() for tool in ("initdb", "pg_ctl", "psql")):
            return candidate
    if not install:
        raise StackError("PostgreSQL server binaries (initdb, pg_ctl, psql) not found")
    if not _running_as_root():
        raise StackError(
            "PostgreSQL server binaries (initdb, pg_ctl) not found. Install PostgreSQL, e.g. "
            "`sudo apt-get install -y postgresql` on Debian/Ubuntu or `brew install postgresql` "
            "on macOS, so that `pg_config --bindir` points at them."
        )
    _apt_install_postgresql()
    return _postgres_bindir(layout, install=False)


def _apt_install_postgresql() -> None:
    say("PostgreSQL is not installed; installing the Debian `postgresql` package with apt-get…")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", "postgresql"],
    ):
        result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
        if result.returncode != 0:
            raise StackError(
                f"`{shlex.join(command)}` failed (exit {result.returncode}):\n"
                f"{_tail_text(result.stdout + result.stderr)}"
            )
    _stop_debian_clusters()


def _stop_debian_clusters() -> None:
    # The package creates and may start a "main" cluster on 5432; this project runs its own
    # server on 55432, so stop it and keep it from starting at boot.
    if shutil.which("pg_lsclusters") is None:
        return
    listing = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=False)
    for line in listing.stdout.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        version, cluster, cluster_status = fields[0], fields[1], fields[3]
        start_conf = Path("/etc/postgresql") / version / cluster / "start.conf"
        with contextlib.suppress(OSError):
            start_conf.write_text("manual\n")
        if cluster_status == "online":
            subprocess.run(["pg_ctlcluster", version, cluster, "stop"], check=False)
            say(f"stopped the Debian cluster {version}/{cluster} (set to manual start)")


def _postgres_user_can_enter(directory: Path) -> bool:
    result = subprocess.run(
        _as_postgres_user(["test", "-x", str(directory)]), capture_output=True, check=False, cwd="/"
    )
    return result.returncode == 0


def _run_as_postgres(command: Sequence[str], *, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _as_postgres_user(command),
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        # Keeps Ctrl-C in the developer's terminal from reaching pg_ctl half-way.
        start_new_session=True,
    )


def _as_postgres_user(command: Sequence[str]) -> list[str]:
    # pg_ctl and initdb refuse to run as root, so root hands them to the postgres system user.
    if not _running_as_root():
        return list(command)
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise StackError(
            "running as root but there is no `postgres` system user to run the server as; "
            "install the `postgresql` package or run as a normal user"
        ) from None
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *command]
    return ["su", "-s", "/bin/sh", "postgres", "-c", shlex.join(command)]


def _chown_to_postgres(path: Path) -> None:
    if _running_as_root():
        entry = pwd.getpwnam("postgres")
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


# ---------------------------------------------------------------------------------------------
# Processes, ports, logs
# ---------------------------------------------------------------------------------------------

# Runs the server in its own session with output appended to its log, prints the pid and exits.
# The extra process means the server is never a child of the caller (a long-lived pytest
# process), so there is nothing to reap and no "subprocess still running" warning.
_LAUNCHER = """
import subprocess, sys
with open(sys.argv[1], "ab") as log:
    child = subprocess.Popen(
        sys.argv[2:], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True, close_fds=True,
    )
print(child.pid)
"""


def spawn_detached(
    command: Sequence[str], *, log: Path, cwd: Path, env: dict[str, str] | None = None
) -> int:
    """Start `command` in its own session, output appended to `log`; return its pid."""
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", _LAUNCHER, str(log), *command],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=env,
    )
    if result.returncode != 0:
        raise StackError(f"could not launch {command[0]}: {result.stderr.strip()}")
    return int(result.stdout.strip())


def terminate(pid: int, name: str) -> None:
    """SIGTERM `pid`, wait, then SIGKILL if it does not stop."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_gone(pid, STOP_TIMEOUT_S):
        return
    say(f"{name} (pid {pid}) did not stop within {STOP_TIMEOUT_S:.0f} s; killing it")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if not _wait_gone(pid, 10.0):
        raise StackError(f"{name} (pid {pid}) survived SIGKILL")


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return not pid_alive(pid)


def pid_alive(pid: int) -> bool:
    """Whether `pid` is a live (not zombie) process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else (e.g. the postgres user)
    # An exited process whose parent has not reaped it yet still answers kill(0).
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return not Path("/proc/self").exists()  # no procfs (macOS): trust kill(0)
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _cmdline_contains(pid: int, needle: str) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no procfs: cannot tell, assume the pid file is right
    return needle.encode() in argv


def port_open(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def wait_ready(
    name: str,
    probe: Callable[[], tuple[bool, str]],
    alive: Callable[[], bool],
    log: Path | None,
    started_at: float,
    timeout_s: float,
    *,
    gone: str = "exited during startup",
) -> float:
    """Poll `probe` until ready; fail fast if the process died, or after the timeout, with the log tail."""
    last_error = ""
    while True:
        ready, last_error = probe()
        elapsed = time.monotonic() - started_at
        if ready:
            return elapsed
        if not alive():
            # Fail at once rather than polling a process that no longer exists for a minute.
            raise StackError(f"{name} {gone} after {elapsed:.1f} s ({last_error})\n{log_tail(log)}")
        if elapsed > timeout_s:
            raise StackError(
                f"{name} not ready after {timeout_s:.0f} s (last error: {last_error})\n{log_tail(log)}"
            )
        time.sleep(0.5)


def log_tail(log: Path | None) -> str:
    """The last lines of a server log, for error messages."""
    if log is None:
        return "(no log file known)"
    try:
        with log.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64 * 1024))
            text = handle.read().decode(errors="replace")
    except OSError as exc:
        return f"(cannot read {log}: {exc})"
    return f"--- last {LOG_TAIL_LINES} lines of {log} ---\n{_tail_text(text)}"


def _tail_text(text: str) -> str:
    return "\n".join(text.rstrip().splitlines()[-LOG_TAIL_LINES:])


def _rotate_log(log: Path) -> None:
    with contextlib.suppress(OSError):
        if log.stat().st_size > MAX_LOG_BYTES:
            log.replace(log.with_name(log.name + ".1"))


def _display(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def say(message: str) -> None:
    """One progress line on stderr, prefixed `[stack]`."""
    sys.stderr.write(f"[stack] {message}\n")
    sys.stderr.flush()


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------


def _selected(choice: str) -> tuple[Component, ...]:
    return ALL_COMPONENTS if choice == "all" else (cast("Component", choice),)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(
        prog="stack.py", description="Local Kafka and PostgreSQL for aigov development and tests."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    fetch_cmd = commands.add_parser("fetch", help=f"download the Kafka {KAFKA_VERSION} jars")
    fetch_cmd.add_argument("--force", action="store_true", help="download again even if cached")
    for name, text in (
        ("start", "start servers (no-op for those already running)"),
        ("stop", "stop servers"),
        ("wait", "wait until servers answer real requests"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument(
            "component", nargs="?", default="all", choices=("kafka", "postgres", "all")
        )
        if name == "wait":
            sub.add_argument("--timeout", type=float, default=READY_TIMEOUT_S, help="seconds")
    commands.add_parser("status", help="show address, pid and readiness of each server")
    args = parser.parse_args(argv)

    try:
        if args.command == "fetch":
            if _fetch_complete() and not args.force:
                say(f"Kafka {KAFKA_VERSION} jars already in {_display(KAFKA_CACHE_DIR)}")
            else:
                fetch(force=args.force)
        elif args.command == "start":
            start(_selected(args.component), origin="cli")
        elif args.command == "stop":
            stop(_selected(args.component))
        elif args.command == "wait":
            wait(_selected(args.component), timeout_s=args.timeout)
        else:
            for item in status():
                sys.stdout.write(
                    f"{item.name:<9} {item.address:<16} "
                    f"pid {item.pid if item.pid is not None else '-':<8} "
                    f"{'ready' if item.ready else 'not ready':<10} {item.detail}\n"
                )
    except StackError as exc:
        sys.stderr.write(f"[stack] error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
