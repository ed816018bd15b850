"""`POST /v1/systems` on the real broker and database: examples, revisions, YAML/JSON, errors."""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import yaml
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from aigov_events.bus import IncomingRecord
from aigov_events.catalog import AISystemManifest, SystemRegistered, SystemRetired, SystemUpdated
from aigov_events.envelope import from_kafka_record
from aigov_events.topics import LIFECYCLE
from aigov_intake.app import create_app
from aigov_runtime.testing import app_client
from tests.fixtures import SYSTEMS
from tests.integration.intake.conftest import (
    APPROVER,
    OWNER,
    PUBLISHER,
    READER,
    Intake,
    auth,
    intake_settings,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

EXAMPLE_FILES = sorted(path.name for path in SYSTEMS.glob("*.yaml"))
if not EXAMPLE_FILES:
    raise FileNotFoundError(f"no example manifests (*.yaml) in {SYSTEMS}")

YAML = {"Content-Type": "application/yaml"}
JSON = {"Content-Type": "application/json"}


def example(name: str = "support-summarizer.yaml") -> dict[str, Any]:
    """An example manifest as a document."""
    document: dict[str, Any] = yaml.safe_load((SYSTEMS / name).read_text())
    return document


def fresh_manifest(**spec_changes: Any) -> dict[str, Any]:
    """The support-summarizer example under a fresh id (intake's tables outlive test runs)."""
    document = copy.deepcopy(example())
    document["metadata"]["id"] = f"sys-{uuid.uuid4().hex[:10]}"
    document["spec"].update(spec_changes)
    return document


def digest(document: dict[str, Any]) -> str:
    """The manifest hash intake must compute."""
    return AISystemManifest.model_validate(document).content_sha256()


def data_of(record: IncomingRecord) -> dict[str, Any]:
    """The data of a published event."""
    data = from_kafka_record(record.value, record.headers).data
    assert isinstance(data, dict)
    return data


def assert_contains(published: Any, submitted: Any) -> None:
    """Every value the client submitted is in the published manifest, unchanged."""
    if isinstance(submitted, dict):
        assert isinstance(published, dict)
        for key, value in submitted.items():
            assert key in published, key
            assert_contains(published[key], value)
    else:
        assert published == submitted


@pytest_asyncio.fixture
async def private_intake(local_stack: Any) -> AsyncIterator[Intake]:
    """Intake on a database of its own, for manifests whose fixed ids earlier runs registered."""
    shared_url = make_url(local_stack.postgres_url)
    name = f"aigov_typed_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(shared_url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = shared_url.set(database=name).render_as_string(hide_password=False)
        settings = intake_settings(local_stack, database_url=url)
        async with app_client(create_app(settings)) as client:
            yield Intake(
                client=client, settings=settings, kafka_bootstrap=local_stack.kafka_bootstrap
            )
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def submit(
    intake: Intake, document: dict[str, Any], *, as_yaml: bool = False, token: str = PUBLISHER
) -> Any:
    """POST a manifest as JSON or YAML."""
    if as_yaml:
        body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode()
        return await intake.client.post(
            "/v1/systems", content=body, headers={**YAML, **auth(token)}
        )
    return await intake.client.post(
        "/v1/systems", content=json.dumps(document), headers={**JSON, **auth(token)}
    )


class TestExamples:
    @pytest.mark.parametrize("name", EXAMPLE_FILES)
    @pytest.mark.parametrize("content_type", ["application/yaml", "text/yaml", "application/json"])
    async def test_example_manifest_registers_unchanged(
        self, private_intake: Intake, name: str, content_type: str
    ) -> None:
        raw = (SYSTEMS / name).read_bytes()
        document = example(name)
        body = json.dumps(document).encode() if content_type == "application/json" else raw
        response = await private_intake.client.post(
            "/v1/systems", content=body, headers={"Content-Type": content_type, **auth(OWNER)}
        )
        assert response.status_code == 202, response.text
        system_id = document["metadata"]["id"]
        answer = response.json()
        assert answer == {
            "system_id": system_id,
            "revision": 1,
            "manifest_sha256": digest(document),
            "changed": True,
            "event_id": answer["event_id"],
            "event_type": SystemRegistered.event_type,
            "previous_manifest_sha256": None,
            "duplicate": False,
            "warnings": [],
            "source": "/aigov/intake/systems",
        }

        [record] = await private_intake.records(LIFECYCLE, 1)
        assert record.key == system_id.encode()
        headers = dict(record.headers)
        assert headers["ce_type"] == SystemRegistered.event_type.encode()
        assert headers["ce_id"] == answer["event_id"].encode()
        assert headers["ce_source"] == b"/aigov/intake/systems"
        assert headers["ce_actor"] == b"dana.kim"
        data = data_of(record)
        assert data == {
            "system_id": system_id,
            "revision": 1,
            "manifest_sha256": digest(document),
            # The catalog's form: the document plus defaults it left out (`promptTemplates: []`).
            "manifest": AISystemManifest.model_validate(document).to_document(),
        }
        assert_contains(data["manifest"], document)


class TestRevisions:
    async def test_register_then_same_then_changed_manifest(self, intake: Intake) -> None:
        first = fresh_manifest()
        system_id = first["metadata"]["id"]
        registered = await submit(intake, first, as_yaml=True)
        assert registered.status_code == 202, registered.text
        assert registered.json()["revision"] == 1

        # The same manifest, now as JSON with keys in another order: same hash, no event.
        reordered = dict(reversed(list(first.items())))
        same = await submit(intake, reordered)
        assert same.status_code == 200, same.text
        assert same.json() == {
            "system_id": system_id,
            "revision": 1,
            "manifest_sha256": digest(first),
            "changed": False,
            "event_id": None,
            "event_type": None,
            "previous_manifest_sha256": None,
            "duplicate": False,
            "warnings": [],
            "source": None,
        }

        second = copy.deepcopy(first)
        second["spec"]["deployment"]["regions"] = ["EU"]
        updated = await submit(intake, second, as_yaml=True)
        assert updated.status_code == 202, updated.text
        answer = updated.json()
        assert answer["revision"] == 2
        assert answer["changed"] is True
        assert answer["event_type"] == SystemUpdated.event_type
        assert answer["previous_manifest_sha256"] == digest(first)

        records = await intake.records(LIFECYCLE, 3, max_wait=5)
        assert [dict(r.headers)["ce_type"].decode() for r in records] == [
            SystemRegistered.event_type,
            SystemUpdated.event_type,
        ]
        data = data_of(records[1])
        assert data["revision"] == 2
        assert data["manifest_sha256"] == digest(second)
        assert data["previous_manifest_sha256"] == digest(first)
        assert data["manifest"]["spec"]["deployment"]["regions"] == ["EU"]
        assert records[1].key == system_id.encode()

    async def test_revisions_keep_counting(self, intake: Intake) -> None:
        document = fresh_manifest()
        for revision, purpose in enumerate(["one", "two", "three"], start=1):
            document["spec"]["purpose"] = f"Purpose {purpose}."
            response = await submit(intake, document)
            assert response.status_code == 202, response.text
            assert response.json()["revision"] == revision

    async def test_unknown_fields_are_kept_and_reported(self, intake: Intake) -> None:
        document = fresh_manifest(riskNotes="reviewed by the AI board")
        document["metadata"]["costCentre"] = "cc-4410"
        response = await submit(intake, document, as_yaml=True)
        assert response.status_code == 202, response.text
        warnings = response.json()["warnings"]
        assert len(warnings) == 2
        assert warnings[0].startswith("metadata.costCentre: ")
        assert warnings[1].startswith("spec.riskNotes: ")
        [record] = await intake.records(LIFECYCLE, 1)
        manifest = data_of(record)["manifest"]
        assert manifest["spec"]["riskNotes"] == "reviewed by the AI board"
        assert manifest["metadata"]["costCentre"] == "cc-4410"

    async def test_a_retired_system_is_not_revived(self, intake: Intake) -> None:
        document = fresh_manifest()
        system_id = document["metadata"]["id"]
        assert (await submit(intake, document)).status_code == 202
        retire = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "https://ci.example.com/tests",
            "type": SystemRetired.event_type,
            "time": "2026-11-20T10:00:00Z",
            "data": {"system_id": system_id, "reason": "Replaced."},
        }
        retired = await intake.client.post(
            "/v1/events",
            content=json.dumps(retire),
            headers={"Content-Type": "application/cloudevents+json", **auth(PUBLISHER)},
        )
        assert retired.status_code == 202, retired.text
        document["spec"]["purpose"] = "Back in service."
        response = await submit(intake, document)
        assert response.status_code == 409
        assert "retired" in response.json()["detail"]


class TestRoles:
    @pytest.mark.parametrize("token", [READER, APPROVER])
    async def test_only_owners_and_publishers_submit(self, intake: Intake, token: str) -> None:
        response = await submit(intake, fresh_manifest(), token=token)
        assert response.status_code == 403
        assert "owner" in response.json()["detail"]

    async def test_a_reader_learns_nothing_about_an_unchanged_manifest(
        self, intake: Intake
    ) -> None:
        document = fresh_manifest()
        assert (await submit(intake, document)).status_code == 202
        assert (await submit(intake, document, token=READER)).status_code == 403


class TestBadInput:
    async def test_wrong_api_version_and_kind_are_422_at_their_paths(self, intake: Intake) -> None:
        document = {**fresh_manifest(), "apiVersion": "aigov.io/v2", "kind": "Model"}
        response = await submit(intake, document, as_yaml=True)
        assert response.status_code == 422
        locations = [error["loc"] for error in response.json()["errors"]]
        assert locations == [["body", "apiVersion"], ["body", "kind"]]

    async def test_missing_and_invalid_fields_are_422_with_every_path(self, intake: Intake) -> None:
        document = fresh_manifest()
        del document["spec"]["users"]["includesMinors"]
        document["metadata"]["id"] = "Not A Slug"
        document["spec"]["genai"]["promptTemplates"][0]["sha256"] = "abc"
        response = await submit(intake, document)
        assert response.status_code == 422
        problem = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        locations = [error["loc"] for error in problem["errors"]]
        assert ["body", "metadata", "id"] in locations
        assert ["body", "spec", "users", "includesMinors"] in locations
        assert ["body", "spec", "genai", "promptTemplates", 0, "sha256"] in locations
        assert await intake.records(LIFECYCLE, 1, max_wait=2) == []

    async def test_yaml_values_json_cannot_hold_are_422(self, intake: Intake) -> None:
        body = (
            (SYSTEMS / "code-assistant.yaml")
            .read_text()
            .replace("  humanOversight:", "  reviewedOn: 2026-11-20\n  humanOversight:")
        )
        response = await intake.client.post(
            "/v1/systems", content=body, headers={**YAML, **auth(PUBLISHER)}
        )
        assert response.status_code == 422
        [error] = response.json()["errors"]
        assert error["loc"] == ["body", "spec", "reviewedOn"]
        assert "quote it" in error["msg"]

    @pytest.mark.parametrize(
        ("content_type", "body"),
        [
            ("application/yaml", b"apiVersion: aigov.io/v1\nkind: [AISystem\n"),
            ("application/json", b'{"apiVersion": "aigov.io/v1",'),
            ("application/json", b"[" * 100_000 + b"]" * 100_000),
        ],
    )
    async def test_malformed_bodies_are_400(
        self, intake: Intake, content_type: str, body: bytes
    ) -> None:
        response = await intake.client.post(
            "/v1/systems", content=body, headers={"Content-Type": content_type, **auth(PUBLISHER)}
        )
        assert response.status_code == 400
        assert "malformed" in response.json()["detail"]

    async def test_a_yaml_alias_bomb_is_refused(self, intake: Intake) -> None:
        levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
        levels += [
            f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join([f'*{chr(97 + n)}'] * 10)}]"
            for n in range(6)
        ]
        response = await intake.client.post(
            "/v1/systems", content="\n".join(levels).encode(), headers={**YAML, **auth(PUBLISHER)}
        )
        assert response.status_code == 413

    async def test_a_manifest_too_large_for_one_event_is_413_not_503(self, intake: Intake) -> None:
        document = fresh_manifest(appendix="x" * 1_100_000)
        response = await submit(intake, document)
        assert response.status_code == 413
        assert "at most" in response.json()["detail"]

    async def test_other_content_types_are_415(self, intake: Intake) -> None:
        response = await intake.client.post(
            "/v1/systems",
            content=b"apiVersion: aigov.io/v1",
            headers={"Content-Type": "text/plain", **auth(PUBLISHER)},
        )
        assert response.status_code == 415
        assert "application/yaml" in response.headers["accept-post"]


class TestAllDigitDigests:
    """A manifest whose `sha256` is 64 decimal digits is that string, not an integer."""

    @pytest.mark.parametrize("sha256", ["1234567890" * 6 + "1234", "0" + "9876543210" * 6 + "987"])
    async def test_an_example_manifest_with_an_all_digit_sha256_is_accepted(
        self, intake: Intake, sha256: str
    ) -> None:
        system = f"sys-{uuid.uuid4().hex[:10]}"
        text = (SYSTEMS / "support-summarizer.yaml").read_text()
        text = text.replace("id: support-summarizer\n", f"id: {system}\n", 1)
        text = re.sub(r"(sha256: )[0-9a-f]{64}", rf"\g<1>{sha256}", text, count=1)
        assert sha256 in text
        assert system in text
        response = await intake.client.post(
            "/v1/systems", content=text.encode(), headers={**YAML, **auth(PUBLISHER)}
        )
        assert response.status_code == 202, response.text
        [record] = await intake.records(LIFECYCLE, 1)
        [template] = data_of(record)["manifest"]["spec"]["genai"]["promptTemplates"]
        assert template["sha256"] == sha256
