"""Which AI system a third-party payload is about: a label the docs tell users to set, else `?system=`.

Webhook receivers are often configured per system (one Alertmanager receiver URL per AI
system, `...?system=support-summarizer`), so the query parameter is the fallback when the
payload itself carries no `ai_system` label, annotation, tag or property. Nothing is guessed:
a payload that names no system, or names several different ones, is refused with a 422 that
says where the id is looked for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from fastapi import Request

from aigov_events.catalog.primitives import SYSTEM_ID_PATTERN
from aigov_runtime.errors import ProblemError

#: The key users set on their alerts, lineage jobs, model versions and deployments.
SYSTEM_KEY: Final = "ai_system"
QUERY_PARAMETER: Final = "system"
_SYSTEM_ID: Final = re.compile(SYSTEM_ID_PATTERN)


def resolve_system(request: Request, candidates: Iterable[str | None], *, looked_in: str) -> str:
    """The one AI system id among `candidates` (from the payload), else `?system=`, else 422."""
    found = {c.strip() for c in candidates if c is not None and c.strip()}
    if len(found) > 1:
        raise ProblemError(
            422,
            f"the payload names several AI systems ({', '.join(sorted(found))}); send one "
            "system per request",
        )
    if not found and (param := request.query_params.get(QUERY_PARAMETER)):
        found = {param.strip()}
    if not found:
        raise ProblemError(
            422,
            f"cannot tell which AI system this is about: set {looked_in}, or add "
            f"?{QUERY_PARAMETER}=<system id> to the webhook URL",
        )
    system_id = found.pop()
    if not _SYSTEM_ID.match(system_id):
        raise ProblemError(
            422,
            f"{system_id!r} is not an AI system id (lower-case letters, digits and dashes, "
            "at most 63 characters)",
        )
    return system_id
