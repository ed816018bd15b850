"""OpenAPI parameter objects for webhook routes that read headers and query parameters raw."""

from __future__ import annotations

from typing import Any

from aigov_intake.api.deps import accept_problems
from aigov_runtime.errors import problem_responses


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


def signed_receiver_responses(
    *statuses: int, tool: str, secret_variable: str
) -> dict[int | str, Any]:
    """Problem responses of a signed receiver, its 503 saying when the receiver is off.

    The 409 of every route that publishes through the accept pipeline is included.
    """
    responses: dict[int | str, Any] = {**problem_responses(*statuses), **accept_problems(503)}
    responses[503] = {
        **responses[503],
        "description": (
            f"The {tool} receiver is not configured: no secret is set ({secret_variable} or "
            "AIGOV_WEBHOOK_SECRETS_FILE), and intake never accepts an unsigned delivery. Also "
            "answered, with Retry-After, when the event broker did not acknowledge."
        ),
    }
    return responses
