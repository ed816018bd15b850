"""What the webhook adapters share: timestamps, stable ids, slugs, drafts and OpenAPI schemas."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from aigov_events.catalog import AlertRaised, LineageRecorded
from aigov_events.catalog.primitives import Slug
from aigov_intake import attribution
from aigov_intake.adapters import (
    SYSTEM_KEY,
    Draft,
    Outcome,
    PayloadRejected,
    build,
    clip,
    inline_schema,
    parse_timestamp,
    slugify,
    stable_id,
)
from aigov_intake.adapters.alerting import GrafanaNotification
from aigov_intake.adapters.cdevents import CDEvent

_SLUG = TypeAdapter(Slug)


class TestTimestamps:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
            ("2026-01-02T03:04:05.123456789Z", datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)),
            (
                "2026-01-02T03:04:05.5-05:00",
                datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=timezone(timedelta(hours=-5))),
            ),
            ("2026-01-02 03:04:05+00:00", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ],
    )
    def test_rfc3339_with_any_fraction(self, text: str, expected: datetime) -> None:
        assert parse_timestamp(text, naive_is_utc=False) == expected

    def test_naive_is_utc_only_when_asked(self) -> None:
        assert parse_timestamp("2026-01-02T03:04:05", naive_is_utc=True) == datetime(
            2026, 1, 2, 3, 4, 5, tzinfo=UTC
        )
        with pytest.raises(ValueError, match="offset"):
            parse_timestamp("2026-01-02T03:04:05", naive_is_utc=False)

    @pytest.mark.parametrize(
        "value", ["2026-01-02", "yesterday", 1767225600, "2026-13-02T00:00:00Z"]
    )
    def test_not_timestamps(self, value: object) -> None:
        with pytest.raises(ValueError, match="timestamp"):
            parse_timestamp(value, naive_is_utc=True)

    @given(st.datetimes(timezones=st.just(UTC)), st.integers(min_value=0, max_value=999))
    def test_round_trip_with_nanoseconds(self, moment: datetime, nanos: int) -> None:
        text = moment.isoformat(timespec="microseconds").replace("+00:00", f"{nanos:03d}Z")
        assert parse_timestamp(text, naive_is_utc=False) == moment


class TestStableIds:
    def test_same_parts_same_uuid(self) -> None:
        assert stable_id("a", "b") == stable_id("a", "b")
        assert uuid.UUID(stable_id("a", "b")).version == 8

    @given(st.lists(st.text(), max_size=4), st.lists(st.text(), max_size=4))
    def test_different_parts_different_uuid(self, left: list[str], right: list[str]) -> None:
        # Parts are framed (JSON), so ("ab", "c") and ("a", "bc") never collide.
        if left != right:
            assert stable_id(*left) != stable_id(*right)


class TestSlugs:
    @pytest.mark.parametrize(
        ("text", "slug"),
        [
            ("drift", "drift"),
            ("prompt_injection", "prompt_injection"),
            ("HighMemoryUsage", "high_memory_usage"),
            ("ICMP ping failed", "icmp_ping_failed"),
            ("Production EU", "production_eu"),
            ("  ", None),
            ("42", None),
            (None, None),
        ],
    )
    def test_slugify(self, text: str | None, slug: str | None) -> None:
        assert slugify(text) == slug

    @given(st.text())
    def test_a_slug_is_a_catalog_slug_or_nothing(self, text: str) -> None:
        slug = slugify(text)
        if slug is not None:
            assert _SLUG.validate_python(slug) == slug

    def test_clip(self) -> None:
        assert clip("abc", 10) == "abc"
        assert clip("abcdefghijkl", 5) == "abcd…"


class TestDrafts:
    def test_build_names_the_catalog_field_at_the_tool_location(self) -> None:
        with pytest.raises(PayloadRejected) as caught:
            build(LineageRecorded, loc=("body", "job"), system_id="Not A System")
        error = caught.value.errors[0]
        assert error["loc"] == ["body", "job"]
        assert "system_id" in error["msg"]

    def test_events_carry_the_draft_identity_and_skip_repeats(self) -> None:
        payload = AlertRaised.model_validate(AlertRaised.example)
        moment = datetime(2026, 1, 1, tzinfo=UTC)
        draft = Draft(payload=payload, event_id="e-1", source="urn:x", time=moment)
        [event] = Outcome(drafts=[draft, draft]).events(actor="bot")
        assert (event.id, event.envelope.source, event.time) == ("e-1", "urn:x", moment)
        assert event.envelope.subject == payload.system_id


class TestContracts:
    def test_the_system_key_is_the_attribution_key(self) -> None:
        assert SYSTEM_KEY == attribution.SYSTEM_KEY

    @pytest.mark.parametrize("model", [GrafanaNotification, CDEvent])
    def test_openapi_schemas_have_no_local_refs(self, model: type) -> None:
        schema = inline_schema(model)
        assert "$defs" not in schema
        assert "#/$defs/" not in str(schema)
        assert schema["type"] == "object"
