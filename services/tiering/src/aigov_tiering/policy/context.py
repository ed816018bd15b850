"""The variables a policy expression sees: the manifest, the vocabulary, derived facts, definitions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import cel

from aigov_tiering.policy.expressions import Expression


def manifest_scope(
    document: Mapping[str, Any],
    vocabulary: Mapping[str, Any],
    definitions: Iterable[tuple[str, Expression]],
) -> cel.Context:
    """`spec`, `metadata`, `vocab`, `facts` and `defs` for a manifest document (camelCase keys).

    Built once per decision: converting Python values to CEL values costs far more than
    evaluating a compiled expression, so every rule runs against the same context.
    """
    spec: Mapping[str, Any] = document["spec"]
    corpora = (spec["genai"].get("retrieval") or {}).get("corpora", [])
    facts = {
        # Flattened here because CEL has no flatten(); sorted so that decisions are deterministic.
        "data_classes": _sorted_union(
            spec["data"]["classes"], *(corpus["dataClasses"] for corpus in corpora)
        ),
        "tool_capabilities": _sorted_union(
            *(tool["capabilities"] for tool in spec["agent"]["tools"])
        ),
    }
    scope = cel.Context(
        variables={
            "spec": spec,
            "metadata": document["metadata"],
            "vocab": vocabulary,
            "facts": facts,
            "defs": {},
        }
    )
    defs: dict[str, Any] = {}
    for name, expression in definitions:
        # Later definitions see earlier ones.
        defs[name] = expression.evaluate(scope)
        scope.add_variable("defs", dict(defs))
    return scope


def _sorted_union(*lists: Iterable[str]) -> list[str]:
    return sorted({item for items in lists for item in items})
