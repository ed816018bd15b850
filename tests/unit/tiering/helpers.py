"""Shared test data for tiering: the public example manifests and a manifest builder."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any, Final

import yaml

from aigov_events.catalog.manifest import AISystemManifest
from aigov_tiering.policy import PolicyPack, load_pack
from tests.fixtures import EXAMPLES as EXAMPLES  # re-exported: the tiering tests' examples
from tests.fixtures import REPO_ROOT
from tests.fixtures import SYSTEMS as SYSTEMS  # re-exported: the example manifests

REPO: Final = REPO_ROOT
DEFAULT_PACK: Final = REPO / "policies" / "default"


@cache
def default_pack() -> PolicyPack:
    """The repository's default policy pack, loaded once."""
    return load_pack(DEFAULT_PACK)


def example_document(name: str) -> dict[str, Any]:
    """A public example manifest (`support-summarizer`, ...) as a document."""
    document: dict[str, Any] = yaml.safe_load((SYSTEMS / f"{name}.yaml").read_text("utf-8"))
    return document


def base_document() -> dict[str, Any]:
    """A minimal low-risk manifest: internal, non-sensitive, not generative, no agent."""
    return {
        "apiVersion": "aigov.io/v1",
        "kind": "AISystem",
        "metadata": {"id": "test-system", "name": "Test", "owner": "o@example.com", "team": "t"},
        "spec": {
            "purpose": "Classify internal tickets.",
            "useCase": {"category": "it-ops", "annexIII": [], "prohibitedPractices": []},
            "users": {"population": ["internal-staff"], "includesMinors": False, "public": False},
            "deployment": {
                "surfaces": ["internal-tool"],
                "environments": ["production"],
                "regions": ["EU"],
            },
            "data": {"classes": ["internal-docs"], "trainingSources": []},
            "model": {
                "type": "classifier",
                "architecture": "logistic regression",
                "thirdParty": [],
            },
            "genai": {"generative": False},
            "agent": {"autonomous": False, "tools": []},
            "humanOversight": "staff review every suggestion",
        },
    }


def with_changes(document: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of `document` with dotted-path `changes` applied (missing parents created)."""
    result = copy.deepcopy(document)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = result
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return result


def manifest(document: dict[str, Any] | None = None, **changes: Any) -> AISystemManifest:
    """A manifest from `document` (default: base_document()) with `changes` (`spec__users__public`)."""
    dotted = {key.replace("__", "."): value for key, value in changes.items()}
    return AISystemManifest.model_validate(with_changes(document or base_document(), dotted))
