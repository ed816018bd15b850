"""Deterministic OSCAL identifiers: UUIDv5 of stable inputs, and OSCAL's token pattern.

OSCAL asks for uuids "assigned per-subject": the same subject (a release's assessment, a
waiver's POA&M item) keeps its uuid across revisions of a document. A UUIDv5 of the subject's
own ids gives exactly that, and makes the same input produce byte-identical documents.
"""

from __future__ import annotations

import re
import uuid
from typing import Final

NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "https://aigov.dev/ns/oscal")
"""The UUIDv5 namespace of every uuid aigov puts in an OSCAL document."""

#: OSCAL's `token` datatype (XML NCName): a letter or `_`, then letters, digits, `.`, `-`, `_`.
#: The ASCII subset is enough here: aigov's ids (controls, tiers, signals) are ASCII.
TOKEN_PATTERN: Final = re.compile(r"^[_A-Za-z][_A-Za-z0-9.\-]*$")


def oscal_uuid(kind: str, *parts: str) -> str:
    """The UUIDv5 of `kind` and `parts` (e.g. `("finding", system, version, control)`)."""
    # The unit separator cannot appear in ids, so ("a", "bc") and ("ab", "c") differ.
    return str(uuid.uuid5(NAMESPACE, "\x1f".join((kind, *parts))))


def token(value: str) -> str:
    """`value` if it is an OSCAL token, else ValueError (ids become OSCAL ids unchanged)."""
    if not TOKEN_PATTERN.fullmatch(value):
        raise ValueError(f"{value!r} is not an OSCAL token")
    return value
