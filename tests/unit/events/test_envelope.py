"""CloudEvents envelope: the published corpus, strictness, the JSON formats and Kafka binary mode."""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import JsonValue

from aigov_events.envelope import (
    CloudEvent,
    dump_batch,
    dump_structured,
    format_time,
    from_kafka_record,
    from_mapping,
    parse_batch,
    parse_structured,
    parse_time,
    to_kafka_binary,
    to_mapping,
)
from aigov_events.errors import InvalidEnvelope
from tests.fixtures import CORPUS as FIXTURE_CORPUS

CORPUS = FIXTURE_CORPUS / "cloudevents"


def corpus_files(negative: bool) -> list[Path]:
    """The CloudEvents corpus files, valid or NEGATIVE_ ones."""
    assert CORPUS.is_dir(), f"the vendored corpus is missing at {CORPUS}"
    return sorted(
        p
        for p in CORPUS.glob("*.json")
        if p.name.startswith("NEGATIVE_") == negative and p.name != "spec_json_batch_empty.json"
    )


class TestCorpus:
    @pytest.mark.parametrize("path", corpus_files(negative=False), ids=lambda p: p.name)
    def test_valid_published_events_are_accepted(self, path: Path) -> None:
        raw = path.read_bytes()
        event = parse_structured(raw)
        original = json.loads(raw)
        assert event.id == original["id"]
        assert event.type == original["type"]
        # Rendering it again gives the same object, minus null attributes (== absent).
        assert to_mapping(event) == {k: v for k, v in original.items() if v is not None}

    @pytest.mark.parametrize("path", corpus_files(negative=True), ids=lambda p: p.name)
    def test_negative_published_events_are_rejected_with_a_reason(self, path: Path) -> None:
        with pytest.raises(InvalidEnvelope, match="lower-case"):
            parse_structured(path.read_bytes())

    def test_empty_batch_is_an_empty_list(self) -> None:
        assert parse_batch((CORPUS / "spec_json_batch_empty.json").read_bytes()) == []

    def test_offset_time_is_kept(self) -> None:
        event = parse_structured((CORPUS / "sdkjava_v1_json_data.json").read_bytes())
        assert event.time == datetime(2018, 4, 26, 12, 48, 9, tzinfo=UTC)
        assert event.time is not None
        assert event.time.utcoffset() == timedelta(hours=2)

    def test_typed_extensions_keep_their_json_types(self) -> None:
        event = parse_structured((CORPUS / "sdkjava_v1_json_data_with_ext.json").read_bytes())
        assert event.extensions == {"astring": "aaa", "aboolean": True, "anumber": 10}


def _base(**overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"specversion": "1.0", "id": "e-1", "source": "/test", "type": "t.x"}
    obj.update(overrides)
    return obj


class TestStrictness:
    @pytest.mark.parametrize("missing", ["id", "source", "type", "specversion"])
    def test_required_attribute_missing(self, missing: str) -> None:
        obj = _base()
        del obj[missing]
        with pytest.raises(InvalidEnvelope, match=missing):
            from_mapping(obj)

    def test_wrong_specversion(self) -> None:
        with pytest.raises(InvalidEnvelope, match="specversion"):
            from_mapping(_base(specversion="0.3"))

    @pytest.mark.parametrize(
        "value",
        [
            "2018-04-05",
            "2018-04-05T17:31:00",
            "yesterday",
            "2018-04-05 17:31:00Z",
            "2018-13-05T17:31:00Z",
        ],
    )
    def test_time_must_be_rfc3339_with_offset(self, value: str) -> None:
        with pytest.raises(InvalidEnvelope, match="time"):
            from_mapping(_base(time=value))

    def test_time_must_be_a_string(self) -> None:
        with pytest.raises(InvalidEnvelope, match="time"):
            from_mapping(_base(time=1_700_000_000))

    @pytest.mark.parametrize("name", ["Actor", "part_key", "with-dash", "ünï"])
    def test_extension_names_must_be_lower_case_alphanumeric(self, name: str) -> None:
        with pytest.raises(InvalidEnvelope, match=name):
            from_mapping(_base(**{name: "x"}))

    @pytest.mark.parametrize("value", [4.2, {"a": 1}, [1], 2**31])
    def test_extension_values_must_have_a_cloudevents_type(self, value: object) -> None:
        with pytest.raises(InvalidEnvelope, match="myext"):
            from_mapping(_base(myext=value))

    def test_data_and_data_base64_are_exclusive(self) -> None:
        with pytest.raises(InvalidEnvelope, match="data_base64"):
            from_mapping(_base(data={}, data_base64="e30="))

    @pytest.mark.parametrize(
        "attributes",
        [
            {"data": {}, "data_base64": "e30="},
            {"dataschema": ""},
            {"time": "2026-01-01T00:00:00"},
            {"subject": 7},
            {"myext": 1.5},
            {"specversion": "0.3"},
        ],
        ids=["data-and-base64", "empty-dataschema", "naive-time", "subject", "ext", "spec"],
    )
    def test_parsed_text_is_checked_like_a_built_mapping(self, attributes: dict[str, Any]) -> None:
        # Parsing skips pydantic's validation of the envelope (its data is JSON already), so
        # it must refuse everything from_mapping refuses, with the same reason.
        with pytest.raises(InvalidEnvelope) as built:
            from_mapping(_base(**attributes))
        for parse in (parse_structured, lambda raw: parse_batch(b"[" + raw + b"]")):
            with pytest.raises(InvalidEnvelope) as parsed:
                parse(json.dumps(_base(**attributes)).encode())
            assert str(parsed.value).removeprefix("[0] ") == str(built.value)

    def test_placeholder_base64_is_rejected_when_the_bytes_are_needed(self) -> None:
        event = parse_structured((CORPUS / "spec_json_format_binary_data_base64.json").read_bytes())
        with pytest.raises(InvalidEnvelope, match="base64"):
            event.data_bytes()

    def test_not_json(self) -> None:
        with pytest.raises(InvalidEnvelope, match="JSON"):
            parse_structured(b"{not json")

    def test_batch_error_names_the_index(self) -> None:
        batch = json.dumps([_base(), _base(id="")])
        with pytest.raises(InvalidEnvelope, match=r"^\[1\] id"):
            parse_batch(batch)

    def test_batch_must_be_an_array(self) -> None:
        with pytest.raises(InvalidEnvelope, match="array"):
            parse_batch(json.dumps(_base()))

    def test_naive_time_rejected_on_construction(self) -> None:
        with pytest.raises(ValueError, match="offset"):
            CloudEvent(id="1", source="/s", type="t", time=datetime(2026, 1, 1))


class TestKafkaBinaryMode:
    def test_headers_follow_the_binding(self) -> None:
        event = from_mapping(
            _base(
                subject="support-summarizer",
                time="2026-11-26T10:00:00Z",
                datacontenttype="application/json",
                data={"a": 1},
                actor="ci-bot",
                partitionkey="support-summarizer",
            )
        )
        value, headers = to_kafka_binary(event)
        names = dict(headers)
        assert value == b'{"a":1}'
        assert names["ce_specversion"] == b"1.0"
        assert names["ce_id"] == b"e-1"
        assert names["ce_type"] == b"t.x"
        assert names["ce_time"] == b"2026-11-26T10:00:00Z"
        assert names["ce_partitionkey"] == b"support-summarizer"
        assert names["ce_actor"] == b"ci-bot"
        assert names["content-type"] == b"application/json"
        assert "ce_datacontenttype" not in names
        assert from_kafka_record(value, headers) == event

    def test_non_json_data_travels_as_raw_bytes(self) -> None:
        event = parse_structured((CORPUS / "sdkjava_v1_base64_json_data.json").read_bytes())
        value, headers = to_kafka_binary(event)
        assert value == b"{}"
        again = from_kafka_record(value, headers)
        assert again.data == {}

    def test_binary_content_type_round_trips_as_base64(self) -> None:
        event = from_mapping(
            _base(datacontenttype="application/octet-stream", data_base64="AAEC/w==")
        )
        value, headers = to_kafka_binary(event)
        assert value == b"\x00\x01\x02\xff"
        assert from_kafka_record(value, headers) == event

    def test_structured_records_are_detected(self) -> None:
        event = from_mapping(_base(data={"x": 1}))
        headers = [("content-type", b"application/cloudevents+json; charset=UTF-8")]
        assert from_kafka_record(dump_structured(event), headers) == event

    def test_record_without_specversion_is_not_a_cloudevent(self) -> None:
        with pytest.raises(InvalidEnvelope, match="ce_specversion"):
            from_kafka_record(b"{}", [("ce_id", b"1")])

    def test_invalid_json_value_is_rejected(self) -> None:
        event = from_mapping(_base(data={"x": 1}))
        _, headers = to_kafka_binary(event)
        with pytest.raises(InvalidEnvelope, match="JSON"):
            from_kafka_record(b"{broken", headers)


# --- property tests -----------------------------------------------------------------------

_names = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=20).filter(
    lambda n: (
        n
        not in {
            "specversion",
            "id",
            "source",
            "type",
            "datacontenttype",
            "dataschema",
            "subject",
            "time",
            "data",
        }
    )
)
_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    min_size=1,
    max_size=40,
)
_times = st.datetimes(
    min_value=datetime(1970, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]
    ),
)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def cloud_events(draw: st.DrawFn, string_extensions_only: bool = False) -> CloudEvent:
    """Arbitrary valid CloudEvents with JSON data."""
    ext_values = (
        _text
        if string_extensions_only
        else (_text | st.booleans() | st.integers(-(2**31), 2**31 - 1))
    )
    return CloudEvent(
        id=draw(_text),
        source=draw(_text),
        type=draw(_text),
        subject=draw(st.none() | _text),
        time=draw(st.none() | _times),
        datacontenttype="application/json",
        data=cast(JsonValue, draw(st.dictionaries(_text, _json, max_size=5))),
        extensions=draw(st.dictionaries(_names, ext_values, max_size=4)),
    )


class TestRoundTrips:
    @given(cloud_events())
    def test_structured_json_round_trip(self, event: CloudEvent) -> None:
        assert parse_structured(dump_structured(event)) == event

    @given(st.lists(cloud_events(), max_size=5))
    def test_batch_round_trip(self, events: list[CloudEvent]) -> None:
        assert parse_batch(dump_batch(events)) == events

    @given(cloud_events(string_extensions_only=True))
    def test_kafka_binary_round_trip(self, event: CloudEvent) -> None:
        value, headers = to_kafka_binary(event)
        assert from_kafka_record(value, headers) == event

    @given(_times)
    def test_time_format_round_trip(self, moment: datetime) -> None:
        assert parse_time(format_time(moment)) == moment
