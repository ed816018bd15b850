"""Typed-request bodies built from the catalog's examples, for a chosen system and release.

Built here rather than read from the example files, so the attack tests do not depend on
where those files live.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aigov_events.catalog import (
    ApprovalGranted,
    ArtifactSubmitted,
    EvaluationCompleted,
    SystemRegistered,
    WaiverRequested,
)


def fresh_system() -> str:
    """An AI system id no earlier run used."""
    return f"sys-{uuid.uuid4().hex[:10]}"


def _release(example: Any, system: str, version: str) -> dict[str, Any]:
    body = copy.deepcopy(dict(example))
    del body["system_id"]
    return {"system": system, **body, "version": version}


def evaluation(system: str, version: str = "2026.11.3") -> dict[str, Any]:
    """`POST /v1/evaluations` body."""
    body = _release(EvaluationCompleted.example, system, version)
    body["dataset"] = body.pop("datasets")[0]
    return body


def artifact(system: str, version: str = "2026.11.3") -> dict[str, Any]:
    """`POST /v1/artifacts` body (a model card)."""
    return _release(ArtifactSubmitted.example, system, version)


def approval(system: str, version: str = "2026.11.3", **changes: Any) -> dict[str, Any]:
    """`POST /v1/approvals` body (granted unless `decision` says otherwise)."""
    return {**_release(ApprovalGranted.example, system, version), "decision": "granted", **changes}


def waiver_request(system: str, version: str = "2026.11.3") -> dict[str, Any]:
    """`POST /v1/waivers` body expiring in a month."""
    body = _release(WaiverRequested.example, system, version)
    del body["waiver_id"]
    body["expires_at"] = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    return body


def manifest(system: str, *, team: str = "support-ml", **spec_changes: Any) -> dict[str, Any]:
    """The catalog's example manifest for `system`, owned by `team`."""
    document = copy.deepcopy(dict(SystemRegistered.example["manifest"]))
    document["metadata"]["id"] = system
    document["metadata"]["team"] = team
    document["spec"].update(spec_changes)
    return document
