"""Reading the gate is safe (RFC 9110): only `POST /v1/gate/decisions` records a decision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.evidence import events as ev
from tests.unit.evidence.conftest import embedded_settings
from tests.unit.evidence.harness import OWNER, PUBLISHER, READER, Harness, auth, serve

pytestmark = pytest.mark.asyncio

SYSTEM = "gate-recording"
GATE_DECIDED = "io.aigov.gate.decided.v1"
#: What a decision is, as opposed to when it was made and whether it was recorded.
DECISION_FIELDS = ("decision", "tier", "policy", "missing_controls", "waived_controls", "reasons")


async def seed(evidence: Harness) -> None:
    await evidence.publish(
        ev.registered(SYSTEM),
        ev.high_tier(SYSTEM),
        ev.evaluation(SYSTEM, ev.request_body("evaluation.json")),
    )


async def gate_records(evidence: Harness) -> list[dict[str, Any]]:
    """The system's `gate.decided` ledger records."""
    response = await evidence.client.get(
        f"/v1/systems/{SYSTEM}/evidence", params={"type": GATE_DECIDED}, headers=auth(READER)
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def last_gate(evidence: Harness) -> Any:
    response = await evidence.client.get(f"/v1/systems/{SYSTEM}", headers=auth(READER))
    assert response.status_code == 200, response.text
    return response.json()["last_gate"]


async def record(evidence: Harness, token: str = PUBLISHER) -> dict[str, Any]:
    response = await evidence.client.post(
        "/v1/gate/decisions", json={"system": SYSTEM, "version": ev.VERSION}, headers=auth(token)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestReadingIsSafe:
    async def test_a_get_writes_nothing(self, evidence: Harness) -> None:
        await seed(evidence)
        before = (await gate_records(evidence), await last_gate(evidence))
        for token in (READER, PUBLISHER):
            response = await evidence.client.get(
                "/v1/gate", params={"system": SYSTEM, "version": ev.VERSION}, headers=auth(token)
            )
            assert response.status_code == 200, response.text
            assert response.json()["decision"] == "deny"
            assert response.json()["gate_event_id"] is None
        # A record the GETs had published would be in the ledger before this one (same
        # system, same partition): once this one is recorded, theirs would be too.
        recorded = await record(evidence)
        await evidence.wait_recorded(recorded["gate_event_id"])
        assert before == ([], None)
        assert [r["event_id"] for r in await gate_records(evidence)] == [recorded["gate_event_id"]]
        assert (await last_gate(evidence))["event_id"] == recorded["gate_event_id"]


class TestRecording:
    async def test_post_records_exactly_one_decision_equal_to_the_read(
        self, evidence: Harness
    ) -> None:
        await seed(evidence)
        read = (
            await evidence.client.get(
                "/v1/gate", params={"system": SYSTEM, "version": ev.VERSION}, headers=auth(READER)
            )
        ).json()
        recorded = await record(evidence)
        assert recorded["gate_event_id"]
        assert {k: recorded[k] for k in DECISION_FIELDS} == {k: read[k] for k in DECISION_FIELDS}
        entry = await evidence.wait_recorded(recorded["gate_event_id"])
        assert entry["type"] == GATE_DECIDED
        records = await gate_records(evidence)
        assert [r["event_id"] for r in records] == [recorded["gate_event_id"]]
        assert records[0]["actor"] == "ci-bot"
        assert records[0]["data"]["allowed"] is False
        assert (await last_gate(evidence))["decision"] == recorded["decision"] == "deny"

    async def test_an_unknown_system_is_denied_and_not_recorded(self, evidence: Harness) -> None:
        response = await evidence.client.post(
            "/v1/gate/decisions",
            json={"system": "nobody-knows", "version": "1.0"},
            headers=auth(PUBLISHER),
        )
        assert response.status_code == 200, response.text
        assert response.json()["decision"] == "deny"
        assert response.json()["gate_event_id"] is None

    async def test_readers_and_owners_may_not_record(self, evidence: Harness) -> None:
        await seed(evidence)
        body = {"system": SYSTEM, "version": ev.VERSION}
        for token in (READER, OWNER):
            response = await evidence.client.post(
                "/v1/gate/decisions", json=body, headers=auth(token)
            )
            assert response.status_code == 403, response.text
            assert response.headers["content-type"] == "application/problem+json"
        anonymous = await evidence.client.post("/v1/gate/decisions", json=body)
        assert anonymous.status_code == 401

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"system": SYSTEM}, "version"),
            ({"version": "1.0"}, "system"),
            ({"system": "Not_An_Id", "version": "1.0"}, "system"),
            ({"system": SYSTEM, "version": "-bad"}, "version"),
            ({"system": SYSTEM, "version": "1.0", "record": False}, "record"),
            ({"system": 7, "version": "1.0"}, "system"),
        ],
    )
    async def test_a_bad_body_is_422_naming_the_field(
        self, evidence: Harness, body: dict[str, Any], field: str
    ) -> None:
        response = await evidence.client.post(
            "/v1/gate/decisions", json=body, headers=auth(PUBLISHER)
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert field in response.text

    @pytest.mark.parametrize("raw", [b"", b"[]", b"{not json", b'{"system": "\xff"}'])
    async def test_a_body_that_is_not_the_object_is_422(
        self, evidence: Harness, raw: bytes
    ) -> None:
        response = await evidence.client.post(
            "/v1/gate/decisions",
            content=raw,
            headers={**auth(PUBLISHER), "Content-Type": "application/json"},
        )
        assert response.status_code == 422, response.text

    async def test_recording_is_rate_limited_per_principal(self, tmp_path: Path) -> None:
        settings = embedded_settings(tmp_path, rate_limit_per_second=0.01, rate_limit_burst=1)
        async with serve(settings) as evidence:
            body = {"system": "nobody-knows", "version": "1.0"}
            first = await evidence.client.post(
                "/v1/gate/decisions", json=body, headers=auth(PUBLISHER)
            )
            second = await evidence.client.post(
                "/v1/gate/decisions", json=body, headers=auth(PUBLISHER)
            )
        assert first.status_code == 200, first.text
        assert second.status_code == 429, second.text
        assert int(second.headers["Retry-After"]) >= 1

    async def test_openapi_documents_both_and_when_the_event_id_is_set(
        self, evidence: Harness
    ) -> None:
        spec = (await evidence.client.get("/openapi.json")).json()
        post = spec["paths"]["/v1/gate/decisions"]["post"]
        assert {"200", "401", "403", "422", "429", "503"} <= set(post["responses"])
        assert set(spec["paths"]["/v1/gate"]) == {"get"}
        assert "503" not in spec["paths"]["/v1/gate"]["get"]["responses"]
        field = spec["components"]["schemas"]["GateOut"]["properties"]["gate_event_id"]
        assert "only when recorded" in field["description"]
