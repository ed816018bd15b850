"""`POST /v1/events`: CloudEvents in structured, batch and HTTP binary mode."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request, status

from aigov_events.catalog import EvaluationCompleted
from aigov_events.envelope import (
    BATCH_CONTENT_TYPE,
    STRUCTURED_CONTENT_TYPE,
    CloudEvent,
    from_mapping,
    is_json_content_type,
    now,
)
from aigov_events.errors import InvalidEnvelope, InvalidPayload, UnknownEventType
from aigov_events.message import ACTOR, DomainEvent, decode
from aigov_intake import service
from aigov_intake.answers import ListsEvents
from aigov_intake.api.deps import Caller, accept, accept_problems
from aigov_intake.bodies import media_type, parse_json, payload_errors, unprocessable
from aigov_runtime.auth import Principal
from aigov_runtime.errors import FieldError, ProblemError
from aigov_runtime.tags import Tag

router = APIRouter(prefix="/v1", tags=[Tag.EVIDENCE])

MAX_BATCH_EVENTS: Final = 1000
HTTP_HEADER_PREFIX: Final = "ce-"
VIA: Final = "events"


class Accepted(ListsEvents):
    """The events intake published (202) and those this principal had sent before."""


_EXAMPLE_EVENT: Final[dict[str, Any]] = {
    "specversion": "1.0",
    "id": "0b6f3c9e-6a55-4c1e-9d0b-8a3c8f6c2e11",
    "source": "https://ci.example.com/support-ml",
    "type": EvaluationCompleted.event_type,
    "subject": "support-summarizer",
    "time": "2026-11-20T10:00:00Z",
    "datacontenttype": "application/json",
    "data": dict(EvaluationCompleted.example),
}

_CLOUDEVENT_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["specversion", "id", "source", "type", "data"],
    "properties": {
        "specversion": {"const": "1.0"},
        "id": {"type": "string", "minLength": 1},
        "source": {"type": "string", "minLength": 1},
        "type": {
            "type": "string",
            "description": "An aigov catalog type, io.aigov.<noun>.<verb>.v<N> (docs/events.md).",
        },
        "subject": {"type": "string", "description": "The AI system id."},
        "time": {"type": "string", "format": "date-time"},
        "datacontenttype": {"const": "application/json"},
        "data": {"type": "object", "description": "The payload of `type` (docs/events/)."},
    },
    "additionalProperties": {"type": ["string", "boolean", "integer"]},
}

OPENAPI_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "description": (
            "One CloudEvent (structured mode), a JSON array of up to 1,000 (batch mode, all or "
            "nothing; an empty array `[]` is valid and publishes nothing: 202 with no accepted "
            "events), or the event's data with `ce-*` headers (binary mode). `actor` is set "
            "from the bearer token; a client-supplied value is replaced."
        ),
        "content": {
            STRUCTURED_CONTENT_TYPE: {"schema": _CLOUDEVENT_SCHEMA, "example": _EXAMPLE_EVENT},
            BATCH_CONTENT_TYPE: {
                "schema": {
                    "type": "array",
                    "items": _CLOUDEVENT_SCHEMA,
                    "maxItems": MAX_BATCH_EVENTS,
                },
                "examples": {
                    "one event": {"value": [_EXAMPLE_EVENT]},
                    "empty batch (nothing to publish)": {"value": []},
                },
            },
            "application/json": {
                "schema": {"type": "object", "description": "Binary mode: the data; ce-* headers."},
                "example": dict(EvaluationCompleted.example),
            },
        },
    }
}


def _from_binary_mode(request: Request, raw: bytes) -> CloudEvent:
    attributes: dict[str, Any] = {}
    for name, value in request.headers.items():
        lowered = name.lower()
        if lowered.startswith(HTTP_HEADER_PREFIX) and len(lowered) > len(HTTP_HEADER_PREFIX):
            attributes[lowered[len(HTTP_HEADER_PREFIX) :]] = value
    content_type = request.headers.get("content-type")
    if content_type:
        attributes["datacontenttype"] = content_type
    if not is_json_content_type(content_type):
        raise ProblemError(
            415,
            f"binary-mode data must be JSON (aigov payloads are JSON), got {content_type!r}",
        )
    attributes["data"] = parse_json(raw)
    return from_mapping(attributes)


def normalise(envelope: CloudEvent, principal: Principal) -> CloudEvent:
    """Intake's stamp: `actor` is the authenticated principal; `time` defaults to now."""
    update: dict[str, Any] = {"extensions": {**envelope.extensions, ACTOR: principal.name}}
    if envelope.time is None:
        update["time"] = now()
    return envelope.model_copy(update=update)


def _decode_all(envelopes: list[CloudEvent], principal: Principal) -> list[DomainEvent[Any]]:
    events: list[DomainEvent[Any]] = []
    errors: list[FieldError] = []
    for index, envelope in enumerate(envelopes):
        prefix: list[str | int] = ["body", index] if len(envelopes) > 1 else ["body"]
        try:
            events.append(decode(normalise(envelope, principal)))
        except UnknownEventType as exc:
            errors.append(
                FieldError(loc=[*prefix, "type"], msg=str(exc), type="unknown_event_type")
            )
        except InvalidPayload as exc:
            errors += payload_errors(exc, [*prefix, "data"])
        except InvalidEnvelope as exc:
            errors.append(FieldError(loc=prefix, msg=str(exc), type="invalid_envelope"))
    if errors:
        service.REJECTED.labels(VIA, "invalid").inc(len(envelopes))
        raise unprocessable("the events do not match the aigov event catalog", errors)
    return events


def _envelopes(request: Request, raw: bytes) -> list[CloudEvent]:
    kind = media_type(request)
    try:
        if kind == STRUCTURED_CONTENT_TYPE:
            return [from_mapping(_object(parse_json(raw)))]
        if kind == BATCH_CONTENT_TYPE:
            items = parse_json(raw)
            if not isinstance(items, list):
                raise InvalidEnvelope("a CloudEvents batch must be a JSON array")
            if len(items) > MAX_BATCH_EVENTS:
                raise ProblemError(
                    413, f"a batch holds at most {MAX_BATCH_EVENTS} events, got {len(items)}"
                )
            return [_indexed(index, item) for index, item in enumerate(items)]
        if "ce-specversion" in request.headers:
            return [_from_binary_mode(request, raw)]
    except InvalidEnvelope as exc:
        service.REJECTED.labels(VIA, "invalid").inc()
        raise unprocessable(
            "not a valid CloudEvent",
            [FieldError(loc=["body"], msg=str(exc), type="invalid_envelope")],
        ) from None
    service.REJECTED.labels(VIA, "content_type").inc()
    raise ProblemError(
        415,
        f"Content-Type {kind or '(none)'!r}: send {STRUCTURED_CONTENT_TYPE}, "
        f"{BATCH_CONTENT_TYPE}, or binary mode (ce-specversion and the other ce-* headers)",
        headers={"Accept-Post": f"{STRUCTURED_CONTENT_TYPE}, {BATCH_CONTENT_TYPE}"},
    )


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidEnvelope(f"a CloudEvent must be a JSON object, got {type(value).__name__}")
    return value


def _indexed(index: int, item: Any) -> CloudEvent:
    try:
        return from_mapping(_object(item))
    except InvalidEnvelope as exc:
        raise InvalidEnvelope(f"[{index}] {exc}") from None


@router.post(
    "/events",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Publish CloudEvents (structured, batch or binary mode)",
    response_model=Accepted,
    openapi_extra=OPENAPI_BODY,
    responses=accept_problems(
        400, 401, 403, 413, 415, 422, 429, 503, conflict="a manifest for a retired AI system"
    ),
)
async def post_events(request: Request, principal: Caller) -> Accepted:
    """Validate every event against the catalog, then publish them all or none (202 after ack).

    An empty batch is valid (CloudEvents JSON format) and is answered 202 with nothing
    accepted. Manifest revisions (`system.registered` / `system.updated`) are numbered and hashed by
    intake whatever the client put in them; a retired system's id is 409, and so is a
    (source, id) another principal already sent (the same principal's retry is a duplicate).
    """
    raw = await request.body()
    envelopes = _envelopes(request, raw)
    if not envelopes:
        # The CloudEvents JSON format allows an empty batch: a valid request publishing nothing.
        return Accepted(**service.Acceptance().answer())
    events = _decode_all(envelopes, principal)
    keys = [(e.envelope.source, e.id) for e in events]
    if len(set(keys)) != len(keys):
        raise ProblemError(422, "the batch repeats an event (same source and id)")
    result = await accept(request, events, principal=principal, via=VIA)
    return Accepted(**result.answer())
