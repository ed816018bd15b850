"""The all-in-one server: four services behind one port, one lifespan, one set of probes."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

import aigov_embedded.demo as demo_module
from aigov_embedded import demo_monitoring
from aigov_embedded.app import create_app
from aigov_embedded.demo import Demo, load, summary
from aigov_embedded.demo_client import Endpoints
from aigov_embedded.openapi import merge_openapi
from aigov_embedded.settings import Settings
from aigov_runtime.asgi import running_lifespan
from aigov_runtime.testing import app_client
from tests.fixtures import EXAMPLES

READER = {"Authorization": "Bearer dev-reader-token-please-change"}
PUBLISHER = {"Authorization": "Bearer dev-publisher-token-please-change"}
# With the public dev tokens the services answer loopback host names only, like `make run`.
LOOPBACK = "http://127.0.0.1:8080"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Developer shells may export AIGOV_*/OTEL_* variables; tests must not see them."""
    for name in list(os.environ):
        if name.startswith(("AIGOV_", "OTEL_")):
            monkeypatch.delenv(name)


def manifest() -> bytes:
    return (EXAMPLES / "systems" / "support-summarizer.yaml").read_bytes()


async def eventually(client: httpx.AsyncClient, path: str, ready: Any, **kwargs: Any) -> Any:
    """GET `path` until `ready(json)` holds (consumers run asynchronously), at most 20 s."""
    body: Any = None
    for _ in range(200):
        response = await client.get(path, headers=READER, **kwargs)
        body = response.json()
        if response.status_code == 200 and ready(body):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path} never became ready: {body}")


@pytest.mark.asyncio
class TestOneProcess:
    async def test_probes_cover_every_service(self, tmp_path: Path) -> None:
        async with app_client(create_app(Settings(data_dir=tmp_path))) as client:
            ready = await client.get("/readyz")
            live = await client.get("/healthz")
        assert live.status_code == 200
        assert ready.status_code == 200, ready.text
        checks = ready.json()["checks"]
        for service in ("intake", "tiering", "evidence", "monitoring-router"):
            assert checks[f"{service}.database"]["status"] == "ok"
            assert checks[f"{service}.broker"]["status"] == "ok"
        files = {"bus", "intake", "tiering", "evidence", "monitoring-router"}
        assert {f"{name}.sqlite3" for name in files} <= set(os.listdir(tmp_path))

    async def test_a_registered_system_is_tiered_and_gated_in_process(self, tmp_path: Path) -> None:
        async with app_client(create_app(Settings(data_dir=tmp_path))) as client:
            registered = await client.post(
                "/v1/systems",
                content=manifest(),
                headers={**PUBLISHER, "Content-Type": "application/yaml"},
            )
            assert registered.status_code == 202, registered.text
            inventory = await eventually(
                client, "/v1/systems", lambda body: any(i.get("tier") for i in body["items"])
            )
            gate = await client.get(
                "/v1/gate",
                params={"system": "support-summarizer", "version": "2026.11.3"},
                headers=READER,
            )
        assert [(i["id"], i["tier"]) for i in inventory["items"]] == [
            ("support-summarizer", "high")
        ]
        assert gate.status_code == 200, gate.text
        assert gate.json()["decision"] == "deny"
        assert gate.json()["missing_controls"], "a fresh release lacks its evidence"

    async def test_data_survives_a_restart(self, tmp_path: Path) -> None:
        async with app_client(create_app(Settings(data_dir=tmp_path))) as client:
            registered = await client.post(
                "/v1/systems",
                content=manifest(),
                headers={**PUBLISHER, "Content-Type": "application/yaml"},
            )
            assert registered.status_code == 202
            await eventually(client, "/v1/systems", lambda body: bool(body["items"]))
        async with app_client(create_app(Settings(data_dir=tmp_path))) as client:
            again = await client.get("/v1/systems", headers=READER)
            same = await client.post(
                "/v1/systems",
                content=manifest(),
                headers={**PUBLISHER, "Content-Type": "application/yaml"},
            )
        assert [i["id"] for i in again.json()["items"]] == ["support-summarizer"]
        assert same.json()["revision"] == 1, "intake remembers the manifest across restarts"
        assert same.json()["changed"] is False

    async def test_unknown_paths_and_auth_are_answered_like_a_service(self, tmp_path: Path) -> None:
        async with app_client(create_app(Settings(data_dir=tmp_path))) as client:
            missing = await client.get("/v1/nothing-here", headers=READER)
            anonymous = await client.get("/v1/systems")
            metrics_anonymous = await client.get("/metrics")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
        assert anonymous.status_code == 401
        assert metrics_anonymous.status_code == 401


@pytest.mark.asyncio
class TestMergedSurfaces:
    async def test_openapi_has_every_service_and_both_methods_of_shared_paths(
        self, tmp_path: Path
    ) -> None:
        async with app_client(create_app(Settings(data_dir=tmp_path))) as client:
            document = (await client.get("/openapi.json")).json()
        paths = document["paths"]
        assert {"post", "get"} <= set(paths["/v1/systems"]), "intake POSTs, evidence lists"
        for path in ("/v1/events", "/v1/tiering/simulate", "/v1/gate", "/v1/routes/test"):
            assert path in paths
        refs = {
            ref.split("/")[-1] for ref in _refs(document) if ref.startswith("#/components/schemas/")
        }
        assert refs <= set(document["components"]["schemas"]), "no dangling schema reference"

    async def test_metrics_merge_services_without_duplicate_samples(self, tmp_path: Path) -> None:
        async with app_client(create_app(Settings(data_dir=tmp_path))) as client:
            await client.get("/v1/systems", headers=READER)
            await client.post("/v1/events", content=b"{", headers=PUBLISHER)
            text = (await client.get("/metrics", headers=READER)).text
        samples = [line for line in text.splitlines() if line and not line.startswith("#")]
        assert len(samples) == len(set(samples))
        assert 'route="/v1/systems"' in text
        assert 'route="/v1/events"' in text
        assert text.count("# TYPE aigov_http_requests_total counter") == 1


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def test_clashing_schema_names_are_renamed_per_service() -> None:
    def document(schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "openapi": "3.1.0",
            "paths": {"/x": {"get": {"responses": {"200": {"$ref": "#/components/schemas/Item"}}}}},
            "components": {"schemas": {"Item": schema}},
        }

    merged = merge_openapi(
        [
            ("evidence", document({"type": "object"})),
            ("monitoring-router", document({"type": "string"})),
        ],
        title="t",
        version="1",
        description="d",
    )
    schemas = merged["components"]["schemas"]
    assert schemas["Item"] == {"type": "object"}
    assert schemas["MonitoringRouterItem"] == {"type": "string"}


@pytest.mark.asyncio
class TestDemo:
    async def test_demo_gives_one_allowed_and_two_denied_releases(self, tmp_path: Path) -> None:
        app = create_app(Settings(data_dir=tmp_path))
        async with running_lifespan(app):
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), timeout=30.0
            ) as client:
                demo = Demo(client, Endpoints.single(LOOPBACK))
                loaded = await load(demo)
                assert loaded is not None
                answers = loaded.gates
                # The demo records each decision as CI does: the inventory shows all three.
                inventory = await eventually(
                    client,
                    f"{LOOPBACK}/v1/systems",
                    lambda body: all(item["last_gate"] for item in body["items"]),
                )
                again = await load(Demo(client, Endpoints.single(LOOPBACK)))
                pages = await client.get(
                    f"{LOOPBACK}/v1/inbox",
                    params={"system": "support-summarizer", "receiver": "oncall", "kind": "alerts"},
                    headers=READER,
                )
                incidents = await client.get(f"{LOOPBACK}/v1/incidents", headers=READER)
        decisions = {(system, answer["tier"], answer["decision"]) for system, _, answer in answers}
        assert decisions == {
            ("code-assistant", "low", "allow"),
            ("support-summarizer", "high", "deny"),
            ("hr-policy-assistant", "medium", "deny"),
        }
        denied = {s: a for s, _, a in answers}["support-summarizer"]
        reasons = {m["control_id"]: m["reason"] for m in denied["missing_controls"]}
        assert "prompt_injection_success_rate" in reasons["evaluation.prompt_injection"]
        assert again is None, "a second load leaves existing data alone"
        assert {i["id"]: i["last_gate"]["event_id"] for i in inventory["items"]} == {
            system: answer["gate_event_id"] for system, _, answer in answers
        }
        # Monitoring: the high-tier page is in on-call's inbox, the incident acknowledged.
        shown = loaded.monitoring
        reached = {
            (alert.system, alert.tier, alert.signal): {
                r.receiver: r.delivered for r in alert.reaches
            }
            for alert in shown.alerts
        }
        assert reached == {
            ("support-summarizer", "high", "prompt_injection"): {"oncall": True, "team": False},
            ("hr-policy-assistant", "medium", "drift"): {"team": False},
        }, "only routes without a group wait are waited for"
        paged = [
            shown_alert["summary"]
            for message in pages.json()["messages"]
            for shown_alert in message["message"]["alerts"]
            if shown_alert["labels"]["signal"] == "prompt_injection"
        ]
        assert paged == [demo_monitoring.INJECTION_SUMMARY]
        assert shown.incident is not None
        listed = {i["incident_id"]: i["status"] for i in incidents.json()["incidents"]}
        assert listed == {shown.incident["incident_id"]: "acknowledged"}
        assert shown.probes
        assert all(probe["ok"] for probe in shown.probes)
        said = summary(loaded, Endpoints.single(LOOPBACK))
        for line in (
            "support-summarizer (high) prompt_injection critical → oncall inbox now, "
            "team inbox after its 10s group wait",
            "hr-policy-assistant (medium) drift warning → team inbox after its 30s group wait",
            f"incident {shown.incident['incident_id']} opened by the route, acknowledged",
            "probe support-summarizer: ok",
            f"look: {LOOPBACK}/v1/inbox  {LOOPBACK}/v1/incidents  {LOOPBACK}/docs",
        ):
            assert line in said
        assert len(said.strip().splitlines()) <= 12, "the person reads it: it stays short"

    async def test_demo_loads_after_the_dates_in_the_example_files(self, tmp_path: Path) -> None:
        # The example files keep the day they were written (the waiver expires a month
        # later). Run on examples dated two years back: what `make run` meets on any day
        # after the example waiver's expiry, with every service on the real clock.
        examples = tmp_path / "examples"
        shutil.copytree(EXAMPLES, examples)
        waiver_file = examples / "requests" / "waiver-request.json"
        waiver = json.loads(waiver_file.read_text("utf-8"))
        expires_at = datetime.fromisoformat(waiver["expires_at"]) - timedelta(days=2 * 365)
        waiver_file.write_text(json.dumps({**waiver, "expires_at": expires_at.isoformat()}))
        app = create_app(Settings(data_dir=tmp_path / "data"))
        async with running_lifespan(app):
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), timeout=30.0
            ) as client:
                demo = Demo(client, Endpoints.single(LOOPBACK), examples=examples)
                loaded = await load(demo)
        assert loaded is not None
        assert {(system, answer["decision"]) for system, _, answer in loaded.gates} == {
            ("code-assistant", "allow"),
            ("support-summarizer", "deny"),
            ("hr-policy-assistant", "deny"),
        }


def test_demo_reads_the_one_copy_of_the_public_examples() -> None:
    # The package used to carry its own copy; the demo reads the repository's examples/.
    assert not (Path(demo_module.__file__).parent / "examples").exists()
    assert demo_module.demo_manifest(demo_module.DENIED[0]) == manifest()
