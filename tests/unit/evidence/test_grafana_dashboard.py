"""The Grafana dashboard (`deploy/grafana/aigov-governance.json`) reads metrics that exist.

Every metric name in every PromQL `expr` must be exposed by a running aigov: the all-in-one
server hosts the four services' apps unchanged and merges their `/metrics`, so its exposition
after one KPI refresh is what the four services' scrapes together expose.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from aigov_embedded.app import create_app
from aigov_embedded.settings import Settings
from aigov_evidence.kpis.gauges import GAUGE_NAMES
from aigov_runtime.testing import app_client
from tests.conftest import REPO_ROOT

DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "aigov-governance.json"
READER = {"Authorization": "Bearer dev-reader-token-please-change"}
#: aigov's metrics all start with `aigov_`; PromQL functions, labels and keywords never do.
METRIC = re.compile(r"\baigov_[a-z0-9_]+\b")
#: Sample-name suffixes of a family (`# TYPE aigov_http_requests counter` -> `..._total`).
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for panel in board["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))  # a collapsed row holds its panels
    return found


def expressions(board: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in panels(board) for t in p.get("targets", [])]


def exposed(text: str) -> set[str]:
    """Every sample name an exposition carries or declares (a family without samples too)."""
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, family, kind = line.split(" ", 3)
            names.add(family)
            names.update(family + suffix for suffix in SUFFIXES.get(kind, ()))
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def test_the_dashboard_is_importable() -> None:
    board = dashboard()
    assert board["schemaVersion"] >= 39
    assert board["uid"] == "aigov-governance"
    inputs = {i["name"]: i for i in board["__inputs"]}
    assert inputs["DS_PROMETHEUS"]["pluginId"] == "prometheus"
    ids = [p["id"] for p in panels(board)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels(board):
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
        assert panel["targets"], panel["title"]
        for t in panel["targets"]:
            assert t["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
            assert METRIC.search(t["expr"]), f"{panel['title']}: no aigov metric in {t['expr']}"


def test_every_kpi_gauge_has_a_panel() -> None:
    used = {name for expr in expressions(dashboard()) for name in METRIC.findall(expr)}
    # Every gauge but the two supporting ones (active systems, pending incidents) is drawn.
    missing = (
        set(GAUGE_NAMES) - used - {"aigov_kpi_active_systems", "aigov_kpi_sla_pending_incidents"}
    )
    assert not missing


@pytest.mark.asyncio
async def test_every_metric_of_the_dashboard_is_exposed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith(("AIGOV_", "OTEL_")):
            monkeypatch.delenv(name)
    wanted = {name for expr in expressions(dashboard()) for name in METRIC.findall(expr)}
    assert len(wanted) > 20
    async with app_client(create_app(Settings(data_dir=tmp_path))) as client:
        async with asyncio.timeout(30):
            while True:  # the evidence service refreshes the KPI gauges at startup
                text = (await client.get("/metrics", headers=READER)).text
                if "aigov_kpi_refresh_timestamp_seconds " in text:
                    break
                await asyncio.sleep(0.1)
    missing = sorted(wanted - exposed(text))
    assert not missing, f"the dashboard reads metrics no service exposes: {missing}"
