"""MLflow model-registry webhooks: the delivery envelope, and what each action means to aigov.

Every mapped action becomes `io.aigov.model_version.registered.v1`, a statement about one
model version identified by (registry, model name, registry version):

| MLflow event                  | aigov                                                       |
|-------------------------------|-------------------------------------------------------------|
| `model_version.created`       | model_version.registered with source, run id and all tags   |
| `model_version_tag.set`       | model_version.registered carrying that one tag              |
| `model_version_alias.created` | model_version.registered carrying that one alias            |
| `registered_model.created`    | ignored (202): a registered model has no version yet        |
| anything else                 | ignored (202), e.g. tag/alias deletions and prompt events   |

Later statements add tags and aliases to what consumers know about the version; the catalog
has no "model version updated" event, so a re-statement is the closest fact.

The AI system is the version's `ai_system` tag (on creation, or when that tag is set), else the
webhook URL's `?system=`. The release the version belongs to is its `ai_release` tag.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from aigov_events.catalog import ModelVersionRegistered
from aigov_events.catalog.primitives import Identifier, LabelKey, LabelValue, Uri
from aigov_events.message import DomainEvent, new_event
from aigov_intake.adapters import AwareTimestamp
from aigov_intake.attribution import SYSTEM_KEY
from aigov_runtime.errors import FieldError

REGISTRY: Final = "mlflow"
#: CloudEvents `source` of every event mapped from MLflow (deliveries name no server URL).
SOURCE: Final = "urn:aigov:webhook:mlflow"
#: The model-version tag naming the release (system version) a model version belongs to.
RELEASE_KEY: Final = "ai_release"
_EVENT_ID_NAMESPACE: Final = uuid.UUID("5b0f5c1e-8f0a-4b8e-9a55-6d1f3b6a0c21")
_MAX_TAGS: Final = 64

_URI: Final = TypeAdapter(Uri)
_IDENTIFIER: Final = TypeAdapter(Identifier)
_LABEL_KEY: Final = TypeAdapter(LabelKey)
_LABEL_VALUE: Final = TypeAdapter(LabelValue)

Text = Annotated[str, StringConstraints(max_length=10_000)]


class _Lenient(BaseModel):
    """A third-party shape: fields it adds in later releases are ignored, not errors."""

    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)


class MlflowDelivery(_Lenient):
    """The envelope of every MLflow webhook delivery."""

    # Strict: these name the event; a number here is not an MLflow delivery (the lenient
    # number-to-text coercion is for `data`, where MLflow sends versions either way).
    entity: Annotated[str, Strict(), StringConstraints(min_length=1, max_length=100)]
    action: Annotated[str, Strict(), StringConstraints(min_length=1, max_length=100)]
    timestamp: AwareTimestamp
    """When MLflow sent the delivery."""
    data: dict[str, Any]
    workspace: Text | None = None
    """Present when the MLflow server runs with workspaces enabled."""

    @property
    def event(self) -> str:
        """The MLflow event name, `<entity>.<action>`."""
        return f"{self.entity}.{self.action}"


class ModelVersionCreated(_Lenient):
    """`data` of `model_version.created`."""

    name: Text
    version: Text
    source: Text | None = None
    run_id: Text | None = None
    tags: dict[Text, Text] = Field(default_factory=dict)
    description: Text | None = None


class ModelVersionTagSet(_Lenient):
    """`data` of `model_version_tag.set`."""

    name: Text
    version: Text
    key: Text
    value: Text


class ModelVersionAliasCreated(_Lenient):
    """`data` of `model_version_alias.created`."""

    name: Text
    alias: Text
    version: Text


@dataclass(frozen=True)
class Ignored:
    """A delivery intake acknowledges (202) without publishing anything, and why."""

    reason: str


@dataclass(frozen=True)
class ModelVersionStatement:
    """What one delivery says about a model version, before the AI system is known."""

    model_name: str
    model_version: str
    source: str | None = None
    run_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    release: str | None = None
    system_candidates: tuple[str | None, ...] = ()
    looked_in: str = "the model version's `ai_system` tag"
    paths: Mapping[str, tuple[str | int, ...]] = field(default_factory=dict)
    """Catalog field -> where it came from in the request, to locate validation errors."""
    notes: tuple[str, ...] = ()
    """What was left out (e.g. tags aigov cannot store), told to the sender."""


class MappingError(Exception):
    """The delivery cannot be represented as a catalog event (422 naming the fields)."""

    def __init__(self, detail: str, errors: list[FieldError]) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


_IGNORED: Final[Mapping[str, str]] = {
    "registered_model.created": (
        "a registered model has no version yet; aigov records model versions "
        "(subscribe to model_version.created)"
    ),
}


def parse_delivery(body: Any) -> MlflowDelivery:
    """The delivery envelope; raises pydantic's ValidationError when it is not one."""
    return MlflowDelivery.model_validate(body)


def interpret(delivery: MlflowDelivery) -> ModelVersionStatement | Ignored:
    """What the delivery says about a model version, or why it is ignored.

    Raises pydantic's ValidationError when `data` does not have the event's documented shape.
    """
    event = delivery.event
    if event == "model_version.created":
        return _created(ModelVersionCreated.model_validate(delivery.data))
    if event == "model_version_tag.set":
        return _tag_set(ModelVersionTagSet.model_validate(delivery.data))
    if event == "model_version_alias.created":
        return _alias_created(ModelVersionAliasCreated.model_validate(delivery.data))
    return Ignored(
        _IGNORED.get(event, f"MLflow event {event!r} has no aigov equivalent; nothing published")
    )


def _created(data: ModelVersionCreated) -> ModelVersionStatement:
    notes: list[str] = []
    tags = _storable_tags(data.tags, notes)
    return ModelVersionStatement(
        model_name=data.name,
        model_version=data.version,
        source=_optional(_URI, data.source, "source", "not an absolute URI", notes),
        run_id=_optional(_IDENTIFIER, data.run_id, "run_id", "not an identifier", notes),
        tags=tags,
        release=data.tags.get(RELEASE_KEY),
        system_candidates=(data.tags.get(SYSTEM_KEY),),
        looked_in=f"the model version's `{SYSTEM_KEY}` tag",
        paths={
            "model_name": ("body", "data", "name"),
            "model_version": ("body", "data", "version"),
            "version": ("body", "data", "tags", RELEASE_KEY),
        },
        notes=tuple(notes),
    )


def _tag_set(data: ModelVersionTagSet) -> ModelVersionStatement:
    notes: list[str] = []
    tags = _storable_tags({data.key: data.value}, notes)
    return ModelVersionStatement(
        model_name=data.name,
        model_version=data.version,
        tags=tags,
        release=data.value if data.key == RELEASE_KEY else None,
        system_candidates=(data.value if data.key == SYSTEM_KEY else None,),
        looked_in=f"the tag being set (when its key is `{SYSTEM_KEY}`)",
        paths={
            "model_name": ("body", "data", "name"),
            "model_version": ("body", "data", "version"),
            "version": ("body", "data", "value"),
        },
        notes=tuple(notes),
    )


def _alias_created(data: ModelVersionAliasCreated) -> ModelVersionStatement:
    return ModelVersionStatement(
        model_name=data.name,
        model_version=data.version,
        # Aliases are vocabulary terms in the catalog (`champion`); MLflow's are case-sensitive.
        aliases=[data.alias.lower()],
        looked_in="nothing in an alias event (it names no tags)",
        paths={
            "model_name": ("body", "data", "name"),
            "model_version": ("body", "data", "version"),
            "aliases": ("body", "data", "alias"),
        },
    )


def _optional(
    adapter: TypeAdapter[str], value: str | None, name: str, why: str, notes: list[str]
) -> str | None:
    """`value` if the catalog can hold it; otherwise left out, with a note saying so."""
    if value is None or not value.strip():
        return None
    try:
        return adapter.validate_python(value)
    except ValidationError:
        notes.append(f"{name} left out: {why}")
        return None


def _storable_tags(tags: Mapping[str, str], notes: list[str]) -> dict[str, str]:
    """The tags a catalog label map can hold (key syntax, value length, count)."""
    kept: dict[str, str] = {}
    for key, value in tags.items():
        try:
            _LABEL_KEY.validate_python(key)
            _LABEL_VALUE.validate_python(value)
        except ValidationError:
            notes.append(f"tag {key[:64]!r} left out: key or value is not a valid label")
            continue
        if len(kept) == _MAX_TAGS:
            notes.append(f"tags beyond the first {_MAX_TAGS} left out")
            break
        kept[key] = value
    return kept


def event_id(delivery_key: str, event_type: str) -> str:
    """A deterministic event id: the same delivery always yields the same id (dedup)."""
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, f"{delivery_key}\n{event_type}"))


def to_events(
    statement: ModelVersionStatement,
    *,
    system_id: str,
    delivery_key: str,
    actor: str,
    time: datetime,
) -> list[DomainEvent[Any]]:
    """The catalog event for a statement about a model version of `system_id`."""
    try:
        payload = ModelVersionRegistered(
            system_id=system_id,
            version=statement.release,
            registry=REGISTRY,
            model_name=statement.model_name,
            model_version=statement.model_version,
            source=statement.source,
            run_id=statement.run_id,
            tags=statement.tags,
            aliases=statement.aliases,
        )
    except ValidationError as exc:
        raise MappingError(
            f"the delivery cannot be recorded as {ModelVersionRegistered.event_type}",
            _located(exc, statement.paths),
        ) from None
    event = new_event(
        payload,
        source=SOURCE,
        actor=actor,
        event_id=event_id(delivery_key, payload.event_type),
        time=time,
    )
    return [event]


def _located(exc: ValidationError, paths: Mapping[str, tuple[str | int, ...]]) -> list[FieldError]:
    errors = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = error["loc"]
        head = str(loc[0]) if loc else ""
        where = paths.get(head, ("body", head)) if head else ("body",)
        errors.append(FieldError(loc=list(where), msg=error["msg"], type=error["type"]))
    return errors
