"""A running tiering service for tests, on either bus: an HTTP client, a publisher, a decision reader."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final

import httpx
from pydantic import SecretStr

from aigov_events.bus import Bus
from aigov_events.catalog import (
    AISystemManifest,
    ApprovalGranted,
    EvaluationCompleted,
    EventPayload,
    SystemRegistered,
    SystemUpdated,
)
from aigov_events.envelope import from_kafka_record
from aigov_events.message import DomainEvent, decode, new_event
from aigov_events.producer import Publisher
from aigov_events.testing import read_records
from aigov_events.topics import DECISIONS
from aigov_runtime.resources import open_bus
from aigov_runtime.testing import app_client
from aigov_tiering.app import create_app
from aigov_tiering.settings import Settings

TOKENS: Final[dict[str, tuple[str, list[str]]]] = {
    "tok-reader-0123456789abcdef": ("dashboard", ["reader"]),
    "tok-publisher-0123456789abc": ("ci-bot", ["publisher"]),
    "tok-admin-0123456789abcdefg": ("admin", ["admin"]),
}
READER: Final = "tok-reader-0123456789abcdef"
PUBLISHER: Final = "tok-publisher-0123456789abc"
ADMIN: Final = "tok-admin-0123456789abcdefg"
VERSION: Final = "2026.11.3"


def auth(token: str) -> dict[str, str]:
    """The Authorization header for `token`."""
    return {"Authorization": f"Bearer {token}"}


def token_settings() -> dict[str, Any]:
    """The `auth_tokens` setting for TOKENS."""
    return {
        "auth_tokens": SecretStr(
            json.dumps({t: {"principal": p, "roles": r} for t, (p, r) in TOKENS.items()})
        )
    }


@dataclass
class RunningTiering:
    """A started tiering app, its HTTP client, and a bus of our own to publish and read on."""

    client: httpx.AsyncClient
    settings: Settings
    bus: Bus

    async def publish(self, *payloads: EventPayload) -> list[DomainEvent[Any]]:
        """Publish lifecycle events as intake would (actor ci-bot)."""
        events = [new_event(p, source="/aigov/intake/test", actor="ci-bot") for p in payloads]
        await Publisher(self.bus).publish_batch(events)
        return events

    async def republish(self, event: DomainEvent[Any]) -> None:
        """Deliver the same event (same id) again, as after a consumer crash."""
        await Publisher(self.bus).publish(event)

    async def decisions(self, count: int, *, max_wait: float = 20.0) -> list[DomainEvent[Any]]:
        """The first `count` (at least) decisions tiering published, decoded, in log order."""
        records = await read_records(self.bus, [DECISIONS], count=count, max_wait=max_wait)
        return [decode(from_kafka_record(r.value, r.headers)) for r in records]


@asynccontextmanager
async def running_tiering(settings: Settings) -> AsyncIterator[RunningTiering]:
    """Start tiering with `settings` (consumer joined, topics created) and a test bus beside it."""
    async with app_client(create_app(settings)) as client:
        bus = open_bus(settings, client_id="tiering-test")
        await bus.start()
        try:
            yield RunningTiering(client=client, settings=settings, bus=bus)
        finally:
            await bus.stop()


def registered(document: dict[str, Any], *, system_id: str | None = None) -> SystemRegistered:
    """`system.registered` revision 1 of `document` (renamed to `system_id` if given)."""
    manifest = _manifest(document, system_id)
    return SystemRegistered(
        system_id=manifest.metadata.id,
        revision=1,
        manifest_sha256=manifest.content_sha256(),
        manifest=manifest,
    )


def updated(
    document: dict[str, Any],
    *,
    revision: int,
    previous: SystemRegistered | SystemUpdated,
    system_id: str | None = None,
) -> SystemUpdated:
    """`system.updated` to `revision`, following `previous` (registered or updated)."""
    manifest = _manifest(document, system_id)
    return SystemUpdated(
        system_id=manifest.metadata.id,
        revision=revision,
        manifest_sha256=manifest.content_sha256(),
        previous_manifest_sha256=previous.manifest_sha256,
        manifest=manifest,
    )


def approval(system_id: str, *, version: str = VERSION) -> ApprovalGranted:
    """An approver's `approval.granted` of a release."""
    return ApprovalGranted(system_id=system_id, version=version, rationale="Meets the minimums.")


def evaluation(system_id: str, *, version: str = VERSION, **metrics: float) -> EvaluationCompleted:
    """`evaluation.completed` of the release-evaluation suite with `metrics` (lower is better
    for `*_rate` metrics, as in the public example)."""
    return EvaluationCompleted.model_validate(
        {
            "system_id": system_id,
            "version": version,
            "suite": "release-evaluation",
            "metrics": [
                {"name": name, "value": value, "higher_is_better": not name.endswith("_rate")}
                for name, value in metrics.items()
            ],
            "datasets": [{"id": "eval-set", "version": "7"}],
            "run": {"id": "8812"},
        }
    )


def _manifest(document: dict[str, Any], system_id: str | None) -> AISystemManifest:
    if system_id is not None:
        document = {**document, "metadata": {**document["metadata"], "id": system_id}}
    return AISystemManifest.model_validate(document)
