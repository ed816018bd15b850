"""OpenAPI for typed endpoints that read their body raw: inline request schemas and examples."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel


def json_body(
    model: type[BaseModel],
    examples: Mapping[str, Any],
    *,
    description: str,
    required: bool = True,
) -> dict[str, Any]:
    """`openapi_extra` declaring a JSON request body: the model's schema and named examples."""
    return {
        "requestBody": {
            "required": required,
            "description": description,
            "content": {
                "application/json": {
                    "schema": inline_schema(model),
                    "examples": {name: {"value": value} for name, value in examples.items()},
                }
            },
        }
    }


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema with every `$defs` reference inlined.

    Typed endpoints read their body raw (to answer 415 and 400 themselves), so FastAPI does
    not register their models as components; a self-contained schema keeps the OpenAPI
    document's references valid. The request models are not recursive.
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
