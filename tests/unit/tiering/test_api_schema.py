"""Tiering's OpenAPI tells the truth about fields its answers may leave out."""

from __future__ import annotations

from typing import Any

from aigov_tiering.schemas import SystemView


def _required_but_nullable(schema: dict[str, Any]) -> list[str]:
    """Required properties that may be null: `exclude_none` answers drop them, breaking the schema."""
    models = {"(root)": schema, **schema.get("$defs", {})}
    return [
        f"{model}.{name}"
        for model, body in models.items()
        for name, prop in body.get("properties", {}).items()
        if name in body.get("required", [])
        and any(option.get("type") == "null" for option in prop.get("anyOf", []))
    ]


def test_nullable_fields_of_the_system_view_are_optional() -> None:
    # GET /v1/tiering/systems/{id} answers with response_model_exclude_none: a field that may
    # be None is then absent, so it must not be required (schemathesis found baseline_revision).
    schema = SystemView.model_json_schema(mode="serialization")
    assert _required_but_nullable(schema) == []
