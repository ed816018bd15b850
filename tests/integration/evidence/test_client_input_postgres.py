"""Client input PostgreSQL cannot hold or compare is a 422 that says why, never a 500.

PostgreSQL refuses NUL in text (`invalid byte sequence for encoding "UTF8": 0x00`) and
compares a text column with an integer only by failing; schemathesis found the first on
`GET /v1/events/{id}?source=`. Cursors are opaque, but a client can build one.
"""

from __future__ import annotations

import base64
import json

import pytest

from tests.unit.evidence import events as ev
from tests.unit.evidence.harness import READER, Harness, auth

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]


def forged(*key: object) -> str:
    """A cursor as the service would encode `key` (the listing's kind first)."""
    raw = json.dumps(list(key)).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "url",
    [
        "/v1/events/build%0042",
        "/v1/events/build-42?source=%2Fci%00a",
        "/v1/systems?team=ml%00platform",
    ],
)
async def test_nul_in_a_string_parameter_is_422(evidence: Harness, url: str) -> None:
    response = await evidence.client.get(url, headers=auth(READER))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("listing", "cursor", "detail"),
    [
        ("/v1/systems", forged("systems", "a\x00b"), "cursor: cursor is not one this API issued"),
        ("/v1/systems", forged("systems", 7), "cursor: cursor is not one this API issued"),
        ("/v1/systems/{system}/evidence", forged("evidence", "x"), "cursor: cursor is not one"),
        ("/v1/systems/{system}/evidence", forged("evidence", 2**70), "cursor: cursor is not one"),
        ("/v1/waivers", forged("waivers", "yesterday", "W-1"), "cursor: cursor is not one"),
        ("/v1/waivers", forged("waivers", "2026-11-20T09:00:00+00:00", 5), "cursor: cursor is"),
    ],
)
async def test_a_forged_cursor_is_422(
    evidence: Harness, listing: str, cursor: str, detail: str
) -> None:
    system = "cursor-summarizer"
    await evidence.publish(ev.registered(system))
    response = await evidence.client.get(
        listing.format(system=system), params={"cursor": cursor}, headers=auth(READER)
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(detail)
