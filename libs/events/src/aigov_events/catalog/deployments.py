"""Deployment events (`aigov.lifecycle`): requested, completed, rolled back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import ValidationInfo, field_validator

from aigov_events.catalog.base import EventPayload, ReleasePayload, StrictModel
from aigov_events.catalog.enums import DeploymentOutcome
from aigov_events.catalog.primitives import Identifier, Name, ReleaseVersion, Slug, Text, WebUrl
from aigov_events.topics import LIFECYCLE


class PipelineRef(StrictModel):
    """The CI/CD pipeline run that performs a deployment."""

    id: Identifier
    url: WebUrl | None = None


class _Deployment(ReleasePayload):
    """Common fields of deployment events."""

    environment: Slug
    """Target environment (`production`, `staging`)."""
    region: Name
    """Target region (`EU`, `us-east-1`)."""
    pipeline: PipelineRef | None = None


class DeploymentRequested(_Deployment):
    """A release was asked to be deployed (CI calls the gate before this goes ahead)."""

    event_type = "io.aigov.deployment.requested.v1"
    topic = LIFECYCLE
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "version": "2026.11.3",
        "environment": "production",
        "region": "EU",
        "pipeline": {"id": "deploy-4410", "url": "https://ci.example.com/support-ml/deploys/4410"},
    }


class DeploymentCompleted(_Deployment):
    """A deployment of a release finished, successfully or not."""

    event_type = "io.aigov.deployment.completed.v1"
    topic = LIFECYCLE
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "version": "2026.11.3",
        "environment": "production",
        "region": "EU",
        "pipeline": {"id": "deploy-4410", "url": "https://ci.example.com/support-ml/deploys/4410"},
        "outcome": "succeeded",
    }

    outcome: DeploymentOutcome
    detail: Text | None = None
    """Why it failed, or notes on the rollout."""


class DeploymentRolledBack(EventPayload):
    """A deployed release was rolled back to an earlier one."""

    event_type = "io.aigov.deployment.rolled_back.v1"
    topic = LIFECYCLE
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "from_version": "2026.11.3",
        "to_version": "2026.10.1",
        "environment": "production",
        "region": "EU",
        "reason": "Summaries truncated for cases over 40 pages after the release.",
        "pipeline": {"id": "deploy-4415", "url": "https://ci.example.com/support-ml/deploys/4415"},
    }

    from_version: ReleaseVersion
    """The release taken out of service."""
    to_version: ReleaseVersion
    """The release now serving."""
    environment: Slug
    region: Name
    reason: Text
    pipeline: PipelineRef | None = None

    @field_validator("to_version")
    @classmethod
    def _versions_differ(cls, to_version: str, info: ValidationInfo) -> str:
        if to_version == info.data.get("from_version"):
            raise ValueError("a rollback goes to a different release than from_version")
        return to_version
