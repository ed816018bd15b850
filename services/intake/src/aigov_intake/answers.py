"""The part of intake's batch answers that lists events: ids, and (id, source) pairs.

An event is identified by (source, id): evidence's `GET /v1/events/{id}?source=` needs
both when two sources used one id. The id lists stay for existing clients; the
`*_events` lists say each event's source.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class EventRef(BaseModel):
    """One event, as evidence identifies it."""

    id: str = Field(description="CloudEvents `id`.")
    source: str = Field(description="CloudEvents `source`: pass it to evidence as `?source=`.")


class ListsEvents(BaseModel):
    """The events a request published, and those its sender had sent before."""

    accepted: list[str] = Field(description="Ids of the events published by this request.")
    duplicates: list[str] = Field(
        default_factory=list,
        description="Ids whose (source, id) this principal sent earlier: not published again.",
    )
    accepted_events: list[EventRef] = Field(
        default_factory=list,
        description="The events of `accepted`, in the same order, with their source.",
    )
    duplicate_events: list[EventRef] = Field(
        default_factory=list,
        description="The events of `duplicates`, in the same order, with their source.",
    )
