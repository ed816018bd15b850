"""aigov's contract on top of the envelope: `decode` and the consumers' `decode_record`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from aigov_events.catalog import MODELS, EventPayload
from aigov_events.envelope import (
    CloudEvent,
    dump_structured,
    from_kafka_record,
    json_event,
    to_kafka_binary,
)
from aigov_events.errors import InvalidEnvelope, InvalidPayload
from aigov_events.message import decode, decode_record, new_event


def _published(model: type[EventPayload]) -> tuple[bytes | None, list[tuple[str, bytes]]]:
    event = new_event(model.model_validate(model.example), source="/test", actor="ci")
    return to_kafka_binary(event.envelope)


class TestNewEvent:
    @pytest.mark.parametrize("model", MODELS, ids=lambda m: m.event_type)
    def test_the_envelope_is_the_one_the_model_would_validate(
        self, model: type[EventPayload]
    ) -> None:
        # new_event builds its envelope without walking the data as JsonValue again:
        # the validated model of the same attributes must be equal, field for field.
        event = new_event(model.model_validate(model.example), source="/test", actor="ci")
        envelope = event.envelope
        validated = CloudEvent(
            id=envelope.id,
            source=envelope.source,
            type=envelope.type,
            subject=envelope.subject,
            time=envelope.time,
            datacontenttype=envelope.datacontenttype,
            data=envelope.data,
            extensions=envelope.extensions,
        )
        assert validated == event.envelope
        assert validated.model_fields_set == event.envelope.model_fields_set

    @pytest.mark.parametrize(
        ("attributes", "named"),
        [
            ({"id": ""}, "id"),
            ({"source": ""}, "source"),
            ({"type": 3}, "type"),
            ({"subject": 3}, "subject"),
            ({"time": datetime(2026, 1, 1)}, "time"),
            ({"extensions": {"Actor": "x"}}, "Actor"),
            ({"extensions": {"id": "x"}}, "id"),
            ({"extensions": {"count": 2**40}}, "32-bit"),
            ({"extensions": {"flag": None}}, "null"),
        ],
    )
    def test_a_bad_attribute_is_refused_and_named(
        self, attributes: dict[str, object], named: str
    ) -> None:
        good: dict[str, object] = {
            "id": "e-1",
            "source": "/test",
            "type": "io.aigov.test.v1",
            "time": datetime(2026, 1, 1, tzinfo=UTC),
            "data": {"a": 1},
            "subject": "sys-1",
            "extensions": {"actor": "ci"},
        }
        with pytest.raises(InvalidEnvelope, match=named):
            json_event(**{**good, **attributes})  # type: ignore[arg-type]


class TestDecodeRecord:
    @pytest.mark.parametrize("model", MODELS, ids=lambda m: m.event_type)
    def test_a_binary_record_decodes_as_its_envelope_does(self, model: type[EventPayload]) -> None:
        # decode_record validates the payload from the record's bytes; decode prints the
        # parsed data again first. Both must give the same event.
        value, headers = _published(model)
        fast = decode_record(value, headers)
        slow = decode(from_kafka_record(value, headers))
        assert fast == slow
        assert type(fast.payload) is model

    def test_a_structured_record_decodes_too(self) -> None:
        model = MODELS[0]
        event = new_event(model.model_validate(model.example), source="/test", actor="ci")
        headers = [("content-type", b"application/cloudevents+json")]
        decoded = decode_record(dump_structured(event.envelope), headers)
        assert decoded.payload == event.payload
        assert decoded.envelope == event.envelope

    def test_a_bad_field_in_the_record_bytes_is_named(self) -> None:
        model = MODELS[0]
        value, headers = _published(model)
        assert value is not None
        data = json.loads(value)
        data["system_id"] = 7
        with pytest.raises(InvalidPayload) as refused:
            decode_record(json.dumps(data).encode(), headers)
        assert "system_id" in dict(refused.value.errors)

    def test_a_json_string_holding_an_object_is_not_an_object(self) -> None:
        # Before, a string `data` went to validate_payload as if it were JSON text, so an
        # object smuggled in a string was accepted.
        model = MODELS[0]
        value, headers = _published(model)
        assert value is not None
        smuggled = json.dumps(value.decode()).encode()
        with pytest.raises(InvalidPayload):
            decode_record(smuggled, headers)
        with pytest.raises(InvalidPayload):
            decode(from_kafka_record(smuggled, headers))

    def test_an_actorless_record_is_refused(self) -> None:
        model = MODELS[0]
        value, headers = _published(model)
        headers = [(name, raw) for name, raw in headers if name != "ce_actor"]
        with pytest.raises(InvalidEnvelope, match="actor"):
            decode_record(value, headers)
