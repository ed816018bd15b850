"""OpenAPI helpers shared by services whose routes read their body raw."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["inline_schema"]


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema with every `$defs` reference inlined.

    Routes that read their body raw (to answer 415 and 400 themselves, or to accept YAML)
    do not get their models registered as components by FastAPI; a self-contained schema
    keeps the OpenAPI document's references valid. The models must not be recursive.
    """
    schema = model.model_json_schema(mode="validation")
    definitions: dict[str, Any] = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                target = resolve(definitions[reference.removeprefix("#/$defs/")])
                return {**target, **{k: resolve(v) for k, v in node.items() if k != "$ref"}}
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved
