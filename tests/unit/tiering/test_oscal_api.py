"""The OSCAL exports of tiering, through the running app: catalog and per-tier profiles."""

from __future__ import annotations

from typing import Any

import pytest
from trestle.oscal.catalog import Catalog
from trestle.oscal.profile import Profile

from tests.unit.tiering.harness import READER, RunningTiering, auth
from tests.unit.tiering.helpers import default_pack

pytestmark = pytest.mark.asyncio


async def get(tiering: RunningTiering, path: str) -> dict[str, Any]:
    response = await tiering.client.get(path, headers=auth(READER))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


async def test_the_catalog_holds_every_control_of_the_pack(tiering: RunningTiering) -> None:
    pack = default_pack()
    body = await get(tiering, "/v1/oscal/catalog")
    catalog = Catalog.parse_obj(body["catalog"])
    controls = {c["id"]: c for g in body["catalog"]["groups"] for c in g["controls"]}
    assert sorted(controls) == sorted(pack.controls)
    assert len(controls) == len(pack.controls)
    assert catalog.metadata.version == pack.version_label
    for control_id, compiled in pack.controls.items():
        control = controls[control_id]
        assert control["title"] == compiled.control.title
        assert control["parts"][0]["prose"] == compiled.control.objective
        refs = compiled.control.frameworks
        props = [(p["name"], p["value"]) for p in control["props"]]
        expected = [("nist-ai-rmf", r) for r in refs.nist_ai_rmf]
        expected += [("eu-ai-act-article", r) for r in refs.eu_ai_act]
        expected += [("iso-42001", r) for r in refs.iso_42001]
        assert [p for p in props if p[0] in {"nist-ai-rmf", "eu-ai-act-article", "iso-42001"}] == (
            expected
        )
        tiers = [t for t, r in pack.tiers.items() if control_id in r.controls]
        assert sorted(v for n, v in props if n == "required-by-tier") == sorted(tiers)
        evidence = [p for p in control["parts"] if p["name"] == "evidence"]
        assert len(evidence) == len(compiled.control.evidence)
    # Built once per pack: the same bytes each time.
    again = await tiering.client.get("/v1/oscal/catalog", headers=auth(READER))
    first = await tiering.client.get("/v1/oscal/catalog", headers=auth(READER))
    assert again.content == first.content


@pytest.mark.parametrize("tier", ["prohibited", "high", "medium", "low"])
async def test_each_profile_includes_exactly_its_tier_controls(
    tiering: RunningTiering, tier: str
) -> None:
    pack = default_pack()
    wanted = [str(c) for t, r in pack.tiers.items() if t == tier for c in r.controls]
    body = await get(tiering, f"/v1/oscal/profiles/{tier}")
    Profile.parse_obj(body["profile"])
    [imported] = body["profile"]["imports"]
    assert imported["href"] == "/v1/oscal/catalog"
    if wanted:
        [selection] = imported["include-controls"]
        assert selection["with-ids"] == wanted
        assert "exclude-controls" not in imported
    else:
        # Prohibited requires nothing: everything is excluded.
        assert imported["include-all"] == {}
        assert sorted(imported["exclude-controls"][0]["with-ids"]) == sorted(pack.controls)
    tier_props = [p["value"] for p in body["profile"]["metadata"]["props"] if p["name"] == "tier"]
    assert tier_props == [tier]


async def test_profiles_differ_by_tier(tiering: RunningTiering) -> None:
    high = await get(tiering, "/v1/oscal/profiles/high")
    low = await get(tiering, "/v1/oscal/profiles/low")
    assert high["profile"]["uuid"] != low["profile"]["uuid"]


async def test_an_unknown_tier_is_404_naming_the_tiers(tiering: RunningTiering) -> None:
    response = await tiering.client.get("/v1/oscal/profiles/extreme", headers=auth(READER))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    detail = response.json()["detail"]
    assert "no tier 'extreme'" in detail
    assert "prohibited, high, medium, low" in detail


async def test_an_overlong_tier_is_422(tiering: RunningTiering) -> None:
    response = await tiering.client.get(f"/v1/oscal/profiles/{'x' * 40}", headers=auth(READER))
    assert response.status_code == 422


@pytest.mark.parametrize("path", ["/v1/oscal/catalog", "/v1/oscal/profiles/high"])
async def test_a_token_is_needed(tiering: RunningTiering, path: str) -> None:
    response = await tiering.client.get(path)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_undeclared_query_parameter_is_refused(tiering: RunningTiering) -> None:
    response = await tiering.client.get("/v1/oscal/catalog?tier=high", headers=auth(READER))
    assert response.status_code == 422
    assert "tier" in response.json()["detail"]
