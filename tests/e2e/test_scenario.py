"""One governance scenario, end to end, on both run modes, only through the public HTTP API.

register → tier → evaluate → gate deny → waiver + approval → gate allow → material change →
deny → drift alert routed to on-call's webhook → incident → escalation.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.e2e.deployment import Deployment, Receiver, unique
from tests.fixtures import EXAMPLES

pytestmark = [pytest.mark.asyncio, pytest.mark.e2e, pytest.mark.timeout(600)]

VERSION = "2026.11.3"


def token(role: str) -> dict[str, str]:
    """The dev token of `role` (both run modes start in dev mode without configured tokens)."""
    return {"Authorization": f"Bearer dev-{role}-token-please-change"}


class Api:
    """The public HTTP API of a deployment, one method per thing a user does."""

    def __init__(self, client: httpx.AsyncClient, deployment: Deployment) -> None:
        self.client = client
        self.deployment = deployment
        self.emitted: list[str] = []

    async def send(self, service: str, method: str, path: str, role: str, **kw: Any) -> Any:
        headers = {**token(role), **kw.pop("headers", {})}
        url = self.deployment.url(service) + path
        response = await self.client.request(method, url, headers=headers, **kw)
        assert response.status_code in (200, 201, 202), (
            f"{method} {path}: {response.status_code} {response.text}\n{self.deployment.logs()}"
        )
        body = response.json()
        if method == "POST" and isinstance(body, dict):
            if isinstance(body.get("event_id"), str):
                self.emitted.append(body["event_id"])
            self.emitted.extend(str(i) for i in body.get("accepted", []) if isinstance(i, str))
        return body

    async def until(self, what: str, probe: Any, *, within: float = 90.0) -> Any:
        """Poll `probe()` until it returns something truthy."""
        deadline = time.monotonic() + within
        while True:
            result = await probe()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {within:g} s\n{self.deployment.logs()}")
            await asyncio.sleep(0.3)

    async def tier_decision(self, system: str, revision: int) -> dict[str, Any]:
        async def decided() -> Any:
            response = await self.client.get(
                self.deployment.url("tiering") + f"/v1/tiering/systems/{system}",
                headers=token("reader"),
            )
            if response.status_code != 200:
                return None
            view = response.json()
            return view["decision"] if view.get("revision") == revision else None

        decision: dict[str, Any] = await self.until(f"tier of {system} r{revision}", decided)
        return decision

    async def recorded(self) -> None:
        """Wait until evidence has recorded every event sent so far (what `aigov gate --wait` does)."""
        for event_id in self.emitted:

            async def found(event_id: str = event_id) -> bool:
                response = await self.client.get(
                    self.deployment.url("evidence") + f"/v1/events/{event_id}",
                    headers=token("reader"),
                )
                return response.status_code == 200

            await self.until(f"event {event_id} recorded", found)

    async def gate(self, system: str) -> dict[str, Any]:
        await self.recorded()
        answer: dict[str, Any] = await self.send(
            "evidence", "GET", "/v1/gate", "reader", params={"system": system, "version": VERSION}
        )
        return answer


async def cli_gate(deployment: Deployment, system: str, state: Path) -> tuple[int, str]:
    """`aigov gate` against the deployment: (exit code, output)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGOV_")}
    env.update(
        {
            "AIGOV_INTAKE_URL": deployment.url("intake"),
            "AIGOV_TIERING_URL": deployment.url("tiering"),
            "AIGOV_EVIDENCE_URL": deployment.url("evidence"),
            # CI's token: `aigov gate` records its decision, which takes the publisher role.
            "AIGOV_TOKEN": "dev-publisher-token-please-change",
            "AIGOV_STATE_FILE": str(state),
        }
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aigov_cli",
        "gate",
        "--system",
        system,
        "--version",
        VERSION,
        "--wait",
        "60s",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


def manifest(system: str, **changes: Any) -> bytes:
    """The support summarizer's example manifest under another id (and with `changes`)."""
    document = yaml.safe_load((EXAMPLES / "systems" / "support-summarizer.yaml").read_text())
    document["metadata"]["id"] = system
    for dotted, value in changes.items():
        node = document
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    return yaml.safe_dump(document).encode()


def example(name: str, system: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((EXAMPLES / "requests" / f"{name}.json").read_text())
    body["system"] = system
    return body


async def evidence_except_evaluations_and_approvals(
    api: Api, system: str, decision: dict[str, Any]
) -> None:
    """Artifacts, probes and lineage for every control that needs them."""
    for control in decision["required_controls"]:
        for spec in control["evidence"]:
            if spec["kind"] == "artifact":
                sections = {s: f"{s} of {system}" for s in spec["required_sections"]}
                await api.send(
                    "intake",
                    "POST",
                    "/v1/artifacts",
                    "publisher",
                    json={
                        "system": system,
                        "version": VERSION,
                        "kind": spec["artifact_kind"],
                        "title": f"{spec['artifact_kind']} {VERSION}",
                        "uri": f"https://docs.example.com/{system}/{spec['artifact_kind']}",
                        "sha256": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
                        "sections": sections,
                    },
                )
            elif spec["kind"] == "lineage":
                now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
                await api.send(
                    "intake",
                    "POST",
                    "/v1/events",
                    "publisher",
                    headers={"Content-Type": "application/cloudevents+json"},
                    content=json.dumps(
                        {
                            "specversion": "1.0",
                            "id": unique("lineage-"),
                            "source": "/e2e",
                            "type": "io.aigov.lineage.recorded.v1",
                            "time": now,
                            "data": {
                                "system_id": system,
                                "version": VERSION,
                                "job": {"namespace": "e2e", "name": "train"},
                                "run_id": unique("run-"),
                                "event_time": now,
                                "producer": "https://example.com/e2e",
                            },
                        }
                    ),
                )
    signals = {
        s
        for c in decision["required_controls"]
        for spec in c["evidence"]
        if spec["kind"] == "monitoring"
        for s in spec["signals"]
    }
    if signals:
        started = await api.send("router", "POST", f"/v1/probes/{system}", "owner")
        assert started, "a high-risk system's monitored signals are probed"
        for probe in started:

            async def completed(probe_id: str = probe["probe_id"]) -> Any:
                response = await api.client.get(
                    api.deployment.url("router") + f"/v1/probes/{system}/{probe_id}",
                    headers=token("reader"),
                )
                body = response.json()
                return body if response.status_code == 200 and body["ok"] is not None else None

            result = await api.until("monitoring probe completed", completed)
            assert result["ok"], result


async def test_governance_scenario(
    deployment: Deployment, receiver: Receiver, tmp_path: Path
) -> None:
    system = unique("e2e-summarizer-")
    async with httpx.AsyncClient(timeout=30.0) as client:
        api = Api(client, deployment)

        # Register a high-risk system: tiering classifies it.
        await api.send(
            "intake",
            "POST",
            "/v1/systems",
            "owner",
            content=manifest(system),
            headers={"Content-Type": "application/yaml"},
        )
        decision = await api.tier_decision(system, revision=1)
        assert decision["tier"] == "high"
        assert decision["rules"], "a high tier names the rule that fired"

        # Evidence for the release, with the example evaluation failing one minimum.
        await api.send(
            "intake", "POST", "/v1/deployments", "publisher", json=example("deployment", system)
        )
        await evidence_except_evaluations_and_approvals(api, system, decision)
        await api.send(
            "intake", "POST", "/v1/evaluations", "publisher", json=example("evaluation", system)
        )
        denied = await api.gate(system)
        assert denied["decision"] == "deny"
        missing = {m["control_id"]: m["reason"] for m in denied["missing_controls"]}
        assert "prompt_injection_success_rate" in missing["evaluation.prompt_injection"]
        assert "approval.release" in missing
        blocking = set(missing) - {"evaluation.prompt_injection", "approval.release"}
        assert not blocking, f"everything else has evidence: {blocking}"
        code, output = await cli_gate(deployment, system, tmp_path / "cli-state.json")
        assert code == 1, output
        assert "evaluation.prompt_injection" in output

        # A waiver with compensating controls and a 30-day expiry, plus an approval: allowed.
        waiver_request = example("waiver-request", system)
        waiver_request["expires_at"] = (datetime.now(UTC) + timedelta(days=30)).isoformat()
        waiver = await api.send("intake", "POST", "/v1/waivers", "publisher", json=waiver_request)
        await api.send(
            "intake",
            "POST",
            f"/v1/waivers/{waiver['waiver_id']}/grant",
            "approver",
            json={"rationale": "compensating controls in place"},
        )
        await api.send(
            "intake", "POST", "/v1/approvals", "approver", json=example("approval", system)
        )
        allowed = await api.gate(system)
        assert allowed["decision"] == "allow", allowed
        assert [w["control_id"] for w in allowed["waived_controls"]] == [
            "evaluation.prompt_injection"
        ]

        # A new prompt template is a material change: denied until re-approved.
        changed = manifest(
            system, **{"spec.genai.promptTemplates": [{"id": "summary", "sha256": "ab" * 32}]}
        )
        await api.send(
            "intake",
            "POST",
            "/v1/systems",
            "owner",
            content=changed,
            headers={"Content-Type": "application/yaml"},
        )
        await api.tier_decision(system, revision=2)

        async def pending() -> Any:
            answer = await api.gate(system)
            return answer if answer["decision"] == "deny" else None

        again = await api.until("gate denies after the material change", pending)
        assert again["pending_material_changes"], again

        # Drift is routed to on-call's webhook with the system's labels.
        await api.send("intake", "POST", "/v1/alerts", "publisher", json=example("alert", system))
        routed = await receiver.wait_for(
            lambda r: (
                r.path == "/alerts"
                and r.body["commonLabels"].get("system") == system
                and r.body["commonLabels"].get("signal") == "drift"
                and "aigov_probe" not in r.body["commonLabels"]
            )
        )
        labels = routed.body["alerts"][0]["labels"]
        assert (labels["tier"], labels["severity"]) == ("high", "warning")
        assert routed.headers["x-aigov-signature"].startswith("v1=")

        # An incident nobody acknowledges escalates along the chain.
        await api.send(
            "intake", "POST", "/v1/incidents", "publisher", json=example("incident", system)
        )
        steps = set()
        for _ in range(2):
            hit = await receiver.wait_for(
                lambda r: (
                    r.path == "/escalations"
                    and system in json.dumps(r.body)
                    and json.dumps(r.body) not in steps
                )
            )
            steps.add(json.dumps(hit.body))
        assert len(steps) >= 2, "owner first, then the next step"
