"""The pieces every OSCAL document shares: metadata, properties, links, timestamps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final, NotRequired, TypedDict

from aigov_oscal import OSCAL_VERSION

AIGOV_NS: Final = "https://aigov.dev/ns/oscal"
"""Namespace of aigov's own property and part names (OSCAL `ns`)."""

Property = TypedDict(
    "Property",
    {"name": str, "value": str, "ns": NotRequired[str], "class": NotRequired[str]},
)
"""An OSCAL `property`: a namespaced name/value pair."""

Link = TypedDict(
    "Link",
    {
        "href": str,
        "rel": NotRequired[str],
        "media-type": NotRequired[str],
        "text": NotRequired[str],
    },
)
"""An OSCAL `link`."""

Metadata = TypedDict(
    "Metadata",
    {
        "title": str,
        "last-modified": str,
        "version": str,
        "oscal-version": str,
        "props": NotRequired[list[Property]],
        "links": NotRequired[list[Link]],
        "remarks": NotRequired[str],
    },
)
"""An OSCAL document's `metadata`."""


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with a `Z` (OSCAL's date-time-with-timezone), microseconds kept."""
    if moment.tzinfo is None:
        raise ValueError("OSCAL timestamps need a time zone")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def prop(name: str, value: str, *, cls: str | None = None) -> Property:
    """An aigov property (`ns` = AIGOV_NS); `value` is stripped, as OSCAL forbids edge spaces."""
    made: Property = {"name": name, "value": " ".join(value.split()), "ns": AIGOV_NS}
    if cls is not None:
        made["class"] = cls
    return made


def link(href: str, rel: str, *, media_type: str | None = None, text: str | None = None) -> Link:
    """A link with its relation (and media type, text when given)."""
    made: Link = {"href": href, "rel": rel}
    if media_type is not None:
        made["media-type"] = media_type
    if text is not None:
        made["text"] = text
    return made


def metadata(
    title: str,
    *,
    last_modified: datetime,
    version: str,
    props: Sequence[Property] = (),
    links: Sequence[Link] = (),
    remarks: str | None = None,
) -> Metadata:
    """Document metadata; empty lists are left out (OSCAL arrays hold at least one item)."""
    made: Metadata = {
        "title": title,
        "last-modified": timestamp(last_modified),
        "version": version,
        "oscal-version": OSCAL_VERSION,
    }
    if props:
        made["props"] = list(props)
    if links:
        made["links"] = list(links)
    if remarks:
        made["remarks"] = remarks
    return made
