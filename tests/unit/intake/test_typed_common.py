"""Shared pieces of the typed endpoints: issued ids, fingerprints, status rules, inline schemas."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from aigov_events.catalog.primitives import Identifier
from aigov_intake.api.typed_common import ensure_status, issue_id
from aigov_intake.api.typed_signals import alert_fingerprint
from aigov_runtime.errors import ProblemError

IDENTIFIER = TypeAdapter(Identifier)


class TestIssueId:
    def test_random_ids_differ_and_are_identifiers(self) -> None:
        ids = {issue_id("W", endpoint_source="/s", idempotency_key=None) for _ in range(100)}
        assert len(ids) == 100
        for waiver_id in ids:
            assert re.fullmatch(r"W-[A-Z2-7]{10}", waiver_id)
            IDENTIFIER.validate_python(waiver_id)

    @given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1))
    def test_a_key_always_gives_the_same_id(self, key: str) -> None:
        first = issue_id("INC", endpoint_source="/s", idempotency_key=key)
        assert first == issue_id("INC", endpoint_source="/s", idempotency_key=key)
        IDENTIFIER.validate_python(first)

    def test_the_same_key_elsewhere_gives_another_id(self) -> None:
        assert issue_id("W", endpoint_source="/a", idempotency_key="k") != issue_id(
            "W", endpoint_source="/b", idempotency_key="k"
        )


class TestFingerprint:
    def test_label_order_does_not_matter(self) -> None:
        assert alert_fingerprint("s", "drift", {"a": "1", "b": "2"}) == alert_fingerprint(
            "s", "drift", {"b": "2", "a": "1"}
        )

    @pytest.mark.parametrize(
        ("system", "signal", "labels"),
        [("t", "drift", {"a": "1"}), ("s", "safety", {"a": "1"}), ("s", "drift", {"a": "2"})],
    )
    def test_system_signal_and_labels_count(
        self, system: str, signal: str, labels: dict[str, str]
    ) -> None:
        assert alert_fingerprint("s", "drift", {"a": "1"}) != alert_fingerprint(
            system, signal, labels
        )

    def test_is_an_identifier(self) -> None:
        fingerprint = alert_fingerprint("s", "drift", {})
        assert re.fullmatch(r"[0-9a-f]{16}", fingerprint)


class TestEnsureStatus:
    def test_allowed_transition_passes(self) -> None:
        ensure_status("reported", {"reported"}, target="acknowledged", what="incident", retry=False)

    def test_impossible_transition_is_409_naming_the_state(self) -> None:
        with pytest.raises(ProblemError) as exc:
            ensure_status("resolved", {"reported"}, target="acknowledged", what="i", retry=True)
        assert exc.value.status_code == 409
        assert exc.value.extensions == {"current_status": "resolved"}

    def test_a_keyed_repeat_passes_to_the_duplicate_check(self) -> None:
        ensure_status("granted", {"requested"}, target="granted", what="waiver", retry=True)
        with pytest.raises(ProblemError):
            ensure_status("granted", {"requested"}, target="granted", what="waiver", retry=False)
