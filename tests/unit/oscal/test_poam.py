"""Waivers as a POA&M, validated with trestle's models."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import pytest
from pydantic.v1 import ValidationError
from trestle.oscal.poam import PlanOfActionAndMilestones

from aigov_oscal.poam import build_poam
from tests.unit.oscal.inputs import SYSTEM, T0, WAIVERS, empty_arrays, expected_uuid

NOW = T0 + timedelta(hours=3)


def document(**kwargs: Any) -> dict[str, Any]:
    return build_poam(WAIVERS, now=NOW, system_id=SYSTEM, **kwargs)


def items() -> dict[str, dict[str, Any]]:
    body = document()["plan-of-action-and-milestones"]
    return {
        next(p["value"] for p in i["props"] if p["name"] == "waiver-id"): i
        for i in body["poam-items"]
    }


def test_validates_with_trestle() -> None:
    body = document()
    PlanOfActionAndMilestones.parse_obj(body["plan-of-action-and-milestones"])
    assert empty_arrays(body) == []


def test_a_broken_document_fails_validation() -> None:
    body = copy.deepcopy(document())
    body["plan-of-action-and-milestones"]["risks"][0]["deadline"] = "next week"
    with pytest.raises(ValidationError):
        PlanOfActionAndMilestones.parse_obj(body["plan-of-action-and-milestones"])


def test_one_item_per_waiver_with_who_and_when() -> None:
    found = items()
    assert list(found) == ["W-9", "W-10", "W-1"]
    granted = found["W-9"]
    assert granted["uuid"] == expected_uuid("poam-item", SYSTEM, "W-9")
    assert granted["description"] == "Mitigated by an output filter for 30 days."
    props = [(p["name"], p["value"]) for p in granted["props"]]
    assert props == [
        ("waiver-id", "W-9"),
        ("system", SYSTEM),
        ("release", "2026.11.3"),
        ("waiver-status", "granted"),
        ("recorded-waiver-status", "granted"),
        ("control-id", "evaluation.prompt_injection"),
        ("compensating-control", "output-filter"),
        ("compensating-control", "human-review"),
        ("expires-at", "2026-11-25T09:00:00Z"),
        ("requested-by", "ci-bot"),
        ("requested-at", "2026-11-20T09:00:00Z"),
        ("decided-by", "risk-officer"),
        ("decided-at", "2026-11-20T10:00:00Z"),
    ]
    requested = {p["name"]: p["value"] for p in found["W-10"]["props"]}
    assert "decided-by" not in requested
    assert requested["waiver-status"] == "requested"
    # Granted, but its expiry passed before now: expired.
    old = {p["name"]: p["value"] for p in found["W-1"]["props"]}
    assert (old["waiver-status"], old["recorded-waiver-status"]) == ("expired", "granted")


def test_risks_follow_the_waiver() -> None:
    body = document()["plan-of-action-and-milestones"]
    risks = {r["uuid"]: r for r in body["risks"]}
    by_waiver = {w: risks[i["related-risks"][0]["risk-uuid"]] for w, i in items().items()}
    assert {w: r["status"] for w, r in by_waiver.items()} == {
        "W-9": "deviation-approved",
        "W-10": "deviation-requested",
        "W-1": "open",
    }
    assert by_waiver["W-9"]["deadline"] == "2026-11-25T09:00:00Z"
    assert [m["description"] for m in by_waiver["W-9"]["mitigating-factors"]] == [
        "output-filter",
        "human-review",
    ]
    assert "mitigating-factors" not in by_waiver["W-10"]


def test_metadata_scope_and_last_change() -> None:
    body = document()["plan-of-action-and-milestones"]
    # Latest of: requests (09:00, 11:00, -10 d), decisions (10:00, -9 d), passed expiry (-1 d).
    assert body["metadata"]["last-modified"] == "2026-11-20T11:00:00Z"
    assert body["system-id"]["id"] == SYSTEM
    assert body["uuid"] == expected_uuid("poam", SYSTEM)
    everything = build_poam(WAIVERS, now=NOW)["plan-of-action-and-milestones"]
    assert "system-id" not in everything
    assert everything["uuid"] == expected_uuid("poam", "")


def test_truncation_is_said() -> None:
    body = document(truncated_at=3)["plan-of-action-and-milestones"]
    assert {"name": "truncated", "value": "true", "ns": "https://aigov.dev/ns/oscal"} in body[
        "metadata"
    ]["props"]
    assert "first 3 waivers" in body["metadata"]["remarks"]


def test_no_waivers_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one item"):
        build_poam([], now=NOW)


def test_same_input_same_bytes() -> None:
    assert json.dumps(document()) == json.dumps(document())
