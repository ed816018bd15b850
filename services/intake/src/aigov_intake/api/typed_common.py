"""What every typed endpoint shares: bodies, Idempotency-Key, ids, role checks, publishing.

Each typed endpoint turns one request into one catalog event and hands it to
`deps.accept`, so roles, separation of duties, de-duplication and the atomic publish are
the same as on `/v1/events`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Final, TypeVar

from fastapi import Depends, Header, Request
from pydantic import BaseModel, TypeAdapter, ValidationError

from aigov_events.bus import MAX_RECORD_BYTES
from aigov_events.catalog import EventPayload
from aigov_events.catalog.primitives import Identifier
from aigov_events.envelope import to_kafka_binary
from aigov_events.message import DomainEvent, new_event
from aigov_intake.api.deps import accept
from aigov_intake.bodies import read_json, unprocessable, validate_body
from aigov_intake.policy import NotAcceptedHere, NotAllowed, check_may_send
from aigov_intake.schemas import InvalidRequest
from aigov_runtime.auth import Principal
from aigov_runtime.errors import ProblemError

M = TypeVar("M", bound=BaseModel)

VIA: Final = "typed"
#: Room for the trace-context headers the publisher adds to each record.
TRACE_HEADER_ROOM: Final = 1024
_IDENTIFIER: Final = TypeAdapter(Identifier)
SOURCE_PREFIX: Final = "/aigov/intake"

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description=(
            "Makes a retry safe: the event id is derived from the key, this endpoint and the "
            "caller, so the same caller repeating a request is answered `duplicate: true` "
            "and nothing is published again. Ids intake issues (waiver, incident, alert) are "
            "derived from it too, so a retry gets the same id. Keys are scoped per caller: "
            "another principal's equal key is a different operation."
        ),
    ),
]


def clock() -> datetime:
    """Now, in UTC (a dependency, so tests can fix the time waiver expiries are checked at)."""
    return datetime.now(UTC)


Now = Annotated[datetime, Depends(clock)]
"""The request time: event `time`, default alert start, reference for waiver expiry."""


def source(endpoint: str) -> str:
    """The CloudEvents `source` of one typed endpoint (stable: it scopes Idempotency-Keys)."""
    return f"{SOURCE_PREFIX}/{endpoint}"


#: Namespaces the event ids intake derives from Idempotency-Keys (UUIDv5).
_EVENT_ID_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "https://aigov.io/intake/idempotency")


def principal_key(principal: Principal, idempotency_key: str | None) -> str | None:
    """The Idempotency-Key as scoped to its sender: equal keys of two principals differ.

    Principal names have no whitespace, so the newline cannot be forged into a name.
    """
    if idempotency_key is None:
        return None
    return f"{principal.name}\n{idempotency_key}"


def keyed_event_id(*, endpoint_source: str, principal: Principal, idempotency_key: str) -> str:
    """The event id a principal's Idempotency-Key stands for on one endpoint (a UUIDv5).

    Stable across that principal's retries, distinct across principals and endpoints, so
    consumers that de-duplicate by event id alone never merge two operations.
    """
    scoped = principal_key(principal, idempotency_key)
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, f"{endpoint_source}\n{scoped}"))


def issue_id(prefix: str, *, endpoint_source: str, idempotency_key: str | None) -> str:
    """A new id such as `W-7K3M9Q2X4B`: random, or derived from the Idempotency-Key.

    Derived ids make a retried request answer with the id the first attempt issued; pass
    the key as `principal_key` scopes it, so two principals' keys issue different ids.
    """
    if idempotency_key is None:
        digest = secrets.token_bytes(10)
    else:
        digest = hashlib.sha256(f"{endpoint_source}\n{idempotency_key}".encode()).digest()
    # 10 base32 characters = 50 bits: collisions are negligible at governance volumes.
    return f"{prefix}-{base64.b32encode(digest).decode('ascii')[:10]}"


def authorize(principal: Principal, *payload_types: type[EventPayload]) -> None:
    """403 unless `principal` may send every one of these event types.

    Checked before the body is read or an id is looked up, so a caller without the role
    learns nothing about which waivers or incidents exist.
    """
    for payload_type in payload_types:
        try:
            check_may_send(principal, payload_type)
        except NotAllowed as exc:
            raise ProblemError(403, str(exc)) from None
        except NotAcceptedHere as exc:  # pragma: no cover - typed endpoints send intake types
            raise ProblemError(422, str(exc)) from None


@contextmanager
def parsing(kind: str) -> Iterator[None]:
    """Answer 400, not 500, when a body is nested deeper than the parser can recurse."""
    try:
        yield
    except RecursionError:
        raise ProblemError(400, f"malformed {kind}: nested too deeply") from None


async def read_model(request: Request, model: type[M], *, allow_empty: bool = False) -> M:
    """The JSON body validated as `model` (415 / 400 / 422); `allow_empty` reads no body as `{}`."""
    if allow_empty and not (await request.body()).strip():
        return validate_body_as(model, {})
    with parsing("JSON"):
        data = await read_json(request)
    return validate_body_as(model, data)


def validate_body_as(model: type[M], data: Any) -> M:
    """`data` validated as `model`, or a 422 naming every failing field under `body`."""
    result: M = validate_body(model, data)
    return result


@contextmanager
def mapping_to_event() -> Iterator[None]:
    """Turn an InvalidRequest from a `to_payload` mapping into a 422 naming the request's fields."""
    try:
        yield
    except InvalidRequest as exc:
        raise unprocessable(exc.detail, exc.errors) from None


@dataclass(frozen=True)
class Published:
    """The event a typed request was turned into, and whether it was a retry."""

    event_id: str
    event_type: str
    system_id: str
    duplicate: bool
    source: str

    def fields(self) -> dict[str, Any]:
        """The `EventAccepted` fields of the response."""
        return {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "system_id": self.system_id,
            "duplicate": self.duplicate,
            "source": self.source,
        }


def check_fits_one_record(event: DomainEvent[Any]) -> None:
    """413 if the event cannot travel as one Kafka record.

    The bus would refuse it with a BusError, which the accept pipeline reports as the
    broker being unavailable (503, "retry later"): wrong for a request that can never fit.
    """
    value, headers = to_kafka_binary(event.envelope)
    size = len(event.system_id.encode()) + len(value or b"")
    size += sum(len(name) + len(header) for name, header in headers)
    if size + TRACE_HEADER_ROOM > MAX_RECORD_BYTES:
        raise ProblemError(
            413,
            f"the event would take {size} bytes; one event is at most {MAX_RECORD_BYTES} bytes "
            "(a Kafka record): keep large documents elsewhere and send their URI and hash",
        )


def known_id(value: str) -> bool:
    """Whether `value` is shaped like an id; any other path segment names no waiver or incident."""
    try:
        _IDENTIFIER.validate_python(value)
    except ValidationError:
        return False
    return True


async def publish(
    request: Request,
    payload: EventPayload,
    *,
    principal: Principal,
    endpoint_source: str,
    idempotency_key: str | None,
    now: datetime,
    manifests_numbered: bool = False,
) -> Published:
    """Hand the event to the accept pipeline (roles, duties, dedup, publish after ack).

    `manifests_numbered`: the caller numbered a manifest revision holding its lock.
    """
    event = new_event(
        payload,
        source=endpoint_source,
        actor=principal.name,
        event_id=(
            None
            if idempotency_key is None
            else keyed_event_id(
                endpoint_source=endpoint_source,
                principal=principal,
                idempotency_key=idempotency_key,
            )
        ),
        time=now,
    )
    check_fits_one_record(event)
    result = await accept(
        request, [event], principal=principal, via=VIA, manifests_numbered=manifests_numbered
    )
    return Published(
        event_id=event.id,
        event_type=event.type,
        system_id=payload.system_id,
        duplicate=(event.envelope.source, event.id) in result.duplicate_events,
        source=event.envelope.source,
    )


async def publish_mapped(
    request: Request,
    to_payload: Callable[[], EventPayload],
    *,
    principal: Principal,
    endpoint_source: str,
    idempotency_key: str | None,
    now: datetime,
) -> Published:
    """Map a request to its event (422 in the request's terms) and publish it."""
    with mapping_to_event():
        payload = to_payload()
    return await publish(
        request,
        payload,
        principal=principal,
        endpoint_source=endpoint_source,
        idempotency_key=idempotency_key,
        now=now,
    )


def ensure_status(
    current: str, allowed_from: Iterable[str], *, target: str, what: str, retry: bool
) -> None:
    """409 unless a `what` in state `current` may move to `target`.

    A repeat of the transition that already happened is let through when it carries an
    Idempotency-Key, so a retried request is reported as a duplicate instead of a conflict.
    """
    if current in allowed_from or (retry and current == target):
        return
    raise ProblemError(
        409, f"{what} is {current}; it cannot become {target}", current_status=current
    )
