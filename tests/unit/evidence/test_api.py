"""The query API in embedded mode: auth, errors, filters, cursors, release and control views."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from aigov_events.message import new_event
from tests.unit.evidence import events as ev
from tests.unit.evidence.harness import OWNER, PUBLISHER, READER, Harness, auth

pytestmark = pytest.mark.asyncio

SYSTEM = "api-summarizer"


async def seed(evidence: Harness) -> None:
    await evidence.publish(
        ev.registered(SYSTEM),
        ev.high_tier(SYSTEM),
        ev.evaluation(SYSTEM, ev.request_body("evaluation.json")),
        ev.artifact(SYSTEM, ev.request_body("artifact.json")),
        ev.deployment_requested(SYSTEM),
        ev.waiver_requested(
            SYSTEM,
            ev.request_body("waiver-request.json"),
            waiver_id="W-9",
            expires_at=ev.in_days(5),
        ),
        ev.waiver_granted(SYSTEM, waiver_id="W-9"),
        ev.registered("api-other"),
    )


class TestAuth:
    @pytest.mark.parametrize(
        "path",
        [
            "/v1/systems",
            f"/v1/systems/{SYSTEM}",
            f"/v1/systems/{SYSTEM}/evidence",
            f"/v1/systems/{SYSTEM}/controls?version=1",
            f"/v1/systems/{SYSTEM}/ledger/verify",
            f"/v1/releases/{SYSTEM}/1",
            "/v1/waivers",
            "/v1/checkpoints/latest",
            f"/v1/gate?system={SYSTEM}&version=1",
            "/v1/events/x",
        ],
    )
    async def test_every_route_needs_a_token_with_a_read_role(
        self, evidence: Harness, path: str
    ) -> None:
        anonymous = await evidence.client.get(path)
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/problem+json"
        owner = await evidence.client.get(path, headers=auth(OWNER))
        assert owner.status_code == 403

    async def test_the_query_api_is_for_readers_not_publishers(self, evidence: Harness) -> None:
        assert (
            await evidence.client.get("/v1/systems", headers=auth(PUBLISHER))
        ).status_code == 403


class TestErrors:
    @pytest.mark.parametrize(
        "path",
        [
            "/v1/gate?system=Not_An_Id&version=1",
            "/v1/gate?system=x",
            "/v1/systems?cursor=garbage",
            "/v1/systems?tier=extreme",
            f"/v1/systems/{SYSTEM}/evidence?type=io.aigov.nope.v1",
            "/v1/waivers?expiring_within_days=-1",
        ],
    )
    async def test_client_mistakes_are_422(self, evidence: Harness, path: str) -> None:
        response = await evidence.client.get(path, headers=auth(READER))
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"

    async def test_a_limit_over_the_maximum_says_the_maximum(self, evidence: Harness) -> None:
        response = await evidence.client.get(
            f"/v1/systems/{SYSTEM}/evidence?limit=1000", headers=auth(READER)
        )
        assert response.status_code == 422, response.text
        assert "query.limit" in response.json()["detail"]
        assert "less than or equal to 500" in response.json()["detail"]

    async def test_an_undeclared_query_parameter_is_refused(self, evidence: Harness) -> None:
        response = await evidence.client.get(
            "/v1/gate?system=x&version=1&verison=2", headers=auth(READER)
        )
        assert response.status_code == 422, response.text
        assert "verison" in response.json()["detail"]

    @pytest.mark.parametrize(
        "path",
        [
            "/v1/systems/nobody",
            "/v1/systems/nobody/controls?version=1",
            "/v1/systems/nobody/ledger/verify",
            "/v1/releases/nobody/1.0",
            "/v1/checkpoints/latest",
            "/v1/events/not-recorded",
        ],
    )
    async def test_unknown_things_are_404(self, evidence: Harness, path: str) -> None:
        response = await evidence.client.get(path, headers=auth(READER))
        assert response.status_code == 404, response.text


class TestQueries:
    async def test_systems_filter_and_paginate(self, evidence: Harness) -> None:
        await seed(evidence)
        first = (await evidence.client.get("/v1/systems?limit=1", headers=auth(READER))).json()
        assert [item["id"] for item in first["items"]] == ["api-other"]
        second = (
            await evidence.client.get(
                "/v1/systems", params={"limit": 1, "cursor": first["next"]}, headers=auth(READER)
            )
        ).json()
        assert [item["id"] for item in second["items"]] == [SYSTEM]
        assert second["next"] is None
        item = second["items"][0]
        assert (item["tier"], item["latest_version"], item["team"]) == (
            "high",
            ev.VERSION,
            "support-ml",
        )
        high = (await evidence.client.get("/v1/systems?tier=high", headers=auth(READER))).json()
        assert [i["id"] for i in high["items"]] == [SYSTEM]
        await evidence.gate(SYSTEM, ev.VERSION)
        denied = (await evidence.client.get("/v1/systems?gate=deny", headers=auth(READER))).json()
        assert [i["id"] for i in denied["items"]] == [SYSTEM]
        last_gate = denied["items"][0]["last_gate"]
        assert last_gate["decision"] == "deny"
        # Stored without an offset on SQLite: the answer must still say it is UTC.
        assert datetime.fromisoformat(last_gate["decided_at"]).utcoffset() == timedelta(0)

    async def test_system_detail(self, evidence: Harness) -> None:
        await seed(evidence)
        body = (await evidence.client.get(f"/v1/systems/{SYSTEM}", headers=auth(READER))).json()
        assert body["tier"] == "high"
        assert body["owner"] == "dana.kim@example.com"
        assert body["manifest_revision"] == 1
        assert body["deployment_surfaces"] == ["web-app", "public-api"]
        assert body["third_party_models"][0]["model"] == "gpt-4o-mini"
        assert body["open_incidents"] == 0
        assert body["policy"]["version"] == ev.POLICY["version"]

    async def test_evidence_filters_and_cursor(self, evidence: Harness) -> None:
        await seed(evidence)
        page = (
            await evidence.client.get(
                f"/v1/systems/{SYSTEM}/evidence", params={"limit": 3}, headers=auth(READER)
            )
        ).json()
        assert [r["sequence"] for r in page["items"]] == [1, 2, 3]
        rest = (
            await evidence.client.get(
                f"/v1/systems/{SYSTEM}/evidence",
                params={"cursor": page["next"]},
                headers=auth(READER),
            )
        ).json()
        assert [r["sequence"] for r in rest["items"]] == [4, 5, 6, 7]
        evaluations = (
            await evidence.client.get(
                f"/v1/systems/{SYSTEM}/evidence",
                params={"type": "io.aigov.evaluation.completed.v1", "version": ev.VERSION},
                headers=auth(READER),
            )
        ).json()
        assert [r["type"] for r in evaluations["items"]] == ["io.aigov.evaluation.completed.v1"]

    async def test_controls_and_release(self, evidence: Harness) -> None:
        await seed(evidence)
        controls = (
            await evidence.client.get(
                f"/v1/systems/{SYSTEM}/controls",
                params={"version": ev.VERSION},
                headers=auth(READER),
            )
        ).json()
        state = {c["control_id"]: c["state"] for c in controls["controls"]}
        assert state == {
            "artifact.model_card": "satisfied",
            "evaluation.prompt_injection": "waived",
            "evaluation.minimums": "satisfied",
            "approval.release": "missing",
        }
        assert controls["submitter"] == ev.SUBMITTER
        release = (
            await evidence.client.get(f"/v1/releases/{SYSTEM}/{ev.VERSION}", headers=auth(READER))
        ).json()
        assert release["submitter"] == ev.SUBMITTER
        assert release["deployment_status"] == "requested"
        assert [d["type"] for d in release["deployments"]] == ["io.aigov.deployment.requested.v1"]
        assert len(release["evidence"]) == 4

    async def test_controls_list_every_submitter_first_one_first(self, evidence: Harness) -> None:
        await seed(evidence)
        card = ev.artifact(SYSTEM, ev.request_body("artifact.json"))
        await evidence.publish(new_event(card.payload, source=ev.SOURCE, actor="doc-writer"))
        controls = (
            await evidence.client.get(
                f"/v1/systems/{SYSTEM}/controls",
                params={"version": ev.VERSION},
                headers=auth(READER),
            )
        ).json()
        assert controls["submitter"] == ev.SUBMITTER
        assert controls["submitters"] == [ev.SUBMITTER, "doc-writer"]
        spec = (await evidence.client.get("/openapi.json")).json()
        field = spec["components"]["schemas"]["ControlsOut"]["properties"]["submitters"]
        assert field["type"] == "array"
        assert "first one first" in field["description"]

    async def test_waivers_expiring_within_days(self, evidence: Harness) -> None:
        await seed(evidence)
        soon = (
            await evidence.client.get("/v1/waivers?expiring_within_days=7", headers=auth(READER))
        ).json()
        assert [(w["waiver_id"], w["status"]) for w in soon["items"]] == [("W-9", "granted")]
        later = (
            await evidence.client.get("/v1/waivers?expiring_within_days=2", headers=auth(READER))
        ).json()
        assert later["items"] == []


class TestOpenApi:
    async def test_documents_every_route_with_problem_errors(self, evidence: Harness) -> None:
        spec = (await evidence.client.get("/openapi.json")).json()
        for path in (
            "/v1/gate",
            "/v1/events/{event_id}",
            "/v1/systems",
            "/v1/systems/{system_id}/ledger/verify",
            "/v1/checkpoints/latest",
            "/v1/waivers",
        ):
            operation = spec["paths"][path]["get"]
            assert "401" in operation["responses"], path
            assert operation["security"] or spec.get("security"), path

    async def test_routes_are_grouped_by_what_a_user_looks_for(self, evidence: Harness) -> None:
        from aigov_runtime.tags import Tag

        expected = {
            ("get", "/v1/systems"): Tag.SYSTEMS,
            ("get", "/v1/systems/{system_id}"): Tag.SYSTEMS,
            ("get", "/v1/systems/{system_id}/controls"): Tag.SYSTEMS,
            ("get", "/v1/releases/{system_id}/{version}"): Tag.RELEASES,
            ("get", "/v1/gate"): Tag.RELEASES,
            ("post", "/v1/gate/decisions"): Tag.RELEASES,
            ("get", "/v1/waivers"): Tag.WAIVERS,
            ("get", "/v1/events/{event_id}"): Tag.EVIDENCE,
            ("get", "/v1/systems/{system_id}/evidence"): Tag.EVIDENCE,
            ("get", "/v1/systems/{system_id}/ledger/verify"): Tag.EVIDENCE,
            ("post", "/v1/systems/{system_id}/ledger/verify"): Tag.EVIDENCE,
            ("get", "/v1/checkpoints/latest"): Tag.EVIDENCE,
            ("get", "/v1/oscal/assessment-results"): Tag.RELEASES,
            ("get", "/v1/oscal/poam"): Tag.WAIVERS,
            ("get", "/v1/kpis"): Tag.SYSTEMS,
            ("get", "/v1/systems/{system_id}/releases/{version}/documents/{kind}"): Tag.RELEASES,
        }
        spec = (await evidence.client.get("/openapi.json")).json()
        tags = {
            (method, path): operation["tags"]
            for path, item in spec["paths"].items()
            if path.startswith("/v1/")
            for method, operation in item.items()
        }
        assert tags == {route: [tag.value] for route, tag in expected.items()}

    async def test_events_route_is_documented_once_with_source_and_409(
        self, evidence: Harness
    ) -> None:
        # Two routes on one path and method: requests reach the first, while the OpenAPI
        # keeps the last one's description, so the document must name the route that serves.
        spec = (await evidence.client.get("/openapi.json")).json()
        item = spec["paths"]["/v1/events/{event_id}"]
        assert set(item) == {"get"}
        operation = item["get"]
        assert operation["operationId"].startswith("recorded_event_")
        operation_ids = [
            op["operationId"] for path in spec["paths"].values() for op in path.values()
        ]
        assert len(operation_ids) == len(set(operation_ids))
        assert {"200", "401", "403", "404", "409", "422"} <= set(operation["responses"])
        assert "application/problem+json" in operation["responses"]["409"]["content"]
        query = [p["name"] for p in operation["parameters"] if p["in"] == "query"]
        assert query == ["source"]
        body = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert "source" in spec["components"]["schemas"][body.rsplit("/", 1)[-1]]["properties"]
