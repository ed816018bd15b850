"""The public `aigov.io/v1` `AISystem` manifest, shared by intake and tiering.

Design choices:
- Keys are camelCase in the public format; fields are snake_case in Python with
  explicit aliases. Both spellings are accepted, and every dump uses the aliases, so
  `model_dump(by_alias=True, exclude_unset=True)` reproduces a submitted document
  exactly and `model_dump()` is always a valid document.
- Unknown fields are ALLOWED AND PRESERVED (unlike event payloads, which forbid them).
  The format promises "fields may be added, none renamed": a newer CLI may send a
  field this version does not know, and rejecting it would break that promise while
  dropping it would lose data from the manifest hash and the evidence ledger.
  `unknown_fields()` lists them so intake or tiering can warn (they catch typos).
- Vocabulary values (Annex III areas, data classes, …) are plain strings: unknown
  values are accepted and the policy engine warns about them. The vocabulary the
  default policy pack understands is exported as `KNOWN_*` frozensets.
- Risk-relevant declarations are required even when empty (`annexIII: []`,
  `includesMinors: false`, `tools: []`): an omission must not silently read as "no".
- Scalars are not coerced: `version: 7` in YAML is an error ("quote it"), because
  coercing `1.10` would silently record `1.1`.
- `content_sha256()` hashes the document with nulls dropped. New optional fields
  must default to `None` so that adding them does not change existing hashes.
- Contacts are single recipients: `owner` is one e-mail address, `oncall` one e-mail
  address or one rotation name. The monitoring router puts them in mail headers and
  receiver templates, so a list (`victim@x, attacker@evil`), a display name or a line
  break would add recipients or headers.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from aigov_events.catalog.primitives import (
    PRINTED_TEXT_PATTERN,
    Name,
    Sha256Hex,
    SystemId,
    Text,
)

API_VERSION: Final = "aigov.io/v1"
KIND: Final = "AISystem"

#: `spec.useCase.annexIII`: EU AI Act Annex III areas.
ANNEX_III_AREAS: Final = frozenset(
    {
        "biometrics",
        "critical-infrastructure",
        "education",
        "employment",
        "essential-services",
        "law-enforcement",
        "migration",
        "justice-democracy",
    }
)
#: `spec.useCase.prohibitedPractices`: EU AI Act Article 5 practices.
PROHIBITED_PRACTICES: Final = frozenset(
    {
        "subliminal-manipulation",
        "exploiting-vulnerabilities",
        "social-scoring",
        "predictive-policing-profiling",
        "facial-image-scraping",
        "emotion-recognition-workplace-education",
        "biometric-categorisation-sensitive",
        "realtime-remote-biometric-id",
    }
)
#: `spec.data.classes` and retrieval corpora `dataClasses`.
DATA_CLASSES: Final = frozenset(
    {
        "personal-data",
        "special-category-data",
        "customer-content",
        "financial-data",
        "children-data",
        "source-code",
        "internal-docs",
        "public-data",
    }
)
#: `spec.agent.tools[].capabilities`.
TOOL_CAPABILITIES: Final = frozenset(
    {"read-only", "write", "financial", "external-communication", "code-execution"}
)
#: `spec.model.type`.
MODEL_TYPES: Final = frozenset(
    {"llm", "classifier", "regressor", "ranking", "vision", "speech", "other"}
)

_DOT_ATOM: Final = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_HOST: Final = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
#: One bare address (`local@domain`): no display name, quotes, comments, lists or spaces.
EMAIL_ADDRESS_PATTERN: Final = rf"^{_DOT_ATOM}@{_HOST}$"
#: An on-call rotation's name (`support-ml-oncall`), as receivers' templates use it.
ROTATION_PATTERN: Final = r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,198}[A-Za-z0-9])?$"
_EMAIL_ADDRESS: Final = re.compile(EMAIL_ADDRESS_PATTERN)
_ROTATION: Final = re.compile(ROTATION_PATTERN)
# Names elsewhere (and the services' columns) hold at most 200 characters.
_MAX_ADDRESS_LENGTH: Final = 200


def _single_address(value: str) -> str:
    if len(value) > _MAX_ADDRESS_LENGTH or not _EMAIL_ADDRESS.fullmatch(value):
        raise ValueError(
            "must be one e-mail address such as dana.kim@example.com: no lists, display "
            "names, quotes, spaces or line breaks"
        )
    return value


def _single_oncall(value: str) -> str:
    if _ROTATION.fullmatch(value) or (
        len(value) <= _MAX_ADDRESS_LENGTH and _EMAIL_ADDRESS.fullmatch(value)
    ):
        return value
    raise ValueError(
        "must be one e-mail address or one rotation name (letters, digits, '.', '_', '-'), "
        "such as support-ml-oncall: no lists, display names, spaces or line breaks"
    )


EmailAddress = Annotated[
    str,
    AfterValidator(_single_address),
    WithJsonSchema(
        {"type": "string", "maxLength": _MAX_ADDRESS_LENGTH, "pattern": EMAIL_ADDRESS_PATTERN}
    ),
]
"""One e-mail address, safe to put in a `To:` header as it is."""
OnCall = Annotated[
    str,
    AfterValidator(_single_oncall),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": _MAX_ADDRESS_LENGTH,
            "anyOf": [{"pattern": EMAIL_ADDRESS_PATTERN}, {"pattern": ROTATION_PATTERN}],
        }
    ),
]
"""One e-mail address or one on-call rotation name."""

Term = Annotated[str, Field(min_length=1, max_length=200, pattern=PRINTED_TEXT_PATTERN)]
Terms = Annotated[list[Term], Field(max_length=64)]


class ManifestModel(BaseModel):
    """Base of the manifest sections: aliased camelCase keys, extra fields preserved."""

    model_config = ConfigDict(
        extra="allow",
        frozen=True,
        allow_inf_nan=False,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        use_attribute_docstrings=True,
    )


class SystemMetadata(ManifestModel):
    """Who the system is and who answers for it."""

    id: SystemId
    """Stable system id (lower-case slug)."""
    name: Name
    owner: EmailAddress
    """Accountable owner: one e-mail address (incident and alert mail goes there)."""
    team: Name
    oncall: OnCall | None = None
    """On-call rotation that receives the system's alerts: one rotation name or address."""


class UseCase(ManifestModel):
    """What the system is used for, in EU AI Act terms."""

    category: Term
    annex_iii: Terms = Field(alias="annexIII")
    """EU AI Act Annex III areas the use case falls under (see `ANNEX_III_AREAS`)."""
    prohibited_practices: Terms = Field(alias="prohibitedPractices")
    """EU AI Act Article 5 practices the system performs (see `PROHIBITED_PRACTICES`)."""


class UsersSpec(ManifestModel):
    """Who uses or is affected by the system."""

    population: Terms
    includes_minors: bool = Field(alias="includesMinors")
    public: bool
    """Whether the system is available to the general public."""


class DeploymentSpec(ManifestModel):
    """Where the system runs."""

    surfaces: Terms
    environments: Terms
    regions: Terms


class DataSource(ManifestModel):
    """A versioned training data source."""

    id: Name
    version: Name


class DataSpec(ManifestModel):
    """DataSpec the system touches and is trained on."""

    classes: Terms
    """DataSpec classes touched (see `DATA_CLASSES`)."""
    training_sources: Annotated[list[DataSource], Field(max_length=200)] = Field(
        alias="trainingSources"
    )
    label_policy: Text | None = Field(default=None, alias="labelPolicy")


class ThirdPartyModel(ManifestModel):
    """A third-party or foundation model the system uses."""

    vendor: Name
    model: Name
    license: Name


class ModelSpec(ManifestModel):
    """The model behind the system."""

    type: Term
    """ModelSpec type (see `MODEL_TYPES`)."""
    architecture: Text
    third_party: Annotated[list[ThirdPartyModel], Field(max_length=50)] = Field(alias="thirdParty")


class PromptTemplate(ManifestModel):
    """A prompt template, identified by its content hash."""

    id: Name
    sha256: Sha256Hex


class Corpus(ManifestModel):
    """A retrieval corpus and the data classes it contains."""

    id: Name
    data_classes: Terms = Field(alias="dataClasses")


class Retrieval(ManifestModel):
    """Retrieval-augmented generation settings."""

    corpora: Annotated[list[Corpus], Field(max_length=100)]


class SafetyFilters(ManifestModel):
    """Input/output safety filtering."""

    policy: Name
    """Filter policy name (`none` when there is none)."""


class GenAISpec(ManifestModel):
    """Generative-AI specifics."""

    generative: bool
    prompt_templates: Annotated[list[PromptTemplate], Field(max_length=200)] = Field(
        default_factory=list, alias="promptTemplates"
    )
    retrieval: Retrieval | None = None
    safety_filters: SafetyFilters | None = Field(default=None, alias="safetyFilters")


class AgentTool(ManifestModel):
    """A tool an agent may call."""

    name: Name
    capabilities: Terms
    """What the tool can do (see `TOOL_CAPABILITIES`)."""


class AgentSpec(ManifestModel):
    """Autonomy and tools, for agentic systems."""

    autonomous: bool
    tools: Annotated[list[AgentTool], Field(max_length=100)]


class SystemSpec(ManifestModel):
    """What the system does and how."""

    purpose: Text
    use_case: UseCase = Field(alias="useCase")
    users: UsersSpec
    deployment: DeploymentSpec
    data: DataSpec
    model: ModelSpec
    genai: GenAISpec
    agent: AgentSpec
    human_oversight: Text = Field(alias="humanOversight")


class AISystemManifest(ManifestModel):
    """An AI system manifest in the public `apiVersion: aigov.io/v1, kind: AISystem` format."""

    api_version: Literal["aigov.io/v1"] = Field(alias="apiVersion")
    kind: Literal["AISystem"]
    metadata: SystemMetadata
    spec: SystemSpec

    def to_document(self) -> dict[str, object]:
        """Return the manifest as the public JSON/YAML document (camelCase keys, JSON types)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def canonical_json(self) -> bytes:
        """Return the canonical UTF-8 JSON the manifest hash is computed over.

        Nulls are dropped (an absent optional field and `null` mean the same) and keys
        are sorted, so the hash survives the event envelope's `exclude_none` JSON dump
        and any re-parse: a consumer can recompute it from the event.
        """
        text = json.dumps(
            self.to_document(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return text.encode("utf-8")

    def content_sha256(self) -> str:
        """Return the SHA-256 (hex) of `canonical_json()`: the `manifest_sha256` of events."""
        return hashlib.sha256(self.canonical_json()).hexdigest()

    def unknown_fields(self) -> list[str]:
        """Return dotted paths (camelCase) of fields this version of the format does not define."""
        return sorted(_unknown_fields(self, ""))


def _unknown_fields(model: BaseModel, prefix: str) -> list[str]:
    paths = [f"{prefix}{key}" for key in model.model_extra or {}]
    for name, field in type(model).model_fields.items():
        key = field.alias or name
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            paths += _unknown_fields(value, f"{prefix}{key}.")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    paths += _unknown_fields(item, f"{prefix}{key}.{index}.")
    return paths
