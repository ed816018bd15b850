"""CloudEvents 1.0 envelope: strict parsing, the JSON formats and the Kafka binary binding.

The envelope is generic (any CloudEvent a client sends can be parsed and rejected
with a reason); `aigov_events.message` adds what aigov requires on top of it.

Choices worth knowing:
- Extension names must be lower-case letters and digits (CloudEvents 1.0 §Naming).
- Extension values are strings, booleans or integers in the CloudEvents Integer
  range; other JSON types (floats, objects, arrays, null) have no CloudEvents type
  and are rejected. Binary, URI and Timestamp extensions travel as strings.
- `time` must be RFC 3339 with an explicit offset; nothing looser is guessed.
- `data_base64` is kept as text and decoded only when the bytes are asked for,
  so an event can be routed without touching its data.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import to_json

from aigov_events.errors import InvalidEnvelope

SPECVERSION: Final = "1.0"
STRUCTURED_CONTENT_TYPE: Final = "application/cloudevents+json"
BATCH_CONTENT_TYPE: Final = "application/cloudevents-batch+json"
JSON_CONTENT_TYPE: Final = "application/json"

#: Context attributes defined by the spec (everything else at the top level is an extension).
_CONTEXT_ATTRIBUTES: Final = frozenset(
    {"specversion", "id", "source", "type", "datacontenttype", "dataschema", "subject", "time"}
)
_DATA_MEMBERS: Final = frozenset({"data", "data_base64"})
_EXTENSION_NAME: Final = re.compile(r"^[a-z0-9]+$")
_RFC3339: Final = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
#: Well-formed extension names every aigov event carries, checked without the pattern.
_KNOWN_EXTENSIONS: Final = frozenset({"actor", "partitionkey"})
_INT32_MIN: Final = -(2**31)
_INT32_MAX: Final = 2**31 - 1

ExtensionValue = str | bool | int


def parse_time(value: str) -> datetime:
    """Parse an RFC 3339 timestamp with an explicit offset; raise InvalidEnvelope otherwise."""
    if not _RFC3339.match(value):
        raise InvalidEnvelope(f"time: {value!r} is not an RFC 3339 timestamp with an offset")
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidEnvelope(f"time: {value!r} is not a valid timestamp ({exc})") from None


def format_time(value: datetime) -> str:
    """Format a timezone-aware datetime as RFC 3339 (UTC as `Z`)."""
    if value.tzinfo is None:
        raise ValueError("CloudEvents times must be timezone-aware")
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _check_extension(name: str, value: object) -> ExtensionValue:
    if name not in _KNOWN_EXTENSIONS and not _EXTENSION_NAME.match(name):
        raise InvalidEnvelope(
            f"extension {name!r}: names must be lower-case letters a-z and digits 0-9"
        )
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if not _INT32_MIN <= value <= _INT32_MAX:
            raise InvalidEnvelope(
                f"extension {name!r}: integer {value} is outside the 32-bit range"
            )
        return value
    kind = "null" if value is None else type(value).__name__
    raise InvalidEnvelope(
        f"extension {name!r}: a {kind} has no CloudEvents type (use a string, boolean or integer)"
    )


def _require_text(name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidEnvelope(f"{name}: required, must be a non-empty string")


def _checked_extensions(extensions: Mapping[str, object]) -> dict[str, ExtensionValue]:
    """The extensions, each with a CloudEvents type and none named like a context attribute."""
    checked: dict[str, ExtensionValue] = {}
    for name, value in extensions.items():
        if name in _CONTEXT_ATTRIBUTES or name in _DATA_MEMBERS:
            raise InvalidEnvelope(f"{name!r} is a context attribute, not an extension")
        checked[name] = _check_extension(name, value)
    return checked


class CloudEvent(BaseModel):
    """One CloudEvents 1.0 event; extensions live in `extensions`, not as top-level fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    specversion: Literal["1.0"] = SPECVERSION
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    datacontenttype: str | None = None
    dataschema: str | None = Field(default=None, min_length=1)
    subject: str | None = None
    time: datetime | None = None
    data: JsonValue = None
    data_base64: str | None = None
    extensions: dict[str, ExtensionValue] = Field(default_factory=dict)

    @field_validator("time")
    @classmethod
    def _aware_time(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("time must carry a UTC offset")
        return value

    @field_validator("extensions")
    @classmethod
    def _valid_extensions(cls, value: dict[str, ExtensionValue]) -> dict[str, ExtensionValue]:
        _checked_extensions(value)
        return value

    @model_validator(mode="after")
    def _one_kind_of_data(self) -> CloudEvent:
        if self.data is not None and self.data_base64 is not None:
            raise ValueError("an event carries either data or data_base64, not both")
        return self

    @property
    def actor(self) -> str | None:
        """The authenticated principal that caused the event (aigov's `actor` extension)."""
        value = self.extensions.get("actor")
        return value if isinstance(value, str) else None

    @property
    def partitionkey(self) -> str | None:
        """The Partitioning extension's key (for aigov: the AI system id)."""
        value = self.extensions.get("partitionkey")
        return value if isinstance(value, str) else None

    def data_bytes(self) -> bytes | None:
        """Return the data as bytes: decoded `data_base64`, UTF-8 text, or JSON for JSON data."""
        if self.data_base64 is not None:
            try:
                return base64.b64decode(self.data_base64, validate=True)
            except binascii.Error as exc:
                raise InvalidEnvelope(f"data_base64: not valid base64 ({exc})") from None
        if self.data is None:
            return None
        if isinstance(self.data, str) and not is_json_content_type(self.datacontenttype):
            return self.data.encode("utf-8")
        # pydantic-core's serializer: the compact UTF-8 JSON json.dumps would give (NaN and
        # Infinity included), several times faster, and this runs for every record published.
        return to_json(self.data, inf_nan_mode="constants")

    def with_extensions(self, **extensions: ExtensionValue) -> CloudEvent:
        """Return a copy with the given extensions set (e.g. intake stamping `actor`)."""
        merged = {**self.extensions, **extensions}
        return self.model_copy(update={"extensions": merged})


def is_json_content_type(content_type: str | None) -> bool:
    """Whether data of this content type is JSON (absent means JSON in the JSON format)."""
    if content_type is None:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == JSON_CONTENT_TYPE or media.endswith("+json")


def _first_error(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        location = ".".join(str(p) for p in error["loc"]) or "event"
        parts.append(f"{location}: {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def from_mapping(obj: Mapping[str, Any]) -> CloudEvent:
    """Build a CloudEvent from the JSON-format object (top-level extensions allowed)."""
    return _from_mapping(obj, parsed=False)


def _from_mapping(obj: Mapping[str, Any], *, parsed: bool) -> CloudEvent:
    """`from_mapping`; `parsed` says `obj` came out of `json.loads`, so its data is JSON."""
    if not isinstance(obj, Mapping):
        raise InvalidEnvelope(f"a CloudEvent must be a JSON object, got {type(obj).__name__}")
    specversion = obj.get("specversion")
    if specversion != SPECVERSION:
        raise InvalidEnvelope(f"specversion: expected '1.0', got {specversion!r}")
    for required in ("id", "source", "type"):
        _require_text(required, obj.get(required))
    fields: dict[str, Any] = {}
    extensions: dict[str, ExtensionValue] = {}
    for name, value in obj.items():
        if name in _CONTEXT_ATTRIBUTES or name in _DATA_MEMBERS:
            # JSON format: a null attribute is the same as an absent one.
            if value is not None:
                fields[name] = value
        else:
            extensions[name] = _check_extension(name, value)
    for name in ("datacontenttype", "dataschema", "subject", "data_base64"):
        if name in fields and not isinstance(fields[name], str):
            raise InvalidEnvelope(f"{name}: must be a string")
    if "time" in fields:
        if not isinstance(fields["time"], str):
            raise InvalidEnvelope("time: must be an RFC 3339 string")
        fields["time"] = parse_time(fields["time"])
    if parsed:
        # Every attribute is checked above; data out of json.loads is JSON by construction.
        # Validating it again node by node as JsonValue was a quarter of a consumer's CPU.
        if fields.get("dataschema") == "":
            raise InvalidEnvelope("dataschema: String should have at least 1 character")
        if "data" in fields and "data_base64" in fields:
            raise InvalidEnvelope("event: an event carries either data or data_base64, not both")
        return CloudEvent.model_construct(**fields, extensions=extensions)
    try:
        return CloudEvent(**fields, extensions=extensions)
    except ValidationError as exc:
        raise InvalidEnvelope(_first_error(exc)) from None


def json_event(
    *,
    id: str,
    source: str,
    type: str,
    time: datetime,
    data: Any,
    subject: str | None = None,
    extensions: Mapping[str, ExtensionValue] | None = None,
) -> CloudEvent:
    """A CloudEvent of JSON data that is JSON by construction (a model's JSON-mode dump).

    The attributes are checked as the model checks them; the data is not walked again
    node by node as `JsonValue`, which was most of the cost of building an event to publish.
    """
    for name, value in (("id", id), ("source", source), ("type", type)):
        _require_text(name, value)
    if subject is not None and not isinstance(subject, str):
        raise InvalidEnvelope("subject: must be a string")
    if not isinstance(time, datetime) or time.tzinfo is None:
        raise InvalidEnvelope("time: must be a datetime with a UTC offset")
    checked = _checked_extensions(extensions or {})
    return CloudEvent.model_construct(
        id=id,
        source=source,
        type=type,
        datacontenttype=JSON_CONTENT_TYPE,
        subject=subject,
        time=time,
        data=data,
        extensions=checked,
    )


def to_mapping(event: CloudEvent) -> dict[str, Any]:
    """Render the JSON-format object of an event (extensions at the top level)."""
    out: dict[str, Any] = {
        "specversion": event.specversion,
        "id": event.id,
        "source": event.source,
        "type": event.type,
    }
    for name in ("datacontenttype", "dataschema", "subject"):
        value = getattr(event, name)
        if value is not None:
            out[name] = value
    if event.time is not None:
        out["time"] = format_time(event.time)
    out.update(event.extensions)
    if event.data_base64 is not None:
        out["data_base64"] = event.data_base64
    elif event.data is not None:
        out["data"] = event.data
    return out


def _load_json(raw: bytes | str) -> Any:
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidEnvelope(f"body is not valid JSON: {exc}") from None


def parse_structured(raw: bytes | str) -> CloudEvent:
    """Parse one event in structured mode (`application/cloudevents+json`)."""
    return _from_mapping(_load_json(raw), parsed=True)


def parse_batch(raw: bytes | str) -> list[CloudEvent]:
    """Parse a batch (`application/cloudevents-batch+json`): a JSON array of events."""
    loaded = _load_json(raw)
    if not isinstance(loaded, list):
        raise InvalidEnvelope("a CloudEvents batch must be a JSON array")
    events = []
    for index, item in enumerate(loaded):
        try:
            events.append(_from_mapping(item, parsed=True))
        except InvalidEnvelope as exc:
            raise InvalidEnvelope(f"[{index}] {exc}") from None
    return events


def dump_structured(event: CloudEvent) -> bytes:
    """Serialise one event in structured JSON mode."""
    return json.dumps(to_mapping(event), separators=(",", ":"), ensure_ascii=False).encode()


def dump_batch(events: Iterable[CloudEvent]) -> bytes:
    """Serialise events as a JSON batch."""
    return json.dumps(
        [to_mapping(e) for e in events], separators=(",", ":"), ensure_ascii=False
    ).encode()


# --- Kafka protocol binding, binary content mode ---------------------------------------

KAFKA_HEADER_PREFIX: Final = "ce_"
KAFKA_CONTENT_TYPE_HEADER: Final = "content-type"

Headers = list[tuple[str, bytes]]


def _header_text(value: ExtensionValue | str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_kafka_binary(event: CloudEvent) -> tuple[bytes | None, Headers]:
    """Return (record value, headers) for the Kafka binary content mode.

    Every attribute except `datacontenttype` becomes a `ce_<name>` header holding its
    canonical string form; `datacontenttype` travels as `content-type`.
    """
    headers: Headers = [
        ("ce_specversion", event.specversion.encode()),
        ("ce_id", event.id.encode()),
        ("ce_source", event.source.encode()),
        ("ce_type", event.type.encode()),
    ]
    if event.subject is not None:
        headers.append(("ce_subject", event.subject.encode()))
    if event.dataschema is not None:
        headers.append(("ce_dataschema", event.dataschema.encode()))
    if event.time is not None:
        headers.append(("ce_time", format_time(event.time).encode()))
    for name, value in event.extensions.items():
        headers.append((KAFKA_HEADER_PREFIX + name, _header_text(value).encode()))
    content_type = event.datacontenttype
    if content_type is None and event.data is not None and event.data_base64 is None:
        content_type = JSON_CONTENT_TYPE
    if content_type is not None:
        headers.append((KAFKA_CONTENT_TYPE_HEADER, content_type.encode()))
    return event.data_bytes(), headers


def is_structured_record(headers: Sequence[tuple[str, bytes]]) -> bool:
    """Whether a Kafka record is in structured mode (content-type application/cloudevents...)."""
    for name, value in headers:
        if name.lower() == KAFKA_CONTENT_TYPE_HEADER:
            return _is_structured_content_type(value.decode("utf-8", "replace"))
    return False


def _is_structured_content_type(content_type: str) -> bool:
    return content_type.lower().startswith("application/cloudevents")


def from_kafka_record(value: bytes | None, headers: Sequence[tuple[str, bytes]]) -> CloudEvent:
    """Decode a Kafka record in binary or structured mode into a CloudEvent."""
    return read_kafka_record(value, headers)[0]


def read_kafka_record(
    value: bytes | None, headers: Sequence[tuple[str, bytes]]
) -> tuple[CloudEvent, bytes | None]:
    """`from_kafka_record`, and the JSON text the event's `data` was parsed from, if any.

    In binary mode with JSON data the record's value is that text, so a reader can validate
    the data from it without printing the parsed data again; otherwise it is None.
    """
    # One pass over the headers: consumers decode every record they read.
    attributes: dict[str, Any] = {}
    content_type: str | None = None
    not_utf8: str | None = None
    for name, raw in headers:
        lowered = name.lower()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            # Only binary mode needs its headers as text: a structured record may carry any.
            not_utf8 = not_utf8 or name
            if lowered != KAFKA_CONTENT_TYPE_HEADER:
                continue
            text = raw.decode("utf-8", "replace")
        if lowered.startswith(KAFKA_HEADER_PREFIX):
            attributes[lowered[len(KAFKA_HEADER_PREFIX) :]] = text
        elif lowered == KAFKA_CONTENT_TYPE_HEADER and content_type is None:
            content_type = text
    if content_type is not None and _is_structured_content_type(content_type):
        if value is None:
            raise InvalidEnvelope("structured-mode record has no value")
        return parse_structured(value), None
    if not_utf8 is not None:
        raise InvalidEnvelope(f"header {not_utf8!r} is not UTF-8")
    if "specversion" not in attributes:
        raise InvalidEnvelope("record carries no ce_specversion header: not a CloudEvent")
    if content_type is not None:
        attributes["datacontenttype"] = content_type
    data_json: bytes | None = None
    if value is not None:
        if is_json_content_type(content_type):
            try:
                attributes["data"] = json.loads(value)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise InvalidEnvelope(f"data is not valid JSON: {exc}") from None
            if attributes["data"] is not None:
                data_json = value
        else:
            attributes["data_base64"] = base64.b64encode(value).decode("ascii")
    return _from_mapping(attributes, parsed=True), data_json


def now() -> datetime:
    """The current time, timezone-aware UTC (what events are stamped with)."""
    return datetime.now(UTC)
