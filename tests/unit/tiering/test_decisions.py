"""Decision events get deterministic ids, so a republished decision is de-duplicated downstream."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigov_events.catalog.decisions import TierAssigned
from aigov_events.catalog.manifest import AISystemManifest
from aigov_tiering.app import create_app
from aigov_tiering.decisions import evaluation_change_id, manifest_change_id, tier_event
from aigov_tiering.engine import decide
from aigov_tiering.policy import PolicyError
from tests.unit.tiering.conftest import embedded_settings
from tests.unit.tiering.helpers import default_pack, example_document


def tier_assigned(revision: int) -> TierAssigned:
    decision = decide(
        AISystemManifest.model_validate(example_document("code-assistant")), default_pack()
    )
    return decision.tier_assigned(
        system_id="code-assistant", revision=revision, manifest_sha256="c" * 64, previous_tier=None
    )


def test_same_decision_same_event_id() -> None:
    first = tier_event(tier_assigned(1))
    again = tier_event(tier_assigned(1))
    other = tier_event(tier_assigned(2))
    assert first.id == again.id != other.id
    assert first.envelope.data == again.envelope.data
    assert (first.envelope.source, first.actor) == ("/aigov/tiering", "aigov-tiering")


def test_change_ids_are_identifiers() -> None:
    assert manifest_change_id("resume-screener", 3) == "mc-resume-screener-r3"
    long_suite = "release evaluation " * 20
    change_id = evaluation_change_id("s" * 63, "1.0.0", long_suite)
    assert len(change_id) <= 128
    assert change_id == evaluation_change_id("s" * 63, "1.0.0", long_suite)
    assert change_id != evaluation_change_id("s" * 63, "1.0.1", long_suite)


def test_a_bad_pack_stops_the_service_at_startup(tmp_path: Path) -> None:
    (tmp_path / "pack").mkdir()
    with pytest.raises(PolicyError, match=r"pack\.yaml: .*unreadable"):
        create_app(embedded_settings(tmp_path, policy_dir=tmp_path / "pack"))
