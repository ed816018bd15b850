"""Generated documents per release: system card, model card, EU AI Act Annex IV technical documentation."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query, Response

from aigov_evidence.api.deps import Now, Reader, Session, SystemPath, VersionPath
from aigov_evidence.documents import (
    DocumentFormat,
    DocumentKind,
    NotApplicable,
    ReleaseNotFound,
    render_document,
)
from aigov_runtime.errors import ProblemError, problem_responses
from aigov_runtime.tags import Tag

router = APIRouter()

_DOCUMENT: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "The document: Markdown (`format=markdown`, the default) or a "
        "self-contained HTML page (`format=html`), with a `Content-Disposition` file name "
        "`<system>-<version>-<kind>.md|html`.",
        "content": {
            "text/markdown; charset=utf-8": {"schema": {"type": "string"}},
            "text/html; charset=utf-8": {"schema": {"type": "string"}},
        },
        "headers": {
            "Content-Disposition": {
                "description": 'inline; filename="<system>-<version>-<kind>.<md|html>"',
                "schema": {"type": "string"},
            }
        },
    },
    **problem_responses(401, 403, 404, 409, 422),
}


@router.get(
    "/systems/{system_id}/releases/{version}/documents/{kind}",
    tags=[Tag.RELEASES],
    summary="A generated document of a release: system card, model card or Annex IV",
    response_class=Response,
    responses=_DOCUMENT,
    description="Generated from what evidence recorded for the release: manifest, tier "
    "decision and the rules that fired, evaluations against the tier's minimums, artifacts "
    "and their sections, approvals, waivers, incidents, monitoring probes and routes. A part "
    "without evidence is marked as a gap naming the required control that would supply it. "
    "`annex-iv` (EU AI Act Annex IV technical documentation) is for high-tier systems only: "
    "409 otherwise. 404 for an unknown system or a release no event names. No PDF.",
)
async def get_document(
    system_id: SystemPath,
    version: VersionPath,
    kind: Annotated[
        DocumentKind,
        Path(description="`system-card`, `model-card` or `annex-iv`.", examples=["system-card"]),
    ],
    _reader: Reader,
    session: Session,
    now: Now,
    format: Annotated[
        DocumentFormat, Query(description="`markdown` (default) or `html`.")
    ] = DocumentFormat.MARKDOWN,
) -> Response:
    """The document as Markdown or HTML; 404 unknown release, 409 not applicable."""
    try:
        document = await render_document(session, system_id, version, kind, format, now=now)
    except ReleaseNotFound as exc:
        raise ProblemError(404, str(exc)) from None
    except NotApplicable as exc:
        raise ProblemError(409, str(exc)) from None
    return Response(
        content=document.body,
        media_type=document.media_type,
        headers={"Content-Disposition": f'inline; filename="{document.filename}"'},
    )
