"""AI system lifecycle events (`aigov.lifecycle`): registration, manifest revisions, retirement."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import Field, ValidationInfo, field_validator

from aigov_events.catalog.base import EventPayload
from aigov_events.catalog.manifest import AISystemManifest
from aigov_events.catalog.primitives import Revision, Sha256Hex, SystemId, Text
from aigov_events.topics import LIFECYCLE

_MANIFEST_EXAMPLE: dict[str, Any] = {
    "apiVersion": "aigov.io/v1",
    "kind": "AISystem",
    "metadata": {
        "id": "support-summarizer",
        "name": "Support case summarizer",
        "owner": "dana.kim@example.com",
        "team": "support-ml",
        "oncall": "support-ml-oncall",
    },
    "spec": {
        "purpose": "Summarise enterprise customers' support documents so agents resolve cases faster.",
        "useCase": {"category": "customer-support", "annexIII": [], "prohibitedPractices": []},
        "users": {
            "population": ["enterprise-customers", "internal-staff"],
            "includesMinors": False,
            "public": False,
        },
        "deployment": {
            "surfaces": ["web-app", "public-api"],
            "environments": ["production"],
            "regions": ["EU", "US"],
        },
        "data": {"classes": ["customer-content", "personal-data"], "trainingSources": []},
        "model": {
            "type": "llm",
            "architecture": "hosted foundation model, no fine-tuning",
            "thirdParty": [
                {"vendor": "Azure OpenAI", "model": "gpt-4o-mini", "license": "commercial"}
            ],
        },
        "genai": {
            "generative": True,
            "promptTemplates": [
                {
                    "id": "summarize-case",
                    "sha256": "5d41402abc4b2a76b9719d911017c592a1f0e6c3b1e3f0d2a6a7b8c9d0e1f2a3",
                }
            ],
            "retrieval": {
                "corpora": [
                    {
                        "id": "customer-case-documents",
                        "dataClasses": ["customer-content", "personal-data"],
                    }
                ]
            },
            "safetyFilters": {"policy": "content-safety-strict-v2"},
        },
        "agent": {"autonomous": False, "tools": []},
        "humanOversight": "agent reviews every summary before it is sent",
    },
}
# The update example stops serving the US region.
_UPDATED_EXAMPLE: dict[str, Any] = {
    **_MANIFEST_EXAMPLE,
    "spec": {
        **_MANIFEST_EXAMPLE["spec"],
        "deployment": {**_MANIFEST_EXAMPLE["spec"]["deployment"], "regions": ["EU"]},
    },
}
# content_sha256() of the examples; the tests check they stay in sync.
_MANIFEST_EXAMPLE_SHA256 = "aa334ec1347be7b554cd5229257d2b36f3eda7803f65d24d195ea04c8a16d77e"
_UPDATED_EXAMPLE_SHA256 = "221791304598355c069f4a800623d467eb05dd65947cc7ab1f93b5bd59bb4cc3"


class _ManifestRevision(EventPayload):
    """A revision of a system's manifest (shared by registration and update)."""

    revision: Revision
    """Manifest revision number, incremented by intake on every accepted change."""
    manifest_sha256: Sha256Hex
    """`AISystemManifest.content_sha256()` of `manifest`, computed by intake.

    Not re-verified on parse: a later catalog version may add manifest fields with
    defaults, and replaying old events must not fail because their hash was computed
    over the older canonical form.
    """
    manifest: AISystemManifest
    """The full manifest of this revision."""

    @field_validator("manifest")
    @classmethod
    def _manifest_names_the_system(
        cls, manifest: AISystemManifest, info: ValidationInfo
    ) -> AISystemManifest:
        system_id = info.data.get("system_id")
        if system_id is not None and manifest.metadata.id != system_id:
            raise ValueError(
                f"metadata.id {manifest.metadata.id!r} differs from system_id {system_id!r}"
            )
        return manifest


class SystemRegistered(_ManifestRevision):
    """An AI system entered the inventory with its first manifest revision."""

    event_type = "io.aigov.system.registered.v1"
    topic = LIFECYCLE
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "revision": 1,
        "manifest_sha256": _MANIFEST_EXAMPLE_SHA256,
        "manifest": _MANIFEST_EXAMPLE,
    }


class SystemUpdated(_ManifestRevision):
    """A registered AI system's manifest got a new revision."""

    event_type = "io.aigov.system.updated.v1"
    topic = LIFECYCLE
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "revision": 2,
        "manifest_sha256": _UPDATED_EXAMPLE_SHA256,
        "previous_manifest_sha256": _MANIFEST_EXAMPLE_SHA256,
        "manifest": _UPDATED_EXAMPLE,
    }

    revision: Annotated[int, Field(ge=2)]
    """Manifest revision number (an update is revision 2 or later)."""
    previous_manifest_sha256: Sha256Hex
    """Hash of the revision this one replaces, so consumers can detect a missed revision."""


class SystemRetired(EventPayload):
    """An AI system was withdrawn from service; its history stays in the ledger."""

    event_type = "io.aigov.system.retired.v1"
    topic = LIFECYCLE
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "reason": "Replaced by the multilingual summarizer.",
        "replaced_by": "support-summarizer-ml",
    }

    reason: Text
    replaced_by: SystemId | None = None
    """Id of the system that takes over, if any."""
