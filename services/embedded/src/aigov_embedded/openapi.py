"""One OpenAPI document for the four services, so `/docs` shows the whole public surface.

Paths merge by method (intake's `POST /v1/systems` beside evidence's `GET /v1/systems`).
Schema names that two services use for different shapes are renamed with the service's
name, and that service's references rewritten, so no operation points at the wrong schema.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aigov_runtime.tags import openapi_tags

_REF = "#/components/schemas/"


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))


def _renamed(document: dict[str, Any], renames: dict[str, str]) -> dict[str, Any]:
    if not renames:
        return document
    text = json.dumps(document)
    for old, new in renames.items():
        text = text.replace(f'"{_REF}{old}"', f'"{_REF}{new}"')
    renamed: dict[str, Any] = json.loads(text)
    schemas = renamed.get("components", {}).get("schemas", {})
    for old, new in renames.items():
        if old in schemas:
            schemas[new] = schemas.pop(old)
    return renamed


def merge_openapi(
    documents: Sequence[tuple[str, dict[str, Any]]], *, title: str, version: str, description: str
) -> dict[str, Any]:
    """Merge (service name, OpenAPI document) pairs into one document."""
    merged: dict[str, Any] = {
        "openapi": documents[0][1].get("openapi", "3.1.0") if documents else "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {}},
        "tags": [],
    }
    schemas: dict[str, Any] = merged["components"]["schemas"]
    tag_names: set[str] = set()
    for service, document in documents:
        own = document.get("components", {}).get("schemas", {})
        renames = {
            name: f"{_pascal(service)}{name}"
            for name, schema in own.items()
            if name in schemas and schemas[name] != schema
        }
        document = _renamed(document, renames)
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            schemas.setdefault(name, schema)
        merged["components"]["securitySchemes"].update(
            document.get("components", {}).get("securitySchemes", {})
        )
        for path, operations in document.get("paths", {}).items():
            target = merged["paths"].setdefault(path, {})
            for method, operation in operations.items():
                # Probes and the scrape endpoint are the all-in-one's own; first one wins.
                target.setdefault(method, operation)
        for tag in document.get("tags", []):
            if tag.get("name") not in tag_names:
                tag_names.add(tag.get("name"))
                merged["tags"].append(tag)
    # One heading per concept across the services, in the shared vocabulary's order.
    merged["tags"] = openapi_tags({tag["name"] for tag in merged["tags"]})
    if not merged["tags"]:
        del merged["tags"]
    return merged
