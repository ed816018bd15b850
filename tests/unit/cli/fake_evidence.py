"""A stand-in for the evidence service's gate API, for testing the CLI's waiting and rendering.

It answers `GET /v1/events/{id}`, `GET /v1/gate` (a read: no `gate_event_id`) and
`POST /v1/gate/decisions` (a recorded decision) with bodies shaped like the evidence
service's documented answers (`GateOut`, `EventRecordedOut`); the real service is exercised
end to end elsewhere. Tests script it: which events become recorded after how many polls,
and which gate answers follow each other.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

DENY: dict[str, Any] = {
    "system": "support-summarizer",
    "version": "2026.11.3",
    "decision": "deny",
    "tier": "high",
    "policy_version": "2026.1+sha256.1a2b3c4d5e6f",
    "policy": {"name": "default", "version": "2026.1", "sha256": "1a2b" * 16},
    "missing_controls": [
        {
            "control_id": "evaluation.prompt_injection",
            "reason": "prompt_injection_success_rate 0.09 is not <= 0.05",
        },
        {"control_id": "approval.release", "reason": "needs 1 approval by an approver"},
    ],
    "waived_controls": [
        {
            "control_id": "documentation.model_card",
            "waiver_id": "W-7K3M9Q2X4B",
            "expires_at": "2026-12-26T00:00:00Z",
        }
    ],
    "pending_material_changes": [],
    "reasons": [],
    "next_steps": ["Request a waiver or improve prompt injection resistance"],
    "evidence_ids": ["e1", "e2", "e3"],
    "decided_at": "2026-11-26T17:00:00Z",
    "gate_event_id": "0195a6f2-gate",
}
ALLOW: dict[str, Any] = {
    **DENY,
    "decision": "allow",
    "missing_controls": [],
    "next_steps": [],
}
UNTIERED: dict[str, Any] = {
    **DENY,
    "tier": None,
    "policy_version": None,
    "policy": None,
    "missing_controls": [],
    "waived_controls": [],
    "reasons": ["support-summarizer has not been tiered yet"],
}


@dataclass
class FakeEvidence:
    """Scripted answers and a log of the requests received."""

    url: str = ""
    #: event id -> polls answered 404 before it counts as recorded (absent: never recorded).
    recorded_after: dict[str, int] = field(default_factory=dict)
    #: Ids two sources recorded: asked without `?source=`, they are answered 409.
    ambiguous: set[str] = field(default_factory=set)
    #: Gate answers in order; the last one repeats.
    gate_answers: list[dict[str, Any]] = field(default_factory=lambda: [ALLOW])
    #: A status to answer the gate with instead (e.g. 503), with its problem detail.
    gate_status: int = 200
    #: Paths as received (a POST's JSON body is in `recorded`, its path here).
    requests: list[str] = field(default_factory=list)
    #: The bodies of `POST /v1/gate/decisions`, in order.
    recorded: list[Any] = field(default_factory=list)
    authorizations: set[str] = field(default_factory=set)
    _polls: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        """Status and body for one request (a POST's JSON fields given as `query`)."""
        if path.startswith("/v1/events/"):
            event_id = unquote(path.removeprefix("/v1/events/"))
            if event_id in self.ambiguous and "source" not in query:
                return 409, {
                    "title": "Conflict",
                    "status": 409,
                    "detail": f"event id {event_id!r} is recorded from 2 sources; "
                    "pass ?source= to choose one",
                }
            polls = self._polls[event_id] = self._polls.get(event_id, 0) + 1
            needed = self.recorded_after.get(event_id)
            if needed is None or polls <= needed:
                return 404, {
                    "title": "Not Found",
                    "status": 404,
                    "detail": f"event {event_id!r} is not recorded (yet)",
                }
            return 200, {
                "event_id": event_id,
                "type": "io.aigov.evaluation.completed.v1",
                "system": "s",
                "sequence": 1,
                "recorded_at": "2026-11-26T17:00:00Z",
                "hash": "ab" * 32,
            }
        if path in ("/v1/gate", "/v1/gate/decisions"):
            if self.gate_status != 200:
                return self.gate_status, {
                    "title": "Service Unavailable",
                    "status": self.gate_status,
                    "detail": "the gate decision could not be recorded (event broker unavailable); retry later",
                }
            answer = (
                self.gate_answers[0] if len(self.gate_answers) == 1 else self.gate_answers.pop(0)
            )
            release = {"system": query["system"][0], "version": query["version"][0]}
            if path == "/v1/gate":
                return 200, {**answer, **release, "gate_event_id": None}
            return 200, {**answer, **release}
        return 404, {"title": "Not Found", "status": 404, "detail": "Not Found"}

    def polls(self, event_id: str) -> int:
        """How often the CLI asked whether `event_id` is recorded."""
        return self._polls.get(event_id, 0)


@contextmanager
def fake_evidence(fake: FakeEvidence) -> Iterator[FakeEvidence]:
    """Serve `fake` on a free local port while the block runs."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            with fake._lock:
                fake.requests.append(self.path)
                fake.authorizations.add(self.headers.get("Authorization", ""))
                status, body = fake.answer(parts.path, parse_qs(parts.query))
            self.reply(status, body)

        def do_POST(self) -> None:
            sent = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            with fake._lock:
                fake.requests.append(self.path)
                fake.recorded.append(sent)
                fake.authorizations.add(self.headers.get("Authorization", ""))
                fields = {k: [str(v)] for k, v in sent.items()} if isinstance(sent, dict) else {}
                status, body = fake.answer(urlsplit(self.path).path, fields)
            self.reply(status, body)

        def reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            content_type = "application/json" if status < 400 else "application/problem+json"
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            if status == 503:
                self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the CLI's output is what the tests read."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
