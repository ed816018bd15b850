"""Third-party payloads to catalog events: the tools' public formats and pure mappings.

This module holds what the CDEvents, OpenLineage and alerting (Alertmanager, Grafana)
adapters share.

An adapter parses a tool's payload with permissive pydantic models (real payloads vary
more than the tools' docs say), names the AI systems the payload itself mentions, and
maps it to `Draft`s: a catalog payload plus the id, source and time of the event to
publish. There is no HTTP here; `aigov_intake.api.webhooks` reads bodies, resolves the
AI system and runs the accept pipeline, so every mapping is testable as a plain function.

Event ids are derived from the tool's own identity of what happened (a CDEvent's
`context.id`, an OpenLineage run's id, state and time, an alert's fingerprint, status and
times), so a redelivered webhook is a duplicate of the first delivery, never a new event.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Final, TypeVar

from pydantic import BaseModel, BeforeValidator, Field, ValidationError, WithJsonSchema

from aigov_events.catalog import EventPayload
from aigov_events.message import DomainEvent, new_event
from aigov_intake.answers import ListsEvents

#: The key users put on labels, tags and custom data to name their AI system
#: (the same key as `aigov_intake.attribution.SYSTEM_KEY`).
SYSTEM_KEY: Final = "ai_system"
#: The key naming the release (version) of the AI system a payload is about (as in the
#: MLflow and GitHub adapters).
RELEASE_KEY: Final = "ai_release"

M = TypeVar("M", bound=BaseModel)
P = TypeVar("P", bound=EventPayload)
Loc = tuple[str | int, ...]


class PayloadRejected(Exception):
    """The payload cannot be mapped; `errors` locate each reason in the request (422)."""

    def __init__(self, detail: str, errors: Sequence[Mapping[str, Any]] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = [dict(e) for e in errors]


def field_error(loc: Iterable[str | int], msg: str, kind: str = "value_error") -> dict[str, Any]:
    """One failing field, in the shape of `aigov_runtime.errors.FieldError`."""
    return {"loc": list(loc), "msg": msg, "type": kind}


def parse(model: type[M], data: Any, *, loc: Loc = ("body",), what: str | None = None) -> M:
    """`model.model_validate(data)`, or PayloadRejected naming the JSON path of every failing field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            field_error([*loc, *err["loc"]], err["msg"], err["type"])
            for err in exc.errors(include_url=False, include_input=False)
        ]
        raise PayloadRejected(f"the body is not a valid {what or model.__name__}", errors) from None


def build(payload_type: type[P], *, loc: Loc, **fields: Any) -> P:
    """A catalog payload from mapped fields; a value the catalog refuses is the sender's (422)."""
    try:
        return payload_type.model_validate(fields)
    except ValidationError as exc:
        errors = [
            field_error(
                loc,
                f"maps to {payload_type.event_type} field "
                f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}",
                err["type"],
            )
            for err in exc.errors(include_url=False, include_input=False)
        ]
        raise PayloadRejected(
            f"the payload cannot be recorded as {payload_type.event_type}", errors
        ) from None


# --- what a mapping produces ------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """An event to publish: the catalog payload and the envelope attributes the tool fixed."""

    payload: EventPayload
    event_id: str
    source: str
    time: datetime


class IgnoredItem(BaseModel):
    """A part of the payload that was acknowledged but not published, and why."""

    ref: str = Field(description="What was ignored, in the tool's terms (type, alert, ...).")
    reason: str = Field(description="Why it has no aigov counterpart.")


@dataclass(frozen=True)
class Outcome:
    """What one webhook payload maps to: events to publish and parts deliberately ignored."""

    drafts: list[Draft] = field(default_factory=list)
    ignored: list[IgnoredItem] = field(default_factory=list)

    def receipt(self, answer: Mapping[str, Any] | None = None) -> WebhookReceipt:
        """The answer to the webhook once the events were accepted (or found to be duplicates).

        `answer` holds the `ListsEvents` fields (`Acceptance.answer()`); None: nothing was sent.
        """
        return WebhookReceipt(**(answer or {"accepted": []}), ignored=self.ignored)

    def events(self, *, actor: str) -> list[DomainEvent[Any]]:
        """The drafts as aigov events (one per distinct id: a payload repeating an item counts once)."""
        seen: set[tuple[str, str]] = set()
        events: list[DomainEvent[Any]] = []
        for draft in self.drafts:
            key = (draft.source, draft.event_id)
            if key not in seen:
                seen.add(key)
                events.append(
                    new_event(
                        draft.payload,
                        source=draft.source,
                        actor=actor,
                        event_id=draft.event_id,
                        time=draft.time,
                    )
                )
        return events


def ignored(ref: str, reason: str) -> Outcome:
    """An outcome that publishes nothing."""
    return Outcome(ignored=[IgnoredItem(ref=ref, reason=reason)])


class WebhookReceipt(ListsEvents):
    """Intake's answer to a webhook (202): what was published, already known, or ignored."""

    duplicates: list[str] = Field(
        default_factory=list,
        description="Ids accepted by an earlier delivery of the same payload: not published again.",
    )
    ignored: list[IgnoredItem] = Field(
        default_factory=list,
        description="Parts of the payload with no aigov counterpart: acknowledged, not published.",
    )


# --- attribution ------------------------------------------------------------------------------


def attribution_candidates(
    named: Sequence[str | None], query_system: str | None, *, item: str
) -> list[str | None]:
    """The candidates to resolve when each `item` of a payload may or may not name its system.

    All or none of the items must name one: attributing an unlabelled alert to the system its
    neighbours name would be a guess. Only the webhook URL's `?system=` may cover unlabelled
    items, and then it must agree with the labelled ones.
    """
    missing = [index for index, name in enumerate(named) if not (name and name.strip())]
    if not missing or len(missing) == len(named):
        return list(named)
    if query_system:
        return [*named, query_system]
    raise PayloadRejected(
        f"{len(missing)} of {len(named)} {item}s carry no {SYSTEM_KEY} label while the others "
        f"do: label every {item}, group by {SYSTEM_KEY}, or add ?system=<system id> to the "
        "webhook URL",
        [
            field_error(
                ["body", f"{item}s", index, "labels", SYSTEM_KEY],
                f"missing, while other {item}s of the payload name their AI system",
                "missing",
            )
            for index in missing[:50]
        ],
    )


# --- values shared by the tools' formats -------------------------------------------------------

_RFC3339: Final = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})?$"
)


def parse_timestamp(value: Any, *, naive_is_utc: bool) -> datetime:
    """An RFC 3339 timestamp; fractions beyond microseconds (Go's nanoseconds) are truncated."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            if not naive_is_utc:
                raise ValueError("timestamp needs a UTC offset")
            return value.replace(tzinfo=UTC)
        return value
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 timestamp string")
    match = _RFC3339.match(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not an RFC 3339 timestamp")
    date, clock, fraction, offset = match.groups()
    if offset is None:
        if not naive_is_utc:
            raise ValueError(f"{value!r} has no UTC offset (Z or +hh:mm)")
        offset = "+00:00"
    elif offset in ("Z", "z"):
        offset = "+00:00"
    micro = (fraction or "")[:6].ljust(6, "0")
    try:
        return datetime.fromisoformat(f"{date}T{clock}.{micro}{offset}")
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid timestamp ({exc})") from None


def _aware(value: Any) -> datetime:
    return parse_timestamp(value, naive_is_utc=False)


def _naive_as_utc(value: Any) -> datetime:
    return parse_timestamp(value, naive_is_utc=True)


_TIMESTAMP_SCHEMA: Final = WithJsonSchema({"type": "string", "format": "date-time"})

AwareTimestamp = Annotated[datetime, BeforeValidator(_aware), _TIMESTAMP_SCHEMA]
"""RFC 3339 with an offset (what Alertmanager, Grafana and CDEvents always send)."""

UtcIfNaiveTimestamp = Annotated[datetime, BeforeValidator(_naive_as_utc), _TIMESTAMP_SCHEMA]
"""RFC 3339; a timestamp without an offset is read as UTC (see docs/integrations/openlineage.md)."""


def utc_text(moment: datetime) -> str:
    """A canonical text of an instant, so equal instants hash equally whatever their offset."""
    return moment.astimezone(UTC).isoformat()


def stable_id(*parts: str) -> str:
    """A UUID derived from `parts` (RFC 9562 version 8, from SHA-256): same parts, same id."""
    digest = bytearray(hashlib.sha256(json.dumps(parts).encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x80  # version 8: application-defined
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 9562 variant
    return str(uuid.UUID(bytes=bytes(digest)))


_SLUG: Final = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_CAMEL_BOUNDARY: Final = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def slugify(text: str | None) -> str | None:
    """A catalog slug for a tool's name (`HighMemoryUsage` -> `high_memory_usage`), or None."""
    if text is None:
        return None
    text = text.strip()
    if _SLUG.match(text):
        return text
    words = _CAMEL_BOUNDARY.sub("_", text).lower()
    slug = re.sub(r"[^a-z0-9_-]+", "_", words).strip("_-")
    slug = slug.lstrip("0123456789_-")[:64].rstrip("_-")
    return slug or None


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters (an ellipsis marks the cut)."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- OpenAPI ----------------------------------------------------------------------------------


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of `model` with `$defs` inlined, so it can sit inside an OpenAPI operation."""
    schema = model.model_json_schema(by_alias=True)
    definitions: dict[str, Any] = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                target = resolve(definitions[ref.removeprefix("#/$defs/")])
                return {**target, **{k: resolve(v) for k, v in node.items() if k != "$ref"}}
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def request_body(
    description: str, content: Mapping[str, tuple[dict[str, Any], Any]]
) -> dict[str, Any]:
    """`openapi_extra` documenting a raw-body route: media type -> (schema, example)."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {
                media: {"schema": schema, "example": example}
                for media, (schema, example) in content.items()
            },
        }
    }
