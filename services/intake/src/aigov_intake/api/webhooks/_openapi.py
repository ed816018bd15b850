"""OpenAPI parameter objects for webhook routes that read headers and query parameters raw."""

from __future__ import annotations

from typing import Any


def header_parameter(name: str, description: str, *, required: bool = True) -> dict[str, Any]:
    """A string header parameter, for `openapi_extra["parameters"]`."""
    return {
        "in": "header",
        "name": name,
        "required": required,
        "schema": {"type": "string"},
        "description": description,
    }


def query_parameter(name: str, description: str) -> dict[str, Any]:
    """An optional string query parameter, for `openapi_extra["parameters"]`."""
    return {
        "in": "query",
        "name": name,
        "required": False,
        "schema": {"type": "string"},
        "description": description,
    }
