"""Reading request bodies: content type (415), JSON with the error position (400), YAML.

Bodies are read raw (webhook signatures are computed over the exact bytes), then parsed
here, so every endpoint reports the same errors the same way. YAML is parsed by the runtime's
bounded loader (`aigov_runtime.yaml_body`): libyaml, alias expansion capped; `read_yaml`
also runs it in a worker thread. YAML bodies over AIGOV_MAX_YAML_BYTES never get here: the
runtime's body-limit middleware answers 413 before reading them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any, Final

from fastapi import Request
from pydantic import BaseModel, ValidationError

from aigov_events.errors import InvalidPayload
from aigov_runtime import yaml_body
from aigov_runtime.errors import FieldError, ProblemError
from aigov_runtime.limits import YAML_MEDIA_TYPES

JSON_TYPES = frozenset({"application/json"})
YAML_TYPES = YAML_MEDIA_TYPES
# The byte cap is the middleware's (configured per app); here only aliases are bounded.
_UNCAPPED_BYTES: Final = yaml_body.YamlLimits(max_bytes=sys.maxsize)


def media_type(request: Request) -> str:
    """The request's media type, lower-case, without parameters ('' when absent)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def require_media_type(request: Request, allowed: Iterable[str]) -> str:
    """The media type if it is one of `allowed`, else 415 naming what is accepted."""
    allowed = sorted(set(allowed))
    got = media_type(request)
    if got not in allowed:
        raise ProblemError(
            415,
            f"Content-Type {got or '(none)'!r} is not accepted here; send one of: "
            + ", ".join(allowed),
            headers={"Accept-Post": ", ".join(allowed)},
        )
    return got


def parse_json(raw: bytes) -> Any:
    """Parse JSON or answer 400 with the line, column and offset of the first error."""
    try:
        return json.loads(raw)
    except UnicodeDecodeError as exc:
        raise ProblemError(400, f"body is not UTF-8 (byte {exc.start})") from None
    except RecursionError:
        raise ProblemError(400, "malformed JSON: nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise ProblemError(
            400,
            f"malformed JSON: {exc.msg} at line {exc.lineno}, column {exc.colno} (char {exc.pos})",
            line=exc.lineno,
            column=exc.colno,
            position=exc.pos,
        ) from None


def parse_yaml(raw: bytes) -> Any:
    """Parse one YAML document (safe loader) or answer 400 with the error position.

    Blocks the event loop while it parses: prefer `read_yaml` in request handlers. A document
    expanding (through aliases) past the default node limit is a 413.
    """
    return yaml_body.load_yaml(raw, _UNCAPPED_BYTES)


async def read_yaml(request: Request) -> Any:
    """The body as one YAML document, parsed in a worker thread within the app's limits.

    400 with the error position when malformed, 413 over AIGOV_MAX_YAML_BYTES or when its
    aliases expand past AIGOV_MAX_YAML_NODES.
    """
    return await yaml_body.read_yaml(request)


async def read_json(request: Request) -> Any:
    """The body as JSON (Content-Type application/json or +json)."""
    got = media_type(request)
    if got not in JSON_TYPES and not got.endswith("+json"):
        require_media_type(request, JSON_TYPES)
    return parse_json(await request.body())


def unprocessable(detail: str, errors: list[FieldError]) -> ProblemError:
    """A 422 listing every failing field."""
    return ProblemError(422, detail, errors=[e.model_dump() for e in errors])


def field_errors_of(
    exc: ValidationError, prefix: Iterable[str | int] = ("body",)
) -> list[FieldError]:
    """pydantic errors as FieldErrors located under `prefix`."""
    return [
        FieldError(loc=[*prefix, *err["loc"]], msg=err["msg"], type=err["type"])
        for err in exc.errors(include_url=False, include_input=False)
    ]


def payload_errors(
    exc: InvalidPayload, prefix: Iterable[str | int] = ("body",)
) -> list[FieldError]:
    """Catalog validation errors as FieldErrors (the dotted path split back into parts)."""
    out = []
    for path, message in exc.errors:
        parts: list[str | int] = [
            int(p) if p.isdigit() else p for p in path.split(".") if p and p != "(root)"
        ]
        out.append(FieldError(loc=[*prefix, *parts], msg=message, type="value_error"))
    return out


def validate_body(model: type[BaseModel], data: Any) -> Any:
    """`data` (parsed JSON or YAML) validated strictly as `model`, or a 422 naming every field.

    Strict JSON validation, as the catalog does for `/v1/events`: a body gets exactly the
    types its OpenAPI schema documents, so `0` is not `false`, `"0.9"` is not a number and
    `1700000000` is not a date-time. A YAML manifest is checked the same way once
    `/v1/systems` has refused the YAML values JSON cannot hold (dates, with a hint to quote them).
    """
    try:
        # NaN and Infinity pass through as tokens, so the field refusing them is named.
        text = json.dumps(data)
    except (TypeError, ValueError) as exc:
        raise unprocessable(
            f"the body is not a valid {model.__name__}",
            [FieldError(loc=["body"], msg=f"not JSON data: {exc}", type="value_error")],
        ) from None
    try:
        return model.model_validate_json(text, strict=True)
    except ValidationError as exc:
        raise unprocessable(
            f"the body is not a valid {model.__name__}", field_errors_of(exc)
        ) from None
