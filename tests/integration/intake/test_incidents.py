"""Every incident can be listed and stepped: reported through intake, or opened by the router.

The monitoring router publishes `incident.reported` (actor `aigov-monitoring-router`) straight
on `aigov.signals` when a route opens an incident from an alert. These tests publish such
events onto the real broker as the router does, and check that intake's consumer records
them (once, never over an existing row, only from the router) so `GET /v1/incidents` lists
them and the acknowledge / contain / resolve endpoints work for them.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from pydantic import SecretStr

from aigov_events.actors import MONITORING_ROUTER
from aigov_events.bus import NamespacedBus
from aigov_events.catalog import IncidentAcknowledged, IncidentReported, IncidentSeverity
from aigov_events.envelope import from_kafka_record
from aigov_events.kafka_bus import KafkaBus
from aigov_events.message import DomainEvent, new_event
from aigov_events.producer import Publisher
from aigov_events.topics import SIGNALS
from aigov_intake.app import create_app
from aigov_runtime.testing import app_client
from tests.integration.intake.conftest import (
    APPROVER,
    OWNER,
    PUBLISHER,
    READER,
    TOKENS,
    Intake,
    auth,
    intake_settings,
)
from tests.integration.intake.requests import fresh_system, manifest

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

JSON = {"Content-Type": "application/json"}
ROUTER_SOURCE = "/aigov/monitoring-router"


def router_report(system: str, **changes: Any) -> IncidentReported:
    """The `incident.reported` payload the router publishes for an alert-opened incident."""
    fingerprint = uuid.uuid4().hex[:16]
    fields: dict[str, Any] = {
        "system_id": system,
        "incident_id": f"alert-{fingerprint}-1796172094",
        "version": "2026.11.3",
        "severity": IncidentSeverity.CRITICAL,
        "category": "safety",
        "summary": "Safety classifier flagged 4% of summaries in the last hour",
        "reported_by": "monitoring route high-safety-incident",
        "serious": False,
        "occurred_at": datetime(2026, 11, 20, 9, 42, tzinfo=UTC),
        "alert_ids": [f"A-{fingerprint}"],
        **changes,
    }
    return IncidentReported(**fields)


class Bus:
    """Publishes onto the test intake's topics as another service would (not through HTTP)."""

    def __init__(self, intake: Intake) -> None:
        self._bus = NamespacedBus(KafkaBus(intake.kafka_bootstrap), intake.settings.topic_prefix)
        self.publisher = Publisher(self._bus)

    async def publish(
        self, payload: IncidentReported, *, actor: str = MONITORING_ROUTER, **options: Any
    ) -> DomainEvent[IncidentReported]:
        event = new_event(payload, source=ROUTER_SOURCE, actor=actor, **options)
        await self.publisher.publish(event)
        return event


@pytest_asyncio.fixture
async def bus(intake: Intake) -> AsyncIterator[Bus]:
    publisher = Bus(intake)
    await publisher._bus.start()
    try:
        yield publisher
    finally:
        await publisher._bus.stop()


async def eventually(
    intake: Intake, path: str, ready: Callable[[Any], bool], token: str = READER
) -> Any:
    """GET `path` until `ready(json)` holds (the consumer runs asynchronously), at most 20 s."""
    body: Any = None
    for _ in range(200):
        response = await intake.client.get(path, headers=auth(token))
        body = response.json()
        if ready(body):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path} never became ready: {body}")


async def listed(intake: Intake, incident_id: str, token: str = READER) -> dict[str, Any]:
    """The incident once `GET /v1/incidents` lists it."""
    body = await eventually(
        intake,
        "/v1/incidents?limit=500",
        lambda b: any(i["incident_id"] == incident_id for i in b["incidents"]),
        token,
    )
    [found] = [i for i in body["incidents"] if i["incident_id"] == incident_id]
    assert isinstance(found, dict)
    return found


async def post(intake: Intake, path: str, body: Any, token: str = PUBLISHER) -> Any:
    return await intake.client.post(path, content=json.dumps(body), headers={**JSON, **auth(token)})


def report_body(system: str, **changes: Any) -> dict[str, Any]:
    return {
        "system": system,
        "severity": "high",
        "category": "privacy",
        "summary": "A summary included another customer's contact details",
        "reported_by": "support agent via in-app feedback",
        "serious": True,
        "occurred_at": "2026-11-20T09:42:00Z",
        "version": "2026.11.3",
        **changes,
    }


class TestRouterOpenedIncidents:
    async def test_consumed_then_acknowledged_contained_resolved(
        self, intake: Intake, bus: Bus
    ) -> None:
        system = fresh_system()
        payload = router_report(system)
        event = await bus.publish(payload)
        incident = await listed(intake, payload.incident_id)
        assert incident == {
            "incident_id": payload.incident_id,
            "system_id": system,
            "status": "reported",
            "severity": "critical",
            "category": "safety",
            "summary": payload.summary,
            "serious": False,
            "opened_by": "alert",
            "reported_by": "monitoring route high-safety-incident",
            "version": "2026.11.3",
            "reported_at": event.time.isoformat().replace("+00:00", "Z"),
            "updated_at": event.time.isoformat().replace("+00:00", "Z"),
        }

        base = f"/v1/incidents/{payload.incident_id}"
        acknowledged = await post(intake, f"{base}/acknowledge", {"note": "on it"}, token=OWNER)
        assert acknowledged.status_code == 202, acknowledged.text
        assert acknowledged.json()["status"] == "acknowledged"
        assert acknowledged.json()["system_id"] == system

        records = await intake.records(SIGNALS, 2)
        published = [from_kafka_record(r.value, r.headers) for r in records]
        [ack] = [e for e in published if e.type == IncidentAcknowledged.event_type]
        assert ack.data == {
            "system_id": system,
            "incident_id": payload.incident_id,
            "note": "on it",
        }
        assert ack.extensions["actor"] == "dana.kim"

        one = await intake.client.get(base, headers=auth(READER))
        assert one.status_code == 200, one.text
        assert one.json()["status"] == "acknowledged"
        assert one.json()["opened_by"] == "alert"
        assert one.json()["updated_at"] > incident["updated_at"]

        again = await post(intake, f"{base}/acknowledge", {}, token=OWNER)
        assert again.status_code == 409, "the lifecycle order rules hold for router incidents"
        contained = await post(intake, f"{base}/contain", {"note": "filter on"}, token=PUBLISHER)
        resolved = await post(intake, f"{base}/resolve", {"resolution": "fixed"}, token=OWNER)
        assert (contained.status_code, resolved.status_code) == (202, 202)
        final = (await intake.client.get(base, headers=auth(READER))).json()
        assert final["status"] == "resolved"

    async def test_a_redelivered_report_is_recorded_once_and_steps_survive_it(
        self, intake: Intake, bus: Bus
    ) -> None:
        system = fresh_system()
        payload = router_report(system)
        event = await bus.publish(payload)
        await listed(intake, payload.incident_id)
        acknowledged = await post(
            intake, f"/v1/incidents/{payload.incident_id}/acknowledge", {}, token=OWNER
        )
        assert acknowledged.status_code == 202
        # The same event again (a redelivery), then a marker to know the consumer got past it.
        await bus.publisher.publish(event)
        marker = router_report(system)
        await bus.publish(marker)
        await listed(intake, marker.incident_id)
        answer = await intake.client.get(f"/v1/incidents?system={system}", headers=auth(READER))
        by_id = {i["incident_id"]: i for i in answer.json()["incidents"]}
        assert set(by_id) == {payload.incident_id, marker.incident_id}
        assert by_id[payload.incident_id]["status"] == "acknowledged"

    async def test_only_the_routers_reports_are_recorded(self, intake: Intake, bus: Bus) -> None:
        system = fresh_system()
        forged = router_report(system)
        await bus.publish(forged, actor="ml-engineer")
        marker = router_report(system)
        await bus.publish(marker)
        await listed(intake, marker.incident_id)
        missing = await intake.client.get(
            f"/v1/incidents/{forged.incident_id}", headers=auth(READER)
        )
        assert missing.status_code == 404

    async def test_an_incident_reported_through_intake_is_not_overwritten(
        self, intake: Intake, bus: Bus
    ) -> None:
        system = fresh_system()
        reported = await post(intake, "/v1/incidents", report_body(system), token=OWNER)
        assert reported.status_code == 202, reported.text
        incident_id = reported.json()["incident_id"]
        await bus.publish(router_report(system, incident_id=incident_id))
        marker = router_report(system)
        await bus.publish(marker)
        await listed(intake, marker.incident_id)
        kept = (
            await intake.client.get(f"/v1/incidents/{incident_id}", headers=auth(READER))
        ).json()
        assert kept["opened_by"] == "report"
        assert kept["reported_by"] == "dana.kim"
        assert (kept["severity"], kept["category"], kept["serious"]) == ("high", "privacy", True)

    async def test_the_404_names_both_ways_an_incident_is_known(self, intake: Intake) -> None:
        for path in ("/v1/incidents/alert-nosuch-1", "/v1/incidents/alert-nosuch-1/acknowledge"):
            if path.endswith("acknowledge"):
                response = await post(intake, path, {}, token=OWNER)
            else:
                response = await intake.client.get(path, headers=auth(READER))
            assert response.status_code == 404
            assert response.json()["detail"] == (
                "no incident 'alert-nosuch-1' is known (neither reported through intake nor "
                "opened by the monitoring router)"
            )


class TestListing:
    async def test_a_report_through_intake_is_listed_with_its_details(self, intake: Intake) -> None:
        system = fresh_system()
        before = datetime.now(UTC)
        reported = await post(intake, "/v1/incidents", report_body(system))
        incident_id = reported.json()["incident_id"]
        answer = await intake.client.get(f"/v1/incidents?system={system}", headers=auth(READER))
        assert answer.status_code == 200
        [incident] = answer.json()["incidents"]
        reported_at = datetime.fromisoformat(incident.pop("reported_at"))
        assert before - timedelta(seconds=1) <= reported_at <= datetime.now(UTC)
        assert incident.pop("updated_at") is not None
        assert incident == {
            "incident_id": incident_id,
            "system_id": system,
            "status": "reported",
            "severity": "high",
            "category": "privacy",
            "summary": "A summary included another customer's contact details",
            "serious": True,
            "opened_by": "report",
            "reported_by": "ci-bot",
            "version": "2026.11.3",
        }

    async def test_filters_and_newest_first(self, intake: Intake, bus: Bus) -> None:
        system = fresh_system()
        first = (await post(intake, "/v1/incidents", report_body(system))).json()["incident_id"]
        second = (await post(intake, "/v1/incidents", report_body(system))).json()["incident_id"]
        third = (await post(intake, "/v1/incidents", report_body(system))).json()["incident_id"]
        await post(intake, f"/v1/incidents/{second}/acknowledge", {})
        await post(intake, f"/v1/incidents/{third}/resolve", {"resolution": "done"})
        alert = router_report(system)
        await bus.publish(alert)
        await listed(intake, alert.incident_id)

        async def ids(query: str) -> list[str]:
            response = await intake.client.get(
                f"/v1/incidents?system={system}&{query}", headers=auth(READER)
            )
            assert response.status_code == 200, response.text
            return [i["incident_id"] for i in response.json()["incidents"]]

        assert await ids("") == [alert.incident_id, third, second, first]
        assert await ids("limit=2") == [alert.incident_id, third]
        assert await ids("status=reported") == [alert.incident_id, first]
        assert await ids("status=acknowledged&status=resolved") == [third, second]
        assert await ids("status=acknowledged,resolved") == [third, second]
        assert await ids("opened_by=alert") == [alert.incident_id]
        assert await ids("opened_by=report&status=reported") == [first]
        other = await intake.client.get(
            f"/v1/incidents?system={fresh_system()}", headers=auth(READER)
        )
        assert other.json() == {"incidents": []}

    @pytest.mark.parametrize(
        ("query", "field", "says"),
        [
            ("limit=1000", "limit", "500"),
            ("limit=0", "limit", "1"),
            ("status=open", "status", "reported"),
            ("status=reported,,resolved", "status", "reported"),
            ("opened_by=human", "opened_by", "report"),
            ("system=Not_An_Id", "system", "pattern"),
        ],
    )
    async def test_bad_filters_are_422_naming_them(
        self, intake: Intake, query: str, field: str, says: str
    ) -> None:
        response = await intake.client.get(f"/v1/incidents?{query}", headers=auth(READER))
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["errors"][0]["loc"][:2] == ["query", field]
        assert says in problem["detail"]

    async def test_unknown_query_parameters_are_422_naming_them(self, intake: Intake) -> None:
        response = await intake.client.get("/v1/incidents?sytem=x&state=y", headers=auth(READER))
        assert response.status_code == 422
        assert "'state', 'sytem'" in response.json()["detail"]
        one = await intake.client.get("/v1/incidents/INC-X?verbose=1", headers=auth(READER))
        assert one.status_code == 422
        assert "'verbose'" in one.json()["detail"]

    @pytest.mark.parametrize("token", [READER, OWNER, PUBLISHER, APPROVER])
    async def test_every_role_may_read(self, intake: Intake, token: str) -> None:
        response = await intake.client.get("/v1/incidents", headers=auth(token))
        assert response.status_code == 200

    async def test_anonymous_is_401(self, intake: Intake) -> None:
        assert (await intake.client.get("/v1/incidents")).status_code == 401
        assert (await intake.client.get("/v1/incidents/INC-X")).status_code == 401

    async def test_malformed_ids_are_404(self, intake: Intake) -> None:
        for incident_id in ("%00", "x" * 300, "-leading-dash"):
            response = await intake.client.get(f"/v1/incidents/{incident_id}", headers=auth(READER))
            assert response.status_code == 404, incident_id


SCOPED_TEAM = "tok-scoped-team-0123456789"
SCOPED_SYSTEM = "tok-scoped-system-01234567"
OWNER_APPROVER = "tok-owner-approver-0123456"


def _tokens(scoped_system: str) -> SecretStr:
    entries: dict[str, dict[str, Any]] = {
        t: {"principal": p, "roles": r} for t, (p, r) in TOKENS.items()
    }
    entries[SCOPED_TEAM] = {
        "principal": "support-lead",
        "roles": ["reader"],
        "teams": ["support-ml"],
    }
    entries[SCOPED_SYSTEM] = {
        "principal": "claims-viewer",
        "roles": ["reader"],
        "systems": [scoped_system],
    }
    entries[OWNER_APPROVER] = {"principal": "pat.lee", "roles": ["owner", "approver"]}
    return SecretStr(json.dumps(entries))


class TestScopes:
    async def test_scoped_readers_see_only_their_teams_and_systems(self, local_stack: Any) -> None:
        support, devprod, listed_system = fresh_system(), fresh_system(), fresh_system()
        settings = intake_settings(local_stack, auth_tokens=_tokens(listed_system))
        async with app_client(create_app(settings)) as client:
            ids: dict[str, str] = {}
            for system, team in (
                (support, "support-ml"),
                (devprod, "devprod"),
                (listed_system, "devprod"),
            ):
                registered = await client.post(
                    "/v1/systems",
                    content=json.dumps(manifest(system, team=team)),
                    headers={**JSON, **auth(PUBLISHER)},
                )
                assert registered.status_code == 202, registered.text
                reported = await client.post(
                    "/v1/incidents",
                    content=json.dumps(report_body(system)),
                    headers={**JSON, **auth(PUBLISHER)},
                )
                ids[system] = reported.json()["incident_id"]

            async def visible(token: str) -> set[str]:
                answer = await client.get("/v1/incidents?limit=500", headers=auth(token))
                assert answer.status_code == 200
                return {i["system_id"] for i in answer.json()["incidents"]} & set(ids)

            assert await visible(READER) == {support, devprod, listed_system}
            assert await visible(SCOPED_TEAM) == {support}
            assert await visible(SCOPED_SYSTEM) == {listed_system}
            mine = await client.get(f"/v1/incidents/{ids[support]}", headers=auth(SCOPED_TEAM))
            theirs = await client.get(f"/v1/incidents/{ids[devprod]}", headers=auth(SCOPED_TEAM))
            assert mine.status_code == 200
            assert theirs.status_code == 404


class TestOwnerWaivers:
    async def test_an_owner_requests_and_another_decides(self, intake: Intake) -> None:
        system = fresh_system()
        body = {
            "system": system,
            "version": "2026.11.3",
            "controls": ["evaluation.prompt_injection"],
            "justification": "Fix ships next week.",
            "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        }
        requested = await post(intake, "/v1/waivers", body, token=OWNER)
        assert requested.status_code == 202, requested.text
        granted = await post(
            intake,
            f"/v1/waivers/{requested.json()['waiver_id']}/grant",
            {"rationale": "ok"},
            token=APPROVER,
        )
        assert granted.status_code == 202, granted.text

    async def test_an_owner_who_requested_may_not_decide(self, local_stack: Any) -> None:
        settings = intake_settings(local_stack, auth_tokens=_tokens(fresh_system()))
        async with app_client(create_app(settings)) as client:
            body = {
                "system": fresh_system(),
                "version": "2026.11.3",
                "controls": ["evaluation.prompt_injection"],
                "justification": "Fix ships next week.",
                "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
            }
            headers = {**JSON, **auth(OWNER_APPROVER)}
            requested = await client.post("/v1/waivers", content=json.dumps(body), headers=headers)
            assert requested.status_code == 202, requested.text
            waiver_id = requested.json()["waiver_id"]
            decided = await client.post(
                f"/v1/waivers/{waiver_id}/grant",
                content=json.dumps({"rationale": "mine"}),
                headers=headers,
            )
        assert decided.status_code == 403
        assert (
            decided.json()["detail"]
            == f"'pat.lee' requested waiver {waiver_id} and may not decide it"
        )

    async def test_a_reader_still_may_not_request(self, intake: Intake) -> None:
        body = {
            "system": fresh_system(),
            "version": "1",
            "controls": ["evaluation.prompt_injection"],
            "justification": "x",
            "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        }
        response = await post(intake, "/v1/waivers", body, token=READER)
        assert response.status_code == 403
        assert "needs one of: owner, publisher" in response.json()["detail"]
