"""Render a document as Markdown or HTML (Jinja2 templates in `templates/`), and the entry point.

User-supplied text (manifest fields, artifact sections, rationales, incident summaries) never
becomes markup: HTML is autoescaped, and in Markdown every `{{ ... }}` output goes through
`markdown_text` (the environment's `finalize`), which backslash-escapes the characters that
make links, images, emphasis, code, tables and inline HTML, and folds line breaks (a value
can then never start a heading, list or table row). Only the templates' own text is markup.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy.ext.asyncio import AsyncSession

from aigov_evidence.documents import DocumentFormat, DocumentKind, RenderedDocument
from aigov_evidence.documents.annex_iv import annex_iv
from aigov_evidence.documents.cards import model_card, system_card
from aigov_evidence.documents.document import Document
from aigov_evidence.documents.dossier import Dossier, load_dossier

# CommonMark lets any ASCII punctuation be backslash-escaped; these are the ones that open
# markup inline: links and images need `[`, emphasis `*`/`_`, code a backtick, HTML `<`,
# entities `&`, GFM tables `|` and strikethrough `~`. Parentheses, `!` and `#` do nothing
# without them (a value never starts a line), so they stay readable.
_MARKDOWN_SPECIAL: Final = re.compile(r"([\\`*_\[\]<>|~&])")
_BLANK_LINES: Final = re.compile(r"\n{3,}")

BUILDERS: Final[dict[DocumentKind, Callable[[Dossier], Document]]] = {
    DocumentKind.SYSTEM_CARD: system_card,
    DocumentKind.MODEL_CARD: model_card,
    DocumentKind.ANNEX_IV: annex_iv,
}
MEDIA_TYPES: Final = {
    DocumentFormat.MARKDOWN: "text/markdown; charset=utf-8",
    DocumentFormat.HTML: "text/html; charset=utf-8",
}
_EXTENSIONS: Final = {DocumentFormat.MARKDOWN: "md", DocumentFormat.HTML: "html"}
_TEMPLATES: Final = {
    DocumentFormat.MARKDOWN: "document.md.j2",
    DocumentFormat.HTML: "document.html.j2",
}


def markdown_text(value: Any) -> str:
    """`value` as inert Markdown text: one line, markup characters backslash-escaped."""
    text = " ".join(str(value).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _environment(fmt: DocumentFormat) -> Environment:
    options: dict[str, Any] = {
        "loader": PackageLoader("aigov_evidence.documents", "templates"),
        "undefined": StrictUndefined,
        "trim_blocks": True,
        "lstrip_blocks": True,
        "keep_trailing_newline": True,
    }
    if fmt == DocumentFormat.HTML:
        return Environment(autoescape=True, **options)
    return Environment(autoescape=False, finalize=markdown_text, **options)


_ENVIRONMENTS: Final = {fmt: _environment(fmt) for fmt in DocumentFormat}


def render(document: Document, fmt: DocumentFormat) -> str:
    """The document's text in `fmt`."""
    text = _ENVIRONMENTS[fmt].get_template(_TEMPLATES[fmt]).render(doc=document)
    if fmt == DocumentFormat.MARKDOWN:
        # Blocks are separated by one blank line whatever the template's loops emitted.
        text = _BLANK_LINES.sub("\n\n", text).rstrip("\n") + "\n"
    return text


def filename(system_id: str, version: str, kind: DocumentKind, fmt: DocumentFormat) -> str:
    """The download name: `<system>-<version>-<kind>.<md|html>` (ids and versions are safe)."""
    return f"{system_id}-{version}-{kind.value}.{_EXTENSIONS[fmt]}"


async def render_document(
    session: AsyncSession,
    system_id: str,
    version: str,
    kind: DocumentKind,
    fmt: DocumentFormat,
    *,
    now: datetime,
) -> RenderedDocument:
    """Generate `kind` for the release in `fmt`; ReleaseNotFound, or NotApplicable (Annex IV)."""
    dossier = await load_dossier(session, system_id, version, now=now)
    document = BUILDERS[kind](dossier)
    return RenderedDocument(
        media_type=MEDIA_TYPES[fmt],
        body=render(document, fmt),
        filename=filename(system_id, version, kind, fmt),
    )
