"""Errors raised when an event does not meet the contract; each names what is wrong."""

from __future__ import annotations


class EventError(ValueError):
    """Base class: an event (envelope or payload) breaks the contract."""


class InvalidEnvelope(EventError):
    """The CloudEvents envelope is malformed (missing/ill-typed attribute, bad extension name...)."""


class UnknownEventType(EventError):
    """The `type` attribute names no event in the catalog."""

    def __init__(self, event_type: str) -> None:
        super().__init__(f"unknown event type {event_type!r}: not in the aigov event catalog")
        self.event_type = event_type


class InvalidPayload(EventError):
    """The `data` of a known event type fails its model; `errors` lists (field path, message)."""

    def __init__(self, event_type: str, errors: list[tuple[str, str]]) -> None:
        detail = "; ".join(f"{field}: {msg}" for field, msg in errors) or "invalid"
        super().__init__(f"invalid payload for {event_type}: {detail}")
        self.event_type = event_type
        self.errors = errors
