"""Demo data through the public HTTP API: three AI systems, evidence, a waiver and alerts.

Loaded by `make run` into the all-in-one server (in-process) and by `make demo` into the
services `make up` started (over HTTP). The code assistant gets everything its tier
requires (low tier) — read from its tier decision, so the demo follows the policy pack — and
its release is allowed; the support summarizer (high tier) gets the public example request
files (an evaluation failing one minimum, a model card, a waiver request, an approval and a
drift alert) and is denied; the HR policy assistant (medium tier) is only registered.
Each release's gate decision is then recorded as CI records it (`POST /v1/gate/decisions`,
publisher), so the inventory shows a last gate decision; the summary's link reads the gate
(`GET /v1/gate`, reader), which records nothing. Then monitoring is shown working
(`aigov_embedded.demo_monitoring`): alerts routed to the local inbox by tier, a probe of
the high-tier system's routes, and the incident a route opens, acknowledged.

Everything comes from the repository's `examples/` (the one copy the tests and intake's
OpenAPI read too). Those files keep the dates of the day they were written; the demo sends
every date computed from its clock (`Demo.clock`), so it loads on any day.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import httpx

from aigov_embedded import demo_monitoring
from aigov_embedded.demo_client import (
    DemoClient,
    DemoError,
    Endpoints,
    example_file,
    rfc3339,
)

ALLOWED: Final = ("code-assistant", "1.4.0")
DENIED: Final = ("support-summarizer", "2026.11.3")
REGISTERED_ONLY: Final = "hr-policy-assistant"

#: How long the demo's waiver request asks for: the examples' month.
WAIVER_VALIDITY: Final = timedelta(days=30)

#: The support summarizer's release: (path, example file, role), in the order sent.
RELEASE: Final = (
    ("/v1/deployments", "deployment.json", "publisher"),
    ("/v1/evaluations", "evaluation.json", "publisher"),
    ("/v1/artifacts", "artifact.json", "publisher"),
    ("/v1/waivers", "waiver-request.json", "publisher"),
    ("/v1/approvals", "approval.json", "approver"),
    ("/v1/alerts", "alert.json", "publisher"),
)


@dataclass(frozen=True)
class Loaded:
    """What the demo did: each release's gate answer, and what monitoring showed."""

    gates: list[tuple[str, str, dict[str, Any]]]
    monitoring: demo_monitoring.Shown


def demo_manifest(name: str, *, examples: Path | None = None) -> bytes:
    """An example manifest (`support-summarizer`), as its YAML bytes."""
    return example_file(examples, "systems", f"{name}.yaml").read_bytes()


def release_requests(
    now: datetime, *, examples: Path | None = None
) -> list[tuple[str, str, str, dict[str, Any]]]:
    """The support summarizer's release as (path, file, role, body) at `now`.

    The bodies are the example files (from `examples`, by default the repository's)
    unchanged, except the waiver's expiry: the file's date is the day the examples were
    written, and intake refuses an expired waiver.
    """
    requests = []
    for path, file, role in RELEASE:
        text = example_file(examples, "requests", file).read_text("utf-8")
        body: dict[str, Any] = json.loads(text)
        if "expires_at" in body:
            body["expires_at"] = rfc3339(now + WAIVER_VALIDITY)
        requests.append((path, file, role, body))
    return requests


def lineage_event(system: str, version: str, now: datetime) -> dict[str, Any]:
    """A structured CloudEvent recording the training lineage of a release, stamped `now`."""
    stamp = rfc3339(now)
    return {
        "specversion": "1.0",
        "id": f"demo-lineage-{system}-{version}",
        "source": "/aigov/demo",
        "type": "io.aigov.lineage.recorded.v1",
        "time": stamp,
        "datacontenttype": "application/json",
        "data": {
            "system_id": system,
            "version": version,
            "job": {"namespace": "demo", "name": f"{system}-training"},
            "run_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{system}/{version}")),
            "run_state": "COMPLETE",
            "inputs": [{"namespace": "demo", "name": f"{system}-training-data"}],
            "outputs": [{"namespace": "demo", "name": f"{system}-model"}],
            "event_time": stamp,
            "producer": "https://github.com/aigov/aigov/demo",
        },
    }


@dataclass
class Demo(DemoClient):
    """The demo's scenario steps, sent through the client's calls."""

    async def already_loaded(self) -> bool:
        """Whether the installation has AI systems already (then the demo leaves it alone)."""
        inventory = await self.get("evidence", "/v1/systems")
        return bool(inventory.get("items"))

    async def register(self, name: str) -> None:
        """Register one example manifest (YAML, unchanged) as its owner."""
        manifest = demo_manifest(name, examples=self.examples)
        await self._call(
            "POST",
            self.endpoints.intake + "/v1/systems",
            "owner",
            content=manifest,
            headers={"Content-Type": "application/yaml"},
        )

    async def decision(self, system: str, *, within: float = 60.0) -> dict[str, Any]:
        """The system's tier decision, once tiering has made it."""

        async def decided() -> dict[str, Any] | None:
            view = await self.get("tiering", f"/v1/tiering/systems/{system}", expect=(200, 404))
            if isinstance(view, dict) and isinstance(view.get("decision"), dict):
                decision: dict[str, Any] = view["decision"]
                return decision
            return None

        return await self.until(f"the tier decision of {system}", decided, within=within)

    async def satisfy(self, system: str, version: str, decision: Mapping[str, Any]) -> list[str]:
        """Submit evidence for every control the decision requires; returns controls left open."""
        await self.post(
            "intake",
            "/v1/deployments",
            "publisher",
            {
                "system": system,
                "version": version,
                "environment": "production",
                "region": "EU",
                "status": "requested",
            },
        )
        minimums = decision.get("evaluation_minimums", [])
        open_controls: list[str] = []
        suites: dict[str, dict[str, Mapping[str, Any]]] = {}
        for control in decision.get("required_controls", []):
            specs = control.get("evidence", [])
            if not specs:
                open_controls.append(control["control_id"])
            for spec in specs:
                kind = spec["kind"]
                if kind == "artifact":
                    await self._artifact(system, version, spec)
                elif kind == "evaluation":
                    suite = suites.setdefault(spec.get("suite") or "release-evaluation", {})
                    for minimum in spec.get("metrics") or minimums:
                        suite[minimum["metric"]] = minimum
                elif kind == "approval":
                    if int(spec.get("count") or 1) > 1:
                        open_controls.append(control["control_id"])
                    else:
                        await self._approve(system, version)
                elif kind == "monitoring":
                    await self._call(
                        "POST", self.endpoints.router + f"/v1/probes/{system}", "owner"
                    )
                elif kind == "lineage":
                    await self._lineage(system, version)
        for suite_name, suite_metrics in suites.items():
            await self._evaluation(system, version, suite_name, suite_metrics.values())
        return open_controls

    async def _artifact(self, system: str, version: str, spec: Mapping[str, Any]) -> None:
        kind = spec.get("artifact_kind") or "document"
        sections = {
            name: f"Demo {name.replace('_', ' ')} for {system} {version}."
            for name in spec.get("required_sections", [])
        }
        await self.post(
            "intake",
            "/v1/artifacts",
            "publisher",
            {
                "system": system,
                "version": version,
                "kind": kind,
                "title": f"{system} {version} {kind.replace('_', ' ')}",
                "uri": f"https://docs.example.com/{system}/{version}/{kind}",
                "sha256": hashlib.sha256(json.dumps(sections, sort_keys=True).encode()).hexdigest(),
                "sections": sections,
            },
        )

    async def _evaluation(
        self, system: str, version: str, suite: str, minimums: Iterable[Mapping[str, Any]]
    ) -> None:
        metrics = [
            {
                "name": m["metric"],
                "value": float(m["threshold"]),
                "higher_is_better": m["op"] == ">=",
            }
            for m in minimums
        ]
        if not metrics:
            metrics = [{"name": "accuracy", "value": 0.9, "higher_is_better": True}]
        await self.post(
            "intake",
            "/v1/evaluations",
            "publisher",
            {
                "system": system,
                "version": version,
                "suite": suite,
                "dataset": {"id": f"{system}-eval", "version": "1"},
                "metrics": metrics,
                "run": {"id": f"demo-{suite}"},
            },
        )

    async def _approve(self, system: str, version: str) -> None:
        await self.post(
            "intake",
            "/v1/approvals",
            "approver",
            {
                "system": system,
                "version": version,
                "decision": "granted",
                "rationale": "Demo: every required control has evidence.",
            },
        )

    async def _lineage(self, system: str, version: str) -> None:
        event = lineage_event(system, version, self.clock())
        await self._call(
            "POST",
            self.endpoints.intake + "/v1/events",
            "publisher",
            content=json.dumps(event),
            headers={"Content-Type": "application/cloudevents+json"},
        )

    async def example_release(self) -> None:
        """The support summarizer's release: the example request files, dated from now."""
        for path, _, role, body in release_requests(self.clock(), examples=self.examples):
            await self.post("intake", path, role, body)

    async def recorded(self, *, within: float = 60.0) -> None:
        """Wait until evidence has recorded every event this demo emitted."""
        deadline = asyncio.get_running_loop().time() + within
        for event_id in list(self.emitted):

            async def found(event_id: str = event_id) -> bool | None:
                record = await self.get("evidence", f"/v1/events/{event_id}", expect=(200, 404))
                recorded = (
                    isinstance(record, dict)
                    and record.get("recorded", True)
                    and "status" not in record
                )
                return True if recorded else None

            left = max(deadline - asyncio.get_running_loop().time(), 0.0)
            await self.until(f"evidence recording event {event_id}", found, within=left)

    async def gate(self, system: str, version: str) -> dict[str, Any]:
        """Ask the gate about a release and record its decision, as CI's gate step does."""
        answer: dict[str, Any] = await self._call(
            "POST",
            self.endpoints.evidence + "/v1/gate/decisions",
            "publisher",
            expect=(200,),
            json={"system": system, "version": version},
        )
        return answer


async def load(demo: Demo) -> Loaded | None:
    """Load the demo (None when data exists: it is left alone) and show monitoring working."""
    if await demo.already_loaded():
        demo._say("demo: systems exist already; leaving the data as it is")
        return None
    for name in (ALLOWED[0], DENIED[0], REGISTERED_ONLY):
        await demo.register(name)
    demo._say(f"demo: registered {ALLOWED[0]}, {DENIED[0]} and {REGISTERED_ONLY}")
    decision = await demo.decision(ALLOWED[0])
    left = await demo.satisfy(*ALLOWED, decision)
    if left:
        demo._say(f"demo: {ALLOWED[0]} controls the demo cannot evidence: {', '.join(left)}")
    await demo.decision(DENIED[0])
    await demo.example_release()
    await demo.decision(REGISTERED_ONLY)
    await demo.recorded()
    # Monitoring probes complete asynchronously; give the gate what they publish.
    await asyncio.sleep(1.0)
    answers = []
    for system, version in (ALLOWED, DENIED, (REGISTERED_ONLY, "1.0.0")):
        answers.append((system, version, await demo.gate(system, version)))
    shown = await demo_monitoring.show(demo, high=DENIED[0], medium=REGISTERED_ONLY)
    # The acknowledgement travels to evidence asynchronously too: the documents the summary
    # links to show the incident acknowledged only once evidence has recorded it.
    await demo.recorded()
    return Loaded(gates=answers, monitoring=shown)


def summary(loaded: Loaded, endpoints: Endpoints) -> str:
    """A short readable summary: the gate answers, then what monitoring showed."""
    lines = ["", "demo loaded — the release gate says:"]
    for system, version, answer in loaded.gates:
        missing = [m.get("control_id") or m.get("id") for m in answer.get("missing_controls", [])]
        more = (
            f" (missing: {', '.join(map(str, missing[:4]))}{', …' if len(missing) > 4 else ''})"
            if missing
            else ""
        )
        lines.append(
            f"  {system} {version}: tier {answer.get('tier')}, {answer.get('decision', '?').upper()}{more}"
        )
    lines.append(
        f"  see why: {endpoints.evidence}/v1/gate?system={DENIED[0]}&version={DENIED[1]} "
        "(reader token; reading records nothing)"
    )
    lines.extend(
        demo_monitoring.summary_lines(
            loaded.monitoring,
            inbox=f"{endpoints.router}/v1/inbox",
            incidents=f"{endpoints.intake}/v1/incidents",
            docs=f"{endpoints.evidence}/docs",
        )
    )
    return "\n".join(lines)


def _stderr(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


async def _main(endpoints: Endpoints) -> int:
    async with httpx.AsyncClient(timeout=30.0) as client:
        demo = Demo(client, endpoints, say=_stderr)
        try:
            loaded = await load(demo)
        except (DemoError, httpx.HTTPError) as exc:
            _stderr(f"demo failed: {exc}")
            return 1
    if loaded is not None:
        _stderr(summary(loaded, endpoints))
    return 0


def main() -> None:
    """`python -m aigov_embedded.demo`: load the demo into running services."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", default=os.environ.get("AIGOV_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--intake-url", default=os.environ.get("AIGOV_INTAKE_URL"))
    parser.add_argument("--tiering-url", default=os.environ.get("AIGOV_TIERING_URL"))
    parser.add_argument("--evidence-url", default=os.environ.get("AIGOV_EVIDENCE_URL"))
    parser.add_argument("--router-url", default=os.environ.get("AIGOV_ROUTER_URL"))
    args = parser.parse_args()
    endpoints = Endpoints(
        args.intake_url or args.url,
        args.tiering_url or args.url,
        args.evidence_url or args.url,
        args.router_url or args.url,
    )
    raise SystemExit(asyncio.run(_main(endpoints)))


if __name__ == "__main__":
    main()
