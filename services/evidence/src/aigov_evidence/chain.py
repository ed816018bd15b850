"""The hash chain: canonical event hashes (RFC 8785 JCS) and the links between records.

Pure functions, shared by the ledger writer, its verifier and the checkpoint signer, so the
three can never disagree about how a hash is computed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

import rfc8785

#: `prev_hash` of the first record of every system's chain.
GENESIS_HASH: Final = "0" * 64


#: Integers JSON numbers (IEEE 754 doubles) represent exactly.
_SAFE_INTEGER: Final = 2**53 - 1


def _as_ijson(value: Any) -> Any:
    """`value` with integers beyond the exact double range as floats, as RFC 8785 requires."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return float(value) if abs(value) > _SAFE_INTEGER else value
    if isinstance(value, dict):
        return {key: _as_ijson(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_ijson(item) for item in value]
    return value


class _NeedsReference(Exception):
    """The fast path cannot guarantee JCS output for this document."""


def _prepare(value: Any) -> Any:
    """`value` ready for `json.dumps(sort_keys=True)` to print its JCS form, or _NeedsReference.

    The C encoder prints what JCS prints for strings, booleans, null, safe integers and
    floats whose shortest representation needs no exponent in Python (1e-4 <= |x| < 1e16,
    where Python and ECMAScript agree); integral floats print as integers, as in ECMAScript.
    Keys must sort the same by code point as by UTF-16 unit, which holds below U+D800.
    """
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > _SAFE_INTEGER:
            raise _NeedsReference
        return value
    if isinstance(value, float):
        if value.is_integer():
            # ECMAScript prints integral doubles without ".0"; beyond 2**53 only the
            # reference implementation prints them exactly as ECMAScript would.
            if abs(value) > _SAFE_INTEGER:
                raise _NeedsReference
            return int(value)
        if not 1e-4 <= abs(value) < 1e16:
            raise _NeedsReference
        return value
    if isinstance(value, dict):
        prepared = {}
        for key, item in value.items():
            if not isinstance(key, str) or not (key.isascii() or max(key) < "\ud800"):
                raise _NeedsReference
            prepared[key] = _prepare(item)
        return prepared
    if isinstance(value, list):
        return [_prepare(item) for item in value]
    raise _NeedsReference


def canonical_json(document: Any) -> bytes:
    """The RFC 8785 (JCS) canonical JSON bytes of `document`.

    Most documents take a fast path through the standard library's C encoder (the ledger
    hashes every event, so this is the ingest's hot spot); anything it cannot print exactly
    goes through the reference implementation (`rfc8785`). A property test checks both agree.
    JCS serialises numbers as doubles; a larger integer (rare: JSON producers outside aigov)
    is hashed as the double a JavaScript reader would see, instead of refusing the event.
    """
    try:
        prepared = _prepare(document)
        return json.dumps(
            prepared, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
    except (_NeedsReference, UnicodeEncodeError):
        return reference_canonical_json(document)


def reference_canonical_json(document: Any) -> bytes:
    """RFC 8785 canonical JSON by the reference implementation (`rfc8785`)."""
    try:
        return rfc8785.dumps(document)
    except rfc8785.IntegerDomainError:
        return rfc8785.dumps(_as_ijson(document))


def event_document(attributes: Mapping[str, Any], payload: Any) -> dict[str, Any]:
    """The CloudEvents JSON form of a recorded event: its attributes plus `data`."""
    document = dict(attributes)
    if payload is not None:
        document["data"] = payload
    return document


def event_hash(attributes: Mapping[str, Any], payload: Any) -> str:
    """SHA-256 (hex) of the event's canonical JSON."""
    return hashlib.sha256(canonical_json(event_document(attributes, payload))).hexdigest()


def link_hash(prev_hash: str, sequence: int, event_sha256: str) -> str:
    """The record's chain hash: it commits to the previous record, its position and its event."""
    return hashlib.sha256(f"{prev_hash}:{sequence}:{event_sha256}".encode("ascii")).hexdigest()
