"""Monitoring-router benchmark: alerts from Kafka to a local webhook, through a 50-route tree.

Starts one router process (`python -m aigov_monitoring_router`) on the local Kafka and
PostgreSQL, a local webhook receiver (uvicorn) in this process, publishes `alert.raised`
events for 1,000 systems at an offered rate straight to Kafka (as intake would), and
measures the delivered rate and the latency from publish to the receiver's hit. Grouping
is on (group_by system+signal, group_wait 0s, group_interval 1s), so an alert joining a
group that already notified waits for the group's next tick, as in Alertmanager.
Writes `bench/reports/router.md`.

    uv run python bench/bench_router.py [--alerts 10000] [--rate 5000] [--consumers 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from aigov_events.bus import NamespacedBus  # noqa: E402
from aigov_events.catalog import AlertRaised  # noqa: E402
from aigov_events.kafka_bus import KafkaBus  # noqa: E402
from aigov_events.message import new_event  # noqa: E402
from aigov_events.producer import Publisher  # noqa: E402
from aigov_events.topics import ALL_TOPICS  # noqa: E402
from deploy.local import stack  # noqa: E402

REPORT = ROOT / "bench" / "reports" / "router.md"
PORT = 18184
SYSTEMS = 1000
TEAMS = 10
SIGNALS = ("drift", "data_quality", "performance", "safety", "bias")
SECRET = "bench-webhook-secret-0123456789"


def progress(message: str) -> None:
    """One progress line on stderr."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def routing_config(receiver_url: str) -> str:
    """A 50-route tree: one route per (team, signal), all to the local webhook."""
    routes = [
        f"""    - name: team-{t}-{s}
      matchers: ['team="team-{t}"', 'signal="{s}"']
      receiver: hook"""
        for t in range(TEAMS)
        for s in SIGNALS
    ]
    return f"""
route:
  receiver: hook
  group_by: [system, signal]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 4h
  routes:
{chr(10).join(routes)}
receivers:
  - name: hook
    webhook: {{url: "{receiver_url}", secret: "{SECRET}", timeout: 30s}}
incidents:
  slas: [{{acknowledge: 24h, contain: 72h}}]
  escalation: [{{to: owner, receiver: hook, after: 0s}}]
  breach_receiver: hook
  article73: {{escalate_to: hook}}
probe: {{tiers: []}}
"""


@dataclass
class Receiver:
    """Records when each benchmark alert first reached the webhook."""

    hits: dict[int, float] = field(default_factory=dict)
    requests: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    expected: int = 0

    async def handle(self, request: Request) -> Response:
        """Note the arrival time of every alert in the notification."""
        now = time.monotonic()
        body = json.loads(await request.body())
        self.requests += 1
        for alert in body["alerts"]:
            self.hits.setdefault(int(alert["labels"]["bench_seq"]), now)
        if len(self.hits) >= self.expected:
            self.done.set()
        return Response("ok")


def start_router(
    config: Path, prefix: str, schema: str, consumers: int, log: Path
) -> subprocess.Popen[bytes]:
    """One router process on the local Kafka and PostgreSQL."""
    env = dict(os.environ)
    env.update(
        {
            "AIGOV_HTTP_PORT": str(PORT),
            "AIGOV_DATABASE_URL": stack.postgres_url("aigov"),
            "AIGOV_KAFKA_BOOTSTRAP_SERVERS": stack.KAFKA_BOOTSTRAP,
            "AIGOV_TOPIC_PREFIX": prefix,
            "AIGOV_ROUTER_DB_SCHEMA": schema,
            "AIGOV_ROUTING_CONFIG": str(config),
            "AIGOV_ROUTER_CONSUMERS": str(consumers),
            "AIGOV_LOG_LEVEL": "WARNING",
            "AIGOV_AUTH_TOKENS": json.dumps(
                {"bench-reader-token-0123456789ab": {"principal": "bench", "roles": ["reader"]}}
            ),
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "aigov_monitoring_router"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/readyz", timeout=2) as r:
                if r.status == 200:
                    return process
        except OSError:
            pass
        if process.poll() is not None:
            raise SystemExit(f"router exited during startup; see {log}")
        time.sleep(0.5)
    process.terminate()
    raise SystemExit(f"router not ready after 90 s; see {log}")


def alert(seq: int, starts: datetime) -> AlertRaised:
    """Benchmark alert `seq`: unique labels, one of 1,000 systems, 10 teams, 5 signals."""
    system = seq % SYSTEMS
    return AlertRaised(
        system_id=f"bench-{system:04d}",
        alert_id=f"a-{seq}",
        fingerprint=f"f{seq}",
        signal=SIGNALS[(seq // SYSTEMS) % len(SIGNALS)],
        severity="warning",  # type: ignore[arg-type]
        summary="Input length distribution drifted",
        labels={"team": f"team-{system % TEAMS}", "bench_seq": str(seq)},
        starts_at=starts,
    )


@dataclass
class Result:
    """What one run measured."""

    alerts: int
    offered_rate: int
    publish_seconds: float
    delivered: int
    span_seconds: float
    latencies_ms: list[float]
    first_in_group_ms: list[float]
    requests: int
    router_cpu_seconds: float
    consumers: int

    def percentile(self, values: list[float], q: float) -> float:
        """The q-th percentile of `values` (ms)."""
        ordered = sorted(values)
        return (
            ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else float("nan")
        )


async def run(alerts: int, rate: int, consumers: int, tmp: Path) -> Result:
    """Start everything, publish, wait for delivery, measure."""
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    schema = f"router_bench_{uuid.uuid4().hex[:8]}"
    receiver = Receiver(expected=alerts)
    app = Starlette(routes=[Route("/hook", receiver.handle, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  (uvicorn offers no event for "started")
        await asyncio.sleep(0.01)
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/hook"
    config = tmp / "routing.yaml"
    config.write_text(routing_config(url))
    bus = NamespacedBus(KafkaBus(stack.KAFKA_BOOTSTRAP, client_id="aigov-bench"), prefix)
    await bus.start()
    await bus.ensure_topics(ALL_TOPICS)
    router = await asyncio.to_thread(
        start_router, config, prefix, schema, consumers, tmp / "router.log"
    )
    try:
        publisher = Publisher(bus)
        starts = datetime.now(UTC)
        events = [new_event(alert(i, starts), source="bench", actor="bench") for i in range(alerts)]
        sent_at: dict[int, float] = {}
        batch = max(1, rate // 20)  # 20 batches per second
        cpu_before = process_cpu_seconds(router.pid)
        began = time.monotonic()
        for offset in range(0, alerts, batch):
            due = began + offset / rate
            if (wait := due - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            chunk = events[offset : offset + batch]
            now = time.monotonic()
            for i in range(offset, offset + len(chunk)):
                sent_at[i] = now
            await publisher.publish_batch(chunk)
        publish_seconds = time.monotonic() - began
        progress(f"published {alerts:,} alerts in {publish_seconds:.1f} s; waiting for delivery")
        try:
            await asyncio.wait_for(receiver.done.wait(), timeout=max(120.0, alerts / 100))
        except TimeoutError:
            progress(f"timed out with {len(receiver.hits):,} of {alerts:,} delivered")
        cpu = process_cpu_seconds(router.pid) - cpu_before
        latencies = [(receiver.hits[i] - sent_at[i]) * 1000 for i in receiver.hits]
        first = [
            (receiver.hits[i] - sent_at[i]) * 1000
            for i in receiver.hits
            if i < SYSTEMS * len(SIGNALS)
        ]
        span = (max(receiver.hits.values()) - began) if receiver.hits else float("nan")
        return Result(
            alerts=alerts,
            offered_rate=rate,
            publish_seconds=publish_seconds,
            delivered=len(receiver.hits),
            span_seconds=span,
            latencies_ms=latencies,
            first_in_group_ms=first,
            requests=receiver.requests,
            router_cpu_seconds=cpu,
            consumers=consumers,
        )
    finally:
        router.terminate()
        await asyncio.to_thread(router.wait, 60)
        await bus.stop()
        server.should_exit = True
        await serving
        cleanup = KafkaBus(stack.KAFKA_BOOTSTRAP, client_id="aigov-bench-cleanup")
        await cleanup.start()
        await cleanup.delete_topics_with_prefix(prefix)
        await cleanup.stop()
        await drop_schema(schema)


async def drop_schema(schema: str) -> None:
    """Remove the run's private schema."""
    from sqlalchemy import text

    from aigov_runtime.database import create_engine

    engine = create_engine(stack.postgres_url("aigov"))
    async with engine.begin() as connection:
        await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await engine.dispose()


def render(result: Result) -> str:
    """The Markdown report."""
    p = result.percentile
    rate = result.delivered / result.span_seconds if result.span_seconds else 0.0
    return f"""# Monitoring-router benchmark

Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} cores, Python {platform.python_version()}) with `uv run python bench/bench_router.py --alerts {result.alerts} --rate {result.offered_rate} --consumers {result.consumers}`: one router process (`python -m aigov_monitoring_router`, {result.consumers} consumer-group member(s), 3 partitions per topic) on the local Kafka and PostgreSQL from `deploy/local`; `alert.raised` events for {SYSTEMS:,} systems published straight to Kafka from the benchmark process; a 50-route tree (10 teams x 5 signals) with grouping on (group_by system+signal, group_wait 0s, group_interval 1s); every notification to one local webhook (uvicorn, same benchmark process), HMAC-signed.

| alerts | offered rate | publish time | delivered | delivered alerts/s | webhook requests | p50 latency | p99 latency | p99, first alert of a group | router CPU/alert |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
| {result.alerts:,} | {result.offered_rate:,}/s | {result.publish_seconds:.1f} s | {result.delivered:,} | {rate:,.0f} | {result.requests:,} | {p(result.latencies_ms, 50):,.0f} ms | {p(result.latencies_ms, 99):,.0f} ms | {p(result.first_in_group_ms, 99):,.0f} ms | {result.router_cpu_seconds * 1000 / max(1, result.delivered):.2f} ms |

Latency is from the moment the benchmark handed the alert's batch to the producer to the webhook
receiving the notification that contains it. "Delivered alerts/s" is delivered alerts divided by the
time from the first publish to the last hit.

Target from the router issue: 5,000 alerts/s (1,000 systems, a 50-route tree, grouping on).
Prometheus Alertmanager was not measured (see below).
"""


def main(alerts: int, rate: int, consumers: int) -> None:
    """Start the stack, run, write the report."""
    started = stack.ensure_started()
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            result = asyncio.run(run(alerts, rate, consumers, Path(tmp_name)))
    finally:
        stack.release(started)
    report = render(result)
    progress(report)
    mean = statistics.fmean(result.latencies_ms) if result.latencies_ms else float("nan")
    progress(f"mean latency {mean:,.0f} ms")
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(report)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=5_000)
    parser.add_argument("--consumers", type=int, default=3)
    args = parser.parse_args()
    main(args.alerts, args.rate, args.consumers)
