"""JSON request bodies: a body that is not JSON text is a 422 saying why, never a bare 400.

FastAPI answers 400 "There was an error parsing the body" when decoding fails other than
with a JSON syntax error (bytes that are not UTF-8, nesting deeper than the parser's
recursion limit); its syntax errors are already 422 (`json_invalid`). Routes of a router
built with `route_class=JsonBodyRoute` check the raw body first and answer those as 422 too,
with the cause, so every malformed body gets the status the route documents.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from aigov_runtime.errors import ProblemError


def _refuse(detail: str) -> ProblemError:
    return ProblemError(
        422, detail, errors=[{"loc": ["body"], "msg": detail, "type": "json_invalid"}]
    )


def check_json_text(raw: bytes) -> None:
    """Raise a 422 ProblemError if `raw` cannot be decoded as JSON text (syntax aside)."""
    if not raw:
        return  # a missing body is the body model's business (422 `missing`)
    try:
        json.loads(raw)
    except UnicodeDecodeError as exc:
        raise _refuse(f"body: not valid JSON text: {exc}") from None
    except RecursionError:
        raise _refuse("body: JSON nested too deeply") from None
    except json.JSONDecodeError:
        return  # FastAPI reports it, with the position, as the usual 422


class JsonBodyRoute(APIRoute):
    """An APIRoute whose JSON body, if it has one, is checked by `check_json_text` first."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, preceded by the JSON text check on routes that take a body."""
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def checked(request: Request) -> Response:
            # `Request.body()` caches the bytes: FastAPI's own parsing reads them again.
            check_json_text(await request.body())
            return await handler(request)

        return checked
