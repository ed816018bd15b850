"""Reading a manifest request body given as JSON or YAML: 415, 400, 413 and 422 as problem+json.

YAML goes through the runtime's `read_yaml`: capped at AIGOV_MAX_YAML_BYTES, alias expansion
bounded, parsed in a worker thread so one large body cannot stall the event loop.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from aigov_runtime.errors import ProblemError
from aigov_runtime.yaml_body import read_yaml

M = TypeVar("M", bound=BaseModel)

JSON_TYPES: Final = frozenset({"application/json"})
YAML_TYPES: Final = frozenset({"application/yaml", "application/x-yaml", "text/yaml"})
#: A manifest is small: this bounds what YAML aliases could expand to.
MAX_VALUES: Final = 20_000


async def read_document(request: Request) -> Any:
    """The body parsed as JSON or YAML by its Content-Type, checked to be plain JSON data."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in JSON_TYPES | YAML_TYPES:
        accepted = ", ".join(sorted(JSON_TYPES | YAML_TYPES))
        raise ProblemError(415, f"send the manifest as one of: {accepted}")
    if media_type in YAML_TYPES:
        document = await read_yaml(request)
    else:
        try:
            document = json.loads(await request.body())
        except (ValueError, RecursionError) as exc:
            raise ProblemError(400, f"malformed JSON: {_first_line(exc)}") from None
    _check_plain(document)
    return document


def validate_as(model: type[M], data: Any, *, loc: tuple[str | int, ...]) -> M:
    """`data` validated as `model`, or a 422 naming each failing field under `loc`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(
            [
                {**error, "loc": (*loc, *error["loc"])}
                for error in exc.errors(include_url=False, include_input=False)
            ]
        ) from None


def _check_plain(document: Any) -> None:
    count = 0
    stack = [document]
    while stack:
        value = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise ProblemError(413, f"the body holds more than {MAX_VALUES} values (YAML aliases?)")
        if isinstance(value, Mapping):
            if not all(isinstance(key, str) for key in value):
                raise ProblemError(400, "mapping keys must be strings")
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif not (value is None or isinstance(value, str | int | float | bool)):
            raise ProblemError(
                400, f"a YAML {type(value).__name__} is not a JSON value (quote dates and times)"
            )


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
