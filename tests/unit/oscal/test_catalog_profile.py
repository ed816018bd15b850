"""The catalog and profile builders on hand-made controls, validated with trestle's models."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pydantic.v1 import ValidationError
from trestle.oscal.catalog import Catalog
from trestle.oscal.profile import Profile

from aigov_events.catalog.decisions import RequiredApproval
from aigov_oscal import OSCAL_VERSION
from aigov_oscal.catalog import build_catalog
from aigov_oscal.ids import token
from aigov_oscal.profile import build_profile
from tests.unit.oscal.inputs import (
    CONTROLS,
    LABEL,
    POLICY,
    REQUIRED_BY,
    T0,
    empty_arrays,
    expected_uuid,
)

NS = "https://aigov.dev/ns/oscal"
IDS = [c.id for c in CONTROLS]


def catalog() -> dict[str, Any]:
    return build_catalog(
        CONTROLS, policy=POLICY, policy_version=LABEL, required_by=REQUIRED_BY, last_modified=T0
    )


def profile(tier: str, ids: list[str]) -> dict[str, Any]:
    return build_profile(
        tier=tier,
        control_ids=ids,
        catalog_control_ids=IDS,
        catalog_href="/v1/oscal/catalog",
        policy=POLICY,
        policy_version=LABEL,
        approvals=[RequiredApproval(role="approver", count=2)],
        last_modified=T0,
    )


def controls_of(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for g in document["catalog"]["groups"] for c in g["controls"]}


class TestCatalog:
    def test_validates_with_trestle(self) -> None:
        document = catalog()
        parsed = Catalog.parse_obj(document["catalog"])
        assert parsed.metadata.oscal_version.__root__ == OSCAL_VERSION == "1.1.3"
        assert empty_arrays(document) == []

    def test_a_broken_catalog_fails_validation(self) -> None:
        document = copy.deepcopy(catalog())
        document["catalog"]["groups"][0]["controls"][0]["id"] = "9 not a token"
        with pytest.raises(ValidationError):
            Catalog.parse_obj(document["catalog"])
        del document["catalog"]["metadata"]
        with pytest.raises(ValidationError):
            Catalog.parse_obj(document["catalog"])

    def test_groups_by_family_and_keeps_ids(self) -> None:
        groups = catalog()["catalog"]["groups"]
        assert [(g["id"], [c["id"] for c in g["controls"]]) for g in groups] == [
            ("artifact", ["artifact.model_card"]),
            ("evaluation", ["evaluation.prompt_injection"]),
            ("approval", ["approval.release"]),
        ]
        assert [g["title"] for g in groups] == [
            "Documentation artifacts",
            "Evaluations",
            "Approvals",
        ]

    def test_framework_mappings_tiers_and_evidence(self) -> None:
        card = controls_of(catalog())["artifact.model_card"]
        props = [(p["name"], p["value"], p.get("ns")) for p in card["props"]]
        assert props == [
            ("label", "artifact.model_card", None),
            ("nist-ai-rmf", "MAP 2.1", NS),
            ("eu-ai-act-article", "11", NS),
            ("eu-ai-act-article", "13", NS),
            ("required-by-tier", "high", NS),
            ("required-by-tier", "medium", NS),
        ]
        statement, evidence = card["parts"]
        assert statement == {
            "id": "artifact.model_card_smt",
            "name": "statement",
            "prose": "Users know what the model is for.",
        }
        assert evidence["name"] == "evidence"
        assert evidence["ns"] == NS
        assert [(p["name"], p["value"]) for p in evidence["props"]] == [
            ("evidence-kind", "artifact"),
            ("artifact-kind", "model_card"),
            ("required-section", "intended_use"),
            ("required-section", "limitations"),
        ]
        injection = controls_of(catalog())["evaluation.prompt_injection"]
        assert injection["parts"][1]["prose"] == "spec.genai.generative"
        assert ("metric", "prompt_injection_success_rate") in [
            (p["name"], p["value"]) for p in injection["parts"][2]["props"]
        ]

    def test_uuid_and_metadata_come_from_the_pack(self) -> None:
        document = catalog()["catalog"]
        assert document["uuid"] == expected_uuid("catalog", "default", "ab" * 32)
        assert document["metadata"]["version"] == LABEL
        assert document["metadata"]["last-modified"] == "2026-11-20T09:00:00Z"

    def test_same_input_same_bytes(self) -> None:
        assert json.dumps(catalog()) == json.dumps(catalog())

    def test_tokens(self) -> None:
        assert token("artifact.model_card") == "artifact.model_card"
        for bad in ("9lives", "has space", "", "a/b"):
            with pytest.raises(ValueError, match="not an OSCAL token"):
                token(bad)


class TestProfile:
    def test_selects_exactly_the_tier_controls(self) -> None:
        document = profile("medium", ["approval.release", "artifact.model_card"])
        Profile.parse_obj(document["profile"])
        assert empty_arrays(document) == []
        [imported] = document["profile"]["imports"]
        assert imported == {
            "href": "/v1/oscal/catalog",
            "include-controls": [{"with-ids": ["approval.release", "artifact.model_card"]}],
        }
        assert document["profile"]["uuid"] == expected_uuid(
            "profile", "default", "ab" * 32, "medium"
        )
        props = {
            (p["name"], p["value"], p.get("class"))
            for p in document["profile"]["metadata"]["props"]
        }
        assert ("tier", "medium", None) in props
        assert ("required-approval", "approver", "count-2") in props

    def test_a_tier_without_controls_excludes_every_control(self) -> None:
        document = profile("prohibited", [])
        Profile.parse_obj(document["profile"])
        [imported] = document["profile"]["imports"]
        assert imported["include-all"] == {}
        assert imported["exclude-controls"] == [{"with-ids": IDS}]

    def test_a_control_outside_the_catalog_is_an_error(self) -> None:
        with pytest.raises(ValueError, match="lacks"):
            profile("high", ["artifact.nope"])

    def test_a_broken_profile_fails_validation(self) -> None:
        document = copy.deepcopy(profile("high", IDS))
        del document["profile"]["imports"]
        with pytest.raises(ValidationError):
            Profile.parse_obj(document["profile"])

    def test_profiles_of_tiers_differ_and_repeat(self) -> None:
        assert profile("high", IDS)["profile"]["uuid"] != profile("low", IDS)["profile"]["uuid"]
        assert json.dumps(profile("high", IDS)) == json.dumps(profile("high", IDS))
