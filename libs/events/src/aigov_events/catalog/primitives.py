"""Constrained scalar types shared by the manifest and every event payload.

Patterns have search semantics in both pydantic and JSON Schema: identifier patterns
are anchored with `^...$`, and the unanchored `\\S` of free text only requires one
non-blank character, so the published schema means exactly what pydantic enforces.
Identifiers are restricted to characters that are safe in URLs, Kafka keys and log
lines; free text is bounded so one event stays far below Kafka's 1 MiB default. No string
holds a NUL character: PostgreSQL text cannot store one, so it would fail deep in a service
instead of at validation.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import AwareDatetime, Field, StringConstraints

#: Event type strings: `io.aigov.<noun>.<verb>.v<N>`.
EVENT_TYPE_PATTERN: Final = r"^io\.aigov\.[a-z_]+(\.[a-z_]+)*\.v[0-9]+$"

#: AI system ids: lower-case slug, also used as the Kafka record key.
SYSTEM_ID_PATTERN: Final = r"^[a-z0-9][a-z0-9-]{0,62}$"

#: Control ids: dotted lower-case names, at least two segments (`evaluation.prompt_injection`).
CONTROL_ID_PATTERN: Final = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"

SystemId = Annotated[str, StringConstraints(pattern=SYSTEM_ID_PATTERN)]
"""An AI system id (`support-summarizer`)."""

ReleaseVersion = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")]
"""A release version (`2026.11.3`, `1.4.0-rc.1+build.7`); no spaces, it is part of a release key."""

Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/+-]{0,127}$")]
"""An opaque id issued by aigov or a tool (waiver `W-17`, run `8812`, UUIDs, fingerprints)."""

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
"""A lower-case vocabulary term or name (`drift`, `model_card`, `risk-officer`)."""

ControlId = Annotated[str, StringConstraints(pattern=CONTROL_ID_PATTERN)]
"""A control id from the policy pack (`artifact.model_card`)."""

Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
"""A SHA-256 digest as 64 lower-case hex digits."""

#: Text that is not blank and holds no NUL (PostgreSQL cannot store one).
PRINTED_TEXT_PATTERN: Final = r"^[^\x00]*[^\s\x00][^\x00]*$"

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=PRINTED_TEXT_PATTERN)]
"""A short human-readable name or label (not blank)."""

Text = Annotated[
    str, StringConstraints(min_length=1, max_length=4000, pattern=PRINTED_TEXT_PATTERN)
]
"""Free text such as a rationale or summary (not blank, at most 4000 characters)."""

Uri = Annotated[
    str, StringConstraints(max_length=2048, pattern=r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00]+$")
]
"""An absolute URI of any scheme (`s3://…`, `https://…`, `models:/…`), kept verbatim."""

WebUrl = Annotated[
    str, StringConstraints(max_length=2048, pattern=r"^https?://[^\s/?#\x00]+[^\s\x00]*$")
]
"""An http(s) URL, kept verbatim (pydantic's URL types would normalise it and break round-trips)."""

Timestamp = AwareDatetime
"""A datetime with an explicit UTC offset; naive datetimes are rejected."""

Revision = Annotated[int, Field(ge=1)]
"""A manifest revision number (the first registration is revision 1)."""

LabelKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_./-]{0,127}$")]
LabelValue = Annotated[str, StringConstraints(max_length=1024, pattern=r"^[^\x00]*$")]
Labels = Annotated[dict[LabelKey, LabelValue], Field(max_length=64)]
"""A bounded string-to-string map (Prometheus/Kubernetes-style labels or tags)."""
