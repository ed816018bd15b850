"""`POST /v1/systems/{id}/ledger/verify` refuses bodies that are not JSON with a documented 422."""

from __future__ import annotations

import pytest

from tests.unit.evidence import events as ev
from tests.unit.evidence.harness import READER, Harness, auth

pytestmark = pytest.mark.asyncio

SYSTEM = "verify-bodies"
JSON = {"Content-Type": "application/json"}


async def post(evidence: Harness, body: bytes) -> tuple[int, str, dict[str, object]]:
    response = await evidence.client.post(
        f"/v1/systems/{SYSTEM}/ledger/verify", content=body, headers=auth(READER) | JSON
    )
    return response.status_code, response.headers["content-type"], response.json()


class TestMalformedBodies:
    async def test_a_body_that_is_not_utf8_is_422_naming_the_byte(self, evidence: Harness) -> None:
        await evidence.publish(ev.registered(SYSTEM))
        status, content_type, problem = await post(evidence, b'{"checkpoint": "\xd9\x02"}')
        assert (status, content_type) == (422, "application/problem+json"), problem
        assert problem["detail"] == (
            "body: not valid JSON text: 'utf-8' codec can't decode byte 0xd9 in position 16: "
            "invalid continuation byte"
        )
        assert problem["errors"] == [
            {"loc": ["body"], "msg": problem["detail"], "type": "json_invalid"}
        ]

    async def test_json_nested_too_deeply_is_422(self, evidence: Harness) -> None:
        status, _, problem = await post(evidence, b"[" * 100_000 + b"]" * 100_000)
        assert status == 422, problem
        assert problem["detail"] == "body: JSON nested too deeply"

    async def test_malformed_json_stays_a_422(self, evidence: Harness) -> None:
        status, _, problem = await post(evidence, b'{"checkpoint": ')
        assert status == 422, problem

    async def test_the_route_documents_422_and_no_400(self, evidence: Harness) -> None:
        spec = (await evidence.client.get("/openapi.json")).json()
        responses = spec["paths"]["/v1/systems/{system_id}/ledger/verify"]["post"]["responses"]
        assert "422" in responses
        assert "400" not in responses
