"""`GET /v1/events/{id}`: is this event recorded yet? An event is (source, id)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict

from aigov_evidence import ledger
from aigov_evidence.api.deps import NO_NUL_PATTERN, GateCaller, Session
from aigov_runtime.errors import ProblemError, problem_responses
from aigov_runtime.tags import Tag

router = APIRouter(tags=[Tag.EVIDENCE])


class RecordedEventOut(BaseModel):
    """Where an event sits in the ledger."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    source: str
    recorded: Literal[True] = True
    type: str
    system: str
    sequence: int
    recorded_at: datetime
    hash: str


@router.get(
    "/events/{event_id}",
    summary="Whether an event has been recorded in the ledger yet",
    response_model=RecordedEventOut,
    responses=problem_responses(401, 403, 404, 409, 422),
    description="200 once the event is in the ledger; 404 until then (a CI job polls this to "
    "wait for its own writes before asking the gate). An event is identified by (source, id): "
    "without `source`, 409 lists the sources when more than one recorded an event with this "
    "id (ask again with `source`).",
)
async def recorded_event(
    event_id: Annotated[str, Path(min_length=1, max_length=200, pattern=NO_NUL_PATTERN)],
    _caller: GateCaller,
    session: Session,
    source: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=1000,
            pattern=NO_NUL_PATTERN,
            description="The event's CloudEvents `source`.",
        ),
    ] = None,
) -> RecordedEventOut:
    """Where the event sits in the ledger; 404 if not recorded (yet), 409 if ambiguous."""
    records = await ledger.recorded_events(session, event_id, source=source)
    if not records:
        of = f" from source {source!r}" if source is not None else ""
        raise ProblemError(404, f"event {event_id!r}{of} is not recorded (yet)")
    if len(records) > 1:
        sources = ", ".join(repr(r.source) for r in records)
        raise ProblemError(
            409,
            f"event id {event_id!r} is recorded from {len(records)} sources ({sources}); "
            "pass ?source= to choose one",
        )
    [record] = records
    return RecordedEventOut(
        event_id=record.event_id,
        source=record.source,
        type=record.event_type,
        system=record.system_id,
        sequence=record.sequence,
        recorded_at=record.recorded_at,
        hash=record.hash,
    )
