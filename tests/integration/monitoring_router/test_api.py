"""The router's HTTP API on the real stack: routes, silences, escalations, deliveries, auth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aigov_events.catalog import SilenceCreated, SilenceExpired
from aigov_events.topics import NOTIFICATIONS
from tests.integration.monitoring_router.conftest import (
    ADMIN,
    OWNER,
    PUBLISHER,
    READER,
    RouterUnderTest,
    auth,
)
from tests.unit.monitoring_router.conftest import raised, tier_assigned

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

HIGH_DRIFT = {
    "system": "support-bot",
    "tier": "high",
    "team": "support-ml",
    "signal": "drift",
    "severity": "critical",
}


class TestRoutes:
    async def test_route_test_lists_routes_and_receivers(self, router: RouterUnderTest) -> None:
        response = await router.client.post(
            "/v1/routes/test", json={"labels": HIGH_DRIFT}, headers=auth(READER)
        )
        assert response.status_code == 200
        body = response.json()
        assert body["receivers"] == ["pd", "slack"]
        page, team = body["routes"]
        assert (page["name"], page["continue"], page["group_wait"]) == ("page", True, "0s")
        assert page["group_labels"] == {"system": "support-bot", "signal": "drift"}
        assert (team["name"], team["group_interval"], team["repeat_interval"]) == (
            "team",
            "1s",
            "1h",
        )

    async def test_tree_is_effective_and_hides_secrets(self, router: RouterUnderTest) -> None:
        response = await router.client.get("/v1/routes", headers=auth(READER))
        assert response.status_code == 200
        body = response.json()
        assert body["route"]["receiver"] == "hook"
        assert [r["name"] for r in body["route"]["routes"]] == ["flaky", "broken", "page", "team"]
        assert body["route"]["routes"][2]["group_by"] == ["signal", "system"]  # inherited
        pd = next(r for r in body["receivers"] if r["name"] == "pd")
        assert pd["settings"]["routing_key"] == "**********"
        assert "R0UTINGKEY" not in response.text

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("get", "/v1/routes"),
            ("post", "/v1/routes/test"),
            ("get", "/v1/silences"),
            ("get", "/v1/escalations"),
            ("get", "/v1/deliveries"),
            ("post", "/v1/probes/x"),
        ],
    )
    async def test_token_required(self, router: RouterUnderTest, method: str, path: str) -> None:
        response = await router.client.request(method, path, json={})
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"

    async def test_reload_needs_admin(self, router: RouterUnderTest) -> None:
        assert (
            await router.client.post("/v1/routes/reload", headers=auth(OWNER))
        ).status_code == 403
        response = await router.client.post("/v1/routes/reload", headers=auth(ADMIN))
        assert response.status_code == 200

    async def test_reload_refuses_a_broken_file_and_keeps_the_old_one(
        self, router: RouterUnderTest
    ) -> None:
        path = router.settings.routing_config
        assert path is not None
        good = path.read_text(encoding="utf-8")
        path.write_text(good.replace("receiver: pd\n", "receiver: nowhere\n", 1), encoding="utf-8")
        try:
            response = await router.client.post("/v1/routes/reload", headers=auth(ADMIN))
        finally:
            path.write_text(good, encoding="utf-8")
        assert response.status_code == 422
        assert "route.routes[2].receiver: unknown receiver 'nowhere'" in response.json()["detail"]
        still = await router.client.post(
            "/v1/routes/test", json={"labels": HIGH_DRIFT}, headers=auth(READER)
        )
        assert still.json()["receivers"] == ["pd", "slack"]

    async def test_bad_label_set_is_422(self, router: RouterUnderTest) -> None:
        response = await router.client.post(
            "/v1/routes/test", json={"labels": {"a": 1}}, headers=auth(READER)
        )
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"


class TestSilences:
    async def test_lifecycle_is_audited_and_mutes(self, router: RouterUnderTest) -> None:
        ends = datetime.now(UTC) + timedelta(hours=2)
        created = await router.client.post(
            "/v1/silences",
            json={
                "matchers": ['system="doc-search"', 'signal="drift"'],
                "ends_at": ends.isoformat(),
                "comment": "re-indexing",
            },
            headers=auth(OWNER),
        )
        assert created.status_code == 201
        silence: dict[str, Any] = created.json()
        assert (silence["system_id"], silence["created_by"], silence["active"]) == (
            "doc-search",
            "dana.kim",
            True,
        )
        # A silenced drift alert is not delivered; an unsilenced one of the same system is.
        await router.publish(
            tier_assigned("doc-search", "low"),
            raised("doc-search", signal="drift", starts_at=datetime.now(UTC)),
            raised("doc-search", signal="bias", starts_at=datetime.now(UTC)),
        )
        [hit] = await router.receivers.wait_for("/hook")
        assert hit.json()["groupLabels"]["signal"] == "bias"
        listed = await router.client.get(
            "/v1/silences", params={"system": "doc-search"}, headers=auth(READER)
        )
        assert [s["silence_id"] for s in listed.json()] == [silence["silence_id"]]
        expired = await router.client.delete(
            f"/v1/silences/{silence['silence_id']}", headers=auth(OWNER)
        )
        assert expired.status_code == 200
        assert (expired.json()["active"], expired.json()["expired_by"]) == (False, "dana.kim")
        # Once expired, the drift group's next flush delivers it.
        hits = await router.receivers.wait_for("/hook", 2)
        assert hits[1].json()["groupLabels"]["signal"] == "drift"
        events = await router.published(
            NOTIFICATIONS, 2, where=lambda e: isinstance(e.payload, SilenceCreated | SilenceExpired)
        )
        assert [type(e.payload).__name__ for e in events] == ["SilenceCreated", "SilenceExpired"]
        assert events[0].payload.comment == "re-indexing"
        assert events[1].payload.expired_by == "dana.kim"

    @pytest.mark.parametrize(
        ("body", "detail"),
        [
            ({"matchers": ['signal="drift"'], "comment": "c"}, "exactly one system"),
            ({"matchers": ['system="a"', "oops"], "comment": "c"}, "invalid matcher"),
            ({"matchers": ['system="a"'], "comment": "c", "past": True}, "in the past"),
        ],
    )
    async def test_invalid_silence_is_422(
        self, router: RouterUnderTest, body: dict[str, Any], detail: str
    ) -> None:
        past = body.pop("past", False)
        ends = datetime.now(UTC) + (timedelta(hours=-1) if past else timedelta(hours=1))
        if past:
            body["starts_at"] = (ends - timedelta(hours=1)).isoformat()
        response = await router.client.post(
            "/v1/silences", json={**body, "ends_at": ends.isoformat()}, headers=auth(OWNER)
        )
        assert response.status_code == 422
        assert detail in response.json()["detail"]

    async def test_roles(self, router: RouterUnderTest) -> None:
        body = {
            "matchers": ['system="a"'],
            "ends_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            "comment": "c",
        }
        assert (
            await router.client.post("/v1/silences", json=body, headers=auth(READER))
        ).status_code == 403
        assert (
            await router.client.post("/v1/silences", json=body, headers=auth(PUBLISHER))
        ).status_code == 403
        assert (await router.client.get("/v1/silences", headers=auth(PUBLISHER))).status_code == 403
        missing = await router.client.delete("/v1/silences/s-nope", headers=auth(OWNER))
        assert missing.status_code == 404


async def test_openapi_documents_every_route(router: RouterUnderTest) -> None:
    schema = (await router.client.get("/openapi.json")).json()
    paths = set(schema["paths"])
    assert {
        "/v1/routes",
        "/v1/routes/test",
        "/v1/routes/reload",
        "/v1/silences",
        "/v1/silences/{silence_id}",
        "/v1/escalations",
        "/v1/probes/{system_id}",
        "/v1/probes/{system_id}/{probe_id}",
        "/v1/deliveries",
    } <= paths
    responses = schema["paths"]["/v1/silences"]["post"]["responses"]
    assert {"201", "401", "403", "422"} <= set(responses)
