"""Generated documentation per release: system card, model card, EU AI Act Annex IV.

Everything a document says comes from what evidence recorded about the release (see
`dossier.load_dossier`); where evidence is missing the document says so, naming the control
that would supply it, instead of inventing text. `render_document` is the one entry point
(the API and the dashboard call it).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DocumentKind(StrEnum):
    """Which document to generate."""

    SYSTEM_CARD = "system-card"
    MODEL_CARD = "model-card"
    ANNEX_IV = "annex-iv"


class DocumentFormat(StrEnum):
    """The format of a rendered document (no PDF: see docs/documents.md)."""

    MARKDOWN = "markdown"
    HTML = "html"


@dataclass(frozen=True, slots=True)
class RenderedDocument:
    """A document ready to serve: its media type, text and a file name for downloads."""

    media_type: str
    body: str
    filename: str


class ReleaseNotFound(LookupError):
    """The system is not in the inventory, or no event names the release (the message says which)."""


class NotApplicable(ValueError):
    """The document does not apply to the release (Annex IV of a system that is not high tier)."""


# The builders import the types above, so they are imported once those exist.
from aigov_evidence.documents.render import render_document  # noqa: E402

__all__ = [
    "DocumentFormat",
    "DocumentKind",
    "NotApplicable",
    "ReleaseNotFound",
    "RenderedDocument",
    "render_document",
]
