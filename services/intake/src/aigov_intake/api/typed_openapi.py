"""OpenAPI for typed endpoints that read their body raw: inline request schemas and examples."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from aigov_runtime.openapi import inline_schema

__all__ = ["inline_schema", "json_body"]


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
