"""aigov's own events: a CloudEvent whose type is in the catalog and whose data is valid.

`new_event` builds one from a catalog payload (stamping id, time, subject,
partition key and actor); `decode` checks an incoming CloudEvent against the
contract and returns it with its typed payload.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Generic, TypeVar

from pydantic_core import to_json

from aigov_events.catalog import EventPayload, topic_for, validate_payload
from aigov_events.envelope import (
    CloudEvent,
    is_json_content_type,
    json_event,
    now,
    read_kafka_record,
)
from aigov_events.errors import InvalidEnvelope

P = TypeVar("P", bound=EventPayload)

ACTOR: Final = "actor"
PARTITION_KEY: Final = "partitionkey"


@dataclass(frozen=True, slots=True)
class DomainEvent(Generic[P]):
    """A validated aigov event: the envelope and its typed payload."""

    envelope: CloudEvent
    payload: P

    @property
    def id(self) -> str:
        """The event id (unique per source; aigov ids are UUIDs)."""
        return self.envelope.id

    @property
    def type(self) -> str:
        """The catalog type, e.g. `io.aigov.system.registered.v1`."""
        return self.envelope.type

    @property
    def system_id(self) -> str:
        """The AI system the event is about (also its partition key)."""
        return self.payload.system_id

    @property
    def actor(self) -> str:
        """The authenticated principal that caused the event."""
        actor = self.envelope.actor
        assert actor is not None  # decode() guarantees it
        return actor

    @property
    def time(self) -> datetime:
        """When the event happened."""
        time = self.envelope.time
        assert time is not None  # decode() guarantees it
        return time

    @property
    def topic(self) -> str:
        """The topic this event type belongs on."""
        return topic_for(self.envelope.type)


def new_event(
    payload: P,
    *,
    source: str,
    actor: str,
    event_id: str | None = None,
    time: datetime | None = None,
) -> DomainEvent[P]:
    """Wrap a catalog payload in a complete envelope, keyed by its AI system."""
    envelope = json_event(
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=payload.event_type,
        subject=payload.system_id,
        time=time or now(),
        data=payload.model_dump(mode="json", by_alias=True, exclude_none=True),
        extensions={ACTOR: actor, PARTITION_KEY: payload.system_id},
    )
    return DomainEvent(envelope=envelope, payload=payload)


def decode(envelope: CloudEvent, *, data_json: bytes | None = None) -> DomainEvent[EventPayload]:
    """Check a CloudEvent against aigov's contract and return it with its typed payload.

    `data_json` is the JSON text `envelope.data` was parsed from, when the caller has it
    (a binary-mode record's value): the payload is validated from it instead of printing
    the data again. Raises `UnknownEventType`, `InvalidPayload` or `InvalidEnvelope`
    naming what is wrong.
    """
    if not is_json_content_type(envelope.datacontenttype):
        raise InvalidEnvelope(
            f"datacontenttype: aigov events carry JSON data, got {envelope.datacontenttype!r}"
        )
    if envelope.data_base64 is not None:
        raise InvalidEnvelope("data_base64: aigov events carry JSON data in `data`")
    if data_json is None:
        # Printed as JSON, not passed as is: a string `data` is a JSON string, never JSON text.
        data_json = to_json(envelope.data, inf_nan_mode="constants")
    payload = validate_payload(envelope.type, data_json)
    if envelope.time is None:
        raise InvalidEnvelope("time: required on aigov events")
    if not envelope.actor:
        raise InvalidEnvelope("actor: required on aigov events (stamped by intake)")
    key = envelope.partitionkey
    if key is not None and key != payload.system_id:
        raise InvalidEnvelope(
            f"partitionkey: {key!r} differs from the payload's system_id {payload.system_id!r}"
        )
    if envelope.subject is not None and envelope.subject != payload.system_id:
        raise InvalidEnvelope(
            f"subject: {envelope.subject!r} differs from the payload's system_id "
            f"{payload.system_id!r}"
        )
    if key is None or envelope.subject is None:
        # Producers outside aigov may omit them; the contract is that both name the system.
        envelope = envelope.model_copy(
            update={
                "subject": payload.system_id,
                "extensions": {**envelope.extensions, PARTITION_KEY: payload.system_id},
            }
        )
    return DomainEvent(envelope=envelope, payload=payload)


def decode_record(
    value: bytes | None, headers: Sequence[tuple[str, bytes]]
) -> DomainEvent[EventPayload]:
    """Decode a Kafka record (binary or structured mode) into a validated aigov event."""
    envelope, data_json = read_kafka_record(value, headers)
    return decode(envelope, data_json=data_json)
