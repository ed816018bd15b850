"""Two intake replicas on one database never give two manifests of a system the same revision."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import httpx
import pytest

from aigov_events.topics import LIFECYCLE
from aigov_intake.app import create_app
from aigov_runtime.testing import app_client
from tests.integration.intake.conftest import PUBLISHER, Intake, auth, intake_settings
from tests.integration.intake.test_typed_systems import data_of, fresh_manifest

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

ROUNDS = 6


def variant(document: dict[str, Any], n: int) -> dict[str, Any]:
    """The manifest with a different description: a new hash, so a new revision."""
    changed = copy.deepcopy(document)
    changed["metadata"]["description"] = f"variant {n}"
    return changed


async def test_concurrent_submissions_on_two_replicas_get_distinct_consecutive_revisions(
    local_stack: Any,
) -> None:
    # Two apps on the same database and topics stand for two replicas: each has its own
    # in-process locks, so only the database can keep them from numbering alike.
    settings = intake_settings(local_stack)
    document = fresh_manifest()
    headers = {"Content-Type": "application/json", **auth(PUBLISHER)}
    async with (
        app_client(create_app(settings)) as first,
        app_client(create_app(settings)) as second,
    ):
        answers: list[httpx.Response] = []
        for n in range(ROUNDS):
            answers += await asyncio.gather(
                first.post(
                    "/v1/systems", content=json.dumps(variant(document, 2 * n)), headers=headers
                ),
                second.post(
                    "/v1/systems", content=json.dumps(variant(document, 2 * n + 1)), headers=headers
                ),
            )
    assert [a.status_code for a in answers] == [202] * (2 * ROUNDS), [a.text for a in answers]
    answered = sorted(a.json()["revision"] for a in answers)
    assert answered == list(range(1, 2 * ROUNDS + 1))
    records = await Intake(
        client=first, settings=settings, kafka_bootstrap=local_stack.kafka_bootstrap
    ).records(LIFECYCLE, 2 * ROUNDS)
    published = [data_of(r)["revision"] for r in records]
    # In topic order: each event's revision is one more than the one before it.
    assert published == list(range(1, 2 * ROUNDS + 1))
