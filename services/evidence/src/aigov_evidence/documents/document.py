"""The shape every generated document has: sections of facts, tables and gaps.

Builders (`cards`, `annex_iv`) turn a dossier into a `Document`; `render` turns a document
into Markdown or HTML. Nothing here knows about a format, so both formats say the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True, slots=True)
class Fact:
    """One labelled statement (`Purpose: ...`), its value taken from evidence."""

    label: str
    value: str
    kind: Literal["fact"] = "fact"


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of evidence with the same columns (metrics, controls, approvals, ...)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str | None = None
    kind: Literal["table"] = "table"


@dataclass(frozen=True, slots=True)
class Text:
    """A sentence of the document's own (what a section is, where its facts come from)."""

    text: str
    kind: Literal["text"] = "text"


Item = Fact | Table | Text


@dataclass(frozen=True, slots=True)
class Gap:
    """Something the document should say but the evidence does not: said plainly, never invented.

    `controls` are the tier decision's required controls whose evidence would supply it
    (empty when no required control asks for it).
    """

    missing: str
    """What is not recorded, e.g. `no artifact of kind risk_assessment for release 1.2`."""
    controls: tuple[str, ...] = ()
    """`control_id (title)` of the controls that would supply it."""
    note: str | None = None
    """Why no control is named, or what else would help."""


@dataclass(frozen=True, slots=True)
class Section:
    """A titled part of a document: what evidence says, then what it does not."""

    key: str
    """Stable anchor (`intended-use`, `annex-iv-5`)."""
    title: str
    items: tuple[Item, ...] = ()
    gaps: tuple[Gap, ...] = ()

    @property
    def filled(self) -> bool:
        """Whether any evidence fills the section (else it is all gaps)."""
        return any(not isinstance(item, Text) for item in self.items)


@dataclass(frozen=True, slots=True)
class Document:
    """A generated document about one release."""

    title: str
    subtitle: str
    header: tuple[Fact, ...]
    """The release's identity: system, version, tier, policy, generated at."""
    sections: tuple[Section, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    """Closing notes (how the document was generated, what it cannot prove)."""

    @property
    def gaps(self) -> tuple[Gap, ...]:
        """Every gap of every section, in order."""
        return tuple(gap for section in self.sections for gap in section.gaps)
