"""Base classes of the catalog: strict value objects and the event payload contract."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Final

from pydantic import BaseModel, ConfigDict

from aigov_events.catalog.primitives import EVENT_TYPE_PATTERN, ReleaseVersion, SystemId
from aigov_events.topics import MAIN_TOPICS

_EVENT_TYPE: Final = re.compile(EVENT_TYPE_PATTERN)


class StrictModel(BaseModel):
    """A frozen value object that rejects unknown fields, NaN and infinities."""

    # Events are facts in an append-only ledger: immutable, and a typo in a field name
    # is an error the producer must see rather than data silently dropped.
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
        use_attribute_docstrings=True,
    )


class EventPayload(StrictModel):
    """The `data` of an aigov event: every payload names the AI system it is about."""

    event_type: ClassVar[str]
    """The CloudEvents `type`, `io.aigov.<noun>.<verb>.v<N>`."""
    topic: ClassVar[str]
    """The topic events of this type are published on."""
    example: ClassVar[Mapping[str, Any]]
    """A valid payload in its JSON form, used by the docs and the tests."""
    decides: ClassVar[bool] = False
    """True for events that decide on a release (approvals, waiver decisions, the gate) rather
    than submit evidence for it: their actor never becomes one of the release's submitters.
    The one definition intake's separation of duties and evidence's projections both use."""

    system_id: SystemId
    """Id of the AI system (also the CloudEvents subject and the Kafka record key)."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Check a concrete event class declares a well-formed type, topic, docstring and example."""
        super().__pydantic_init_subclass__(**kwargs)
        if "event_type" not in cls.__dict__:
            return  # an intermediate base class such as ReleasePayload
        if not _EVENT_TYPE.fullmatch(cls.event_type):
            raise TypeError(f"{cls.__name__}.event_type {cls.event_type!r} is not io.aigov.*.v<N>")
        if cls.__dict__.get("topic") not in MAIN_TOPICS:
            raise TypeError(f"{cls.__name__}.topic must be one of {MAIN_TOPICS}")
        if not (cls.__doc__ or "").strip() or "example" not in cls.__dict__:
            raise TypeError(f"{cls.__name__} needs a docstring and an example")


class ReleasePayload(EventPayload):
    """A payload about one release of an AI system, i.e. (system id, version)."""

    version: ReleaseVersion
    """Release version, as the producer's CI/CD names it."""
