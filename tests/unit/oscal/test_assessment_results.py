"""Assessment results of a hand-made release status, validated with trestle's models."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pydantic.v1 import ValidationError
from trestle.oscal.assessment_results import AssessmentResults

from aigov_oscal.assessment_results import AssessedRelease, build_assessment_results
from tests.unit.oscal.inputs import (
    POLICY,
    RECORDS,
    STATUSES,
    SYSTEM,
    T0,
    VERSION,
    empty_arrays,
    expected_uuid,
)

NS = "https://aigov.dev/ns/oscal"
RELEASE = AssessedRelease(
    system_id=SYSTEM,
    version=VERSION,
    tier="high",
    policy=POLICY,
    tier_event_id="tier-1",
    started=T0,
    last_modified=T0.replace(hour=12),
    pending_changes=("mc-1",),
)


def document() -> dict[str, Any]:
    return build_assessment_results(RELEASE, STATUSES, RECORDS)


def findings() -> dict[str, dict[str, Any]]:
    [result] = document()["assessment-results"]["results"]
    return {f["target"]["target-id"]: f for f in result["findings"]}


def test_validates_with_trestle() -> None:
    body = document()
    AssessmentResults.parse_obj(body["assessment-results"])
    assert empty_arrays(body) == []


def test_a_broken_document_fails_validation() -> None:
    body = copy.deepcopy(document())
    body["assessment-results"]["results"][0]["findings"][0]["target"]["status"]["state"] = "waived"
    with pytest.raises(ValidationError):
        AssessmentResults.parse_obj(body["assessment-results"])


def test_one_finding_per_control_with_its_state() -> None:
    found = findings()
    assert list(found) == [
        "artifact.model_card_smt",
        "evaluation.prompt_injection_smt",
        "approval.release_smt",
    ]
    states = {
        k: (f["target"]["status"]["state"], f["target"]["status"]["reason"])
        for k, f in found.items()
    }
    assert states == {
        "artifact.model_card_smt": ("satisfied", "pass"),
        "evaluation.prompt_injection_smt": ("not-satisfied", "other"),
        "approval.release_smt": ("not-satisfied", "fail"),
    }
    assert found["approval.release_smt"]["description"] == "needs 1 approval; has none"
    assert found["approval.release_smt"]["title"] == "approval.release"
    assert found["artifact.model_card_smt"]["uuid"] == expected_uuid(
        "finding", SYSTEM, VERSION, "artifact.model_card"
    )


def test_a_waived_finding_links_its_poam_item() -> None:
    waived = findings()["evaluation.prompt_injection_smt"]
    props = {p["name"]: p["value"] for p in waived["props"]}
    item = expected_uuid("poam-item", SYSTEM, "W-9")
    assert props == {
        "control-state": "waived",
        "waiver-id": "W-9",
        "waiver-expires-at": "2026-11-25T09:00:00Z",
        "poam-item-uuid": item,
    }
    [link] = waived["links"]
    assert link["href"] == f"/v1/oscal/poam?system={SYSTEM}#{item}"
    assert link["rel"] == "poam-item"


def test_observations_are_the_named_records_in_ledger_order() -> None:
    [result] = document()["assessment-results"]["results"]
    card, evaluation = result["observations"]
    assert card["uuid"] == expected_uuid("observation", SYSTEM, "/ci", "e-card")
    assert card["collected"] == "2026-11-20T09:01:05Z"
    assert card["methods"] == ["EXAMINE"]
    assert evaluation["methods"] == ["TEST"]
    assert card["relevant-evidence"][0]["href"] == "/v1/events/e-card?source=%2Fci"
    props = {p["name"]: p["value"] for p in card["props"]}
    assert props["event-type"] == "io.aigov.artifact.submitted.v1"
    assert props["event-time"] == "2026-11-20T09:01:00Z"
    assert props["ledger-sequence"] == "3"
    found = findings()
    assert found["artifact.model_card_smt"]["related-observations"] == [
        {"observation-uuid": card["uuid"]}
    ]
    assert "related-observations" not in found["approval.release_smt"]


def test_reviewed_controls_import_ap_and_metadata() -> None:
    body = document()["assessment-results"]
    [result] = body["results"]
    assert result["reviewed-controls"]["control-selections"] == [
        {
            "include-controls": [
                {"control-id": "artifact.model_card"},
                {"control-id": "evaluation.prompt_injection"},
                {"control-id": "approval.release"},
            ]
        }
    ]
    assert body["import-ap"]["href"] == "/v1/events/tier-1"
    assert body["uuid"] == expected_uuid("assessment-results", SYSTEM, VERSION)
    assert body["metadata"]["last-modified"] == "2026-11-20T12:00:00Z"
    assert (result["start"], result["end"]) == ("2026-11-20T09:00:00Z", "2026-11-20T12:00:00Z")
    assert {"name": "pending-material-change", "value": "mc-1", "ns": NS} in result["props"]


def test_a_tier_without_controls_still_validates() -> None:
    body = build_assessment_results(RELEASE, [], [])
    AssessmentResults.parse_obj(body["assessment-results"])
    assert "findings" not in body["assessment-results"]["results"][0]


def test_same_input_same_bytes_in_any_record_order() -> None:
    again = build_assessment_results(RELEASE, STATUSES, tuple(reversed(RECORDS)))
    assert json.dumps(document()) == json.dumps(again)
