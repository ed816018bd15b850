"""The HTTP API (embedded mode): simulate, policies, controls; auth and problem+json errors."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.unit.tiering.harness import ADMIN, PUBLISHER, READER, RunningTiering, auth
from tests.unit.tiering.helpers import SYSTEMS, default_pack, example_document, with_changes

pytestmark = pytest.mark.asyncio

JSON = {"Content-Type": "application/json"}
# Five levels of ten aliases: 100,000+ values from a few hundred bytes.
ALIAS_BOMB = "\n".join(
    [
        "a: &a [" + ", ".join(["x"] * 10) + "]",
        "b: &b [" + ", ".join(["*a"] * 10) + "]",
        "c: &c [" + ", ".join(["*b"] * 10) + "]",
        "d: &d [" + ", ".join(["*c"] * 10) + "]",
        "e: [" + ", ".join(["*d"] * 10) + "]",
    ]
)
YAML = {"Content-Type": "application/yaml"}


class TestSimulate:
    async def test_json_manifest(self, tiering: RunningTiering) -> None:
        response = await tiering.client.post(
            "/v1/tiering/simulate",
            json=example_document("support-summarizer"),
            headers=auth(PUBLISHER),
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["tier"] == "high"
        assert body["policy_version"] == default_pack().version_label
        assert body["reasons"][0]["rule_id"] == "genai-customer-facing-sensitive-data"
        assert "approval.release" in {c["control_id"] for c in body["required_controls"]}
        assert "material_change" not in body

    async def test_yaml_manifest_as_written(self, tiering: RunningTiering) -> None:
        text = (SYSTEMS / "code-assistant.yaml").read_text("utf-8")
        response = await tiering.client.post(
            "/v1/tiering/simulate", content=text, headers={**YAML, **auth(READER)}
        )
        assert response.status_code == 200, response.text
        assert response.json()["tier"] == "low"

    async def test_same_input_same_body_bytes(self, tiering: RunningTiering) -> None:
        body = json.dumps(example_document("resume-screener"))
        first, second = [
            await tiering.client.post(
                "/v1/tiering/simulate", content=body, headers={**JSON, **auth(PUBLISHER)}
            )
            for _ in range(2)
        ]
        assert first.status_code == 200
        assert first.content == second.content

    async def test_with_previous_reports_material_change(self, tiering: RunningTiering) -> None:
        previous = example_document("support-summarizer")
        manifest = with_changes(
            previous, {"spec.deployment.regions": ["EU"], "spec.purpose": "Summarise cases."}
        )
        response = await tiering.client.post(
            "/v1/tiering/simulate",
            json={"manifest": manifest, "previous": previous},
            headers=auth(PUBLISHER),
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["previous_tier"] == "high"
        assert body["material_change"] == {
            "material": True,
            "changes": [
                {
                    "field": "spec.deployment.regions",
                    "old": ["EU", "US"],
                    "new": ["EU"],
                    "rule": "deployment-environment",
                }
            ],
            "non_material_fields": ["spec.purpose"],
        }

    async def test_non_material_change(self, tiering: RunningTiering) -> None:
        previous = example_document("code-assistant")
        manifest = with_changes(previous, {"metadata.owner": "sam@example.com"})
        response = await tiering.client.post(
            "/v1/tiering/simulate",
            json={"manifest": manifest, "previous": previous},
            headers=auth(PUBLISHER),
        )
        assert response.json()["material_change"] == {
            "material": False,
            "changes": [],
            "non_material_fields": ["metadata.owner"],
        }

    async def test_needs_authentication(self, tiering: RunningTiering) -> None:
        response = await tiering.client.post(
            "/v1/tiering/simulate", json=example_document("code-assistant")
        )
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")

    @pytest.mark.parametrize(
        ("content", "headers", "status"),
        [
            ("{}", {"Content-Type": "text/plain"}, 415),
            ("{not json", JSON, 400),
            ("a: [1", YAML, 400),
            ("when: 2026-11-26", YAML, 400),
            ('{"apiVersion": "aigov.io/v1"}', JSON, 422),
            ('{"manifest": {}, "extra": 1}', JSON, 422),
            (ALIAS_BOMB, YAML, 413),
        ],
    )
    async def test_client_mistakes_are_problems(
        self, tiering: RunningTiering, content: str, headers: dict[str, str], status: int
    ) -> None:
        response = await tiering.client.post(
            "/v1/tiering/simulate", content=content, headers={**headers, **auth(PUBLISHER)}
        )
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")

    async def test_invalid_manifest_names_the_field(self, tiering: RunningTiering) -> None:
        document = example_document("support-summarizer")
        del document["spec"]["users"]["includesMinors"]
        response = await tiering.client.post(
            "/v1/tiering/simulate", json={"manifest": document}, headers=auth(PUBLISHER)
        )
        assert response.status_code == 422
        locs = [error["loc"] for error in response.json()["errors"]]
        assert ["body", "manifest", "spec", "users", "includesMinors"] in locs


class TestPolicyAndControls:
    async def test_policy(self, tiering: RunningTiering) -> None:
        response = await tiering.client.get("/v1/policies", headers=auth(READER))
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["name"], body["sha256"]) == ("default", default_pack().ref.sha256)
        assert next(rule["tier"] for rule in body["rules"]) == "prohibited"
        assert body["tiers"]["high"]["approvals"] == [{"role": "approver", "count": 1}]

    async def test_reader_role_required(self, tiering: RunningTiering) -> None:
        assert (
            await tiering.client.get("/v1/policies", headers=auth(PUBLISHER))
        ).status_code == 403
        assert (await tiering.client.get("/v1/controls")).status_code == 401
        assert (await tiering.client.get("/v1/controls", headers=auth(ADMIN))).status_code == 200

    async def test_controls(self, tiering: RunningTiering) -> None:
        response = await tiering.client.get("/v1/controls", headers=auth(READER))
        body = response.json()
        assert len(body["controls"]) >= 30
        assert "by_reference" not in body

    async def test_controls_by_eu_ai_act_article(self, tiering: RunningTiering) -> None:
        response = await tiering.client.get(
            "/v1/controls", params={"framework": "eu-ai-act"}, headers=auth(READER)
        )
        assert response.status_code == 200, response.text
        body = response.json()
        references = [entry["reference"] for entry in body["by_reference"]]
        assert references.index("9") < references.index("10") < references.index("50(1)")
        article_15 = next(e for e in body["by_reference"] if e["reference"] == "15")
        assert "evaluation.prompt_injection" in article_15["controls"]

    @pytest.mark.parametrize(
        ("framework", "reference", "control"),
        [
            ("nist-ai-rmf", "MEASURE 2.7", "evaluation.prompt_injection"),
            ("iso-42001", "A.6.2.4", "evaluation.prompt_injection"),
        ],
    )
    async def test_other_frameworks(
        self, tiering: RunningTiering, framework: str, reference: str, control: str
    ) -> None:
        response = await tiering.client.get(
            "/v1/controls", params={"framework": framework}, headers=auth(READER)
        )
        entries = {e["reference"]: e["controls"] for e in response.json()["by_reference"]}
        assert control in entries[reference]

    async def test_unknown_framework_is_422(self, tiering: RunningTiering) -> None:
        response = await tiering.client.get(
            "/v1/controls", params={"framework": "sox"}, headers=auth(READER)
        )
        assert response.status_code == 422

    async def test_one_control(self, tiering: RunningTiering) -> None:
        response = await tiering.client.get("/v1/controls/approval.release", headers=auth(READER))
        assert response.status_code == 200
        body = response.json()
        assert body["required_by"] == ["high", "medium"]
        assert body["evidence"] == [
            {"kind": "approval", "required_sections": [], "metrics": [], "signals": []}
        ]

    async def test_unknown_control_is_404(self, tiering: RunningTiering) -> None:
        response = await tiering.client.get("/v1/controls/artifact.horoscope", headers=auth(READER))
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_openapi_documents_the_routes(tiering: RunningTiering) -> None:
    document = (await tiering.client.get("/openapi.json")).json()
    simulate = document["paths"]["/v1/tiering/simulate"]["post"]
    assert set(simulate["requestBody"]["content"]) == {"application/json", "application/yaml"}
    assert {"200", "401", "415", "422"} <= set(simulate["responses"])
    assert yaml.safe_load(
        simulate["requestBody"]["content"]["application/yaml"]["examples"]["manifest"]["value"]
    )
    for path in ("/v1/policies", "/v1/controls", "/v1/controls/{control_id}"):
        assert "403" in document["paths"][path]["get"]["responses"]
