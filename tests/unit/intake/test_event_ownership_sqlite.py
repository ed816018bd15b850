"""Event and approval ownership on the embedded path (SQLite, embedded bus): the same rules.

The PostgreSQL path has its own lookup query (tests/integration/intake/test_event_ownership.py);
this covers the SQLite branch of `AcceptLedger.seen` and the approval lookup.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr

from aigov_events.catalog import ApprovalGranted, ApprovalRevoked, EvaluationCompleted
from aigov_intake.app import create_app
from aigov_intake.settings import Settings
from aigov_runtime.testing import app_client

pytestmark = pytest.mark.asyncio

TOKENS = {
    "tok-ci-0123456789abcdefgh": {"principal": "ci-bot", "roles": ["publisher"]},
    "tok-squatter-0123456789ab": {"principal": "squatter", "roles": ["publisher"]},
    "tok-approver-0123456789ab": {"principal": "risk-officer", "roles": ["approver"]},
    "tok-approver-2-0123456789": {"principal": "ml-lead", "roles": ["approver"]},
    "tok-admin-0123456789abcde": {"principal": "root", "roles": ["admin"]},
}
CI, SQUATTER, APPROVER, OTHER_APPROVER, ADMIN = TOKENS
STRUCTURED = {"Content-Type": "application/cloudevents+json"}
SOURCE = "https://ci.example.com/support-ml"


def sqlite_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """An intake on SQLite and the embedded bus, as in the all-in-one process."""
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'intake.sqlite3'}",
        "bus": "embedded",
        "embedded_bus_path": tmp_path / "bus.sqlite3",
        "auth_tokens": SecretStr(json.dumps(TOKENS)),
        **overrides,
    }
    return Settings(**values)


@pytest_asyncio.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A started intake on SQLite."""
    async with app_client(create_app(sqlite_settings(tmp_path))) as started:
        yield started


def cloudevent(data: dict[str, Any], event_type: str, **attrs: Any) -> dict[str, Any]:
    """A structured-mode CloudEvent with a fresh id."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": SOURCE,
        "type": event_type,
        "time": "2026-11-20T10:00:00Z",
        "data": data,
        **attrs,
    }


def evaluation(**attrs: Any) -> dict[str, Any]:
    """An evaluation.completed CloudEvent of the catalog's example."""
    return cloudevent(
        copy.deepcopy(dict(EvaluationCompleted.example)), EvaluationCompleted.event_type, **attrs
    )


def approval() -> dict[str, Any]:
    """An approval.granted CloudEvent of the catalog's example."""
    return cloudevent(copy.deepcopy(dict(ApprovalGranted.example)), ApprovalGranted.event_type)


def revocation(revokes: str) -> dict[str, Any]:
    """An approval.revoked CloudEvent withdrawing `revokes` (same release as the examples)."""
    data = {**copy.deepcopy(dict(ApprovalRevoked.example)), "revokes": revokes}
    return cloudevent(data, ApprovalRevoked.event_type)


async def post(client: httpx.AsyncClient, event: dict[str, Any], token: str) -> httpx.Response:
    """POST one structured-mode event as `token`."""
    return await client.post(
        "/v1/events",
        content=json.dumps(event),
        headers={**STRUCTURED, "Authorization": f"Bearer {token}"},
    )


async def test_another_principals_source_and_id_is_409(client: httpx.AsyncClient) -> None:
    squatted = evaluation()
    assert (await post(client, squatted, SQUATTER)).status_code == 202
    response = await post(client, {**evaluation(), "id": squatted["id"]}, CI)
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "already used by another principal" in response.json()["detail"]


async def test_the_same_principal_retrying_is_a_duplicate(client: httpx.AsyncClient) -> None:
    event = evaluation()
    assert (await post(client, event, CI)).status_code == 202
    retry = await post(client, event, CI)
    assert retry.status_code == 202, retry.text
    assert retry.json()["duplicates"] == [event["id"]]
    assert retry.json()["duplicate_events"] == [{"id": event["id"], "source": SOURCE}]


async def test_only_the_granter_or_an_admin_revokes(client: httpx.AsyncClient) -> None:
    granted = approval()
    assert (await post(client, granted, APPROVER)).status_code == 202
    refused = await post(client, revocation(granted["id"]), OTHER_APPROVER)
    assert refused.status_code == 403, refused.text
    assert "'risk-officer'" in refused.json()["detail"]
    assert (await post(client, revocation(granted["id"]), APPROVER)).status_code == 202
    assert (await post(client, revocation(granted["id"]), ADMIN)).status_code == 202


async def test_revoking_an_unknown_approval_is_422(client: httpx.AsyncClient) -> None:
    unknown = str(uuid.uuid4())
    response = await post(client, revocation(unknown), ADMIN)
    assert response.status_code == 422, response.text
    assert unknown in response.json()["detail"]
