"""Checkpoint verification keys: key ids, public-key documents, and parsing them.

A trusted-keys document is a JSON mapping from key id to a base64 raw Ed25519 public key,
`{"<key id>": "<base64>"}`: the format of `AIGOV_EVIDENCE_TRUSTED_KEYS`, of the file named by
`AIGOV_EVIDENCE_TRUSTED_KEYS_FILE`, and of the `.pub` file written next to a generated dev key.
A key id is derived from its key, so a document cannot pin a key under another key's id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TrustedKeys = Mapping[str, Ed25519PublicKey]
"""Public keys a checkpoint signature may verify with, by key id."""

_RAW_KEY_BYTES: Final = 32


class KeyDocumentError(ValueError):
    """A trusted-keys document is not a mapping of key ids to Ed25519 public keys."""


def raw_public(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of an Ed25519 public key."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """A short stable id of a public key (first 16 hex digits of its SHA-256)."""
    return hashlib.sha256(raw_public(key)).hexdigest()[:16]


def encode_public(key: Ed25519PublicKey) -> str:
    """The base64 form of a public key, as trusted-keys documents and checkpoints carry it."""
    return base64.b64encode(raw_public(key)).decode()


def parse_public(encoded: str) -> Ed25519PublicKey:
    """An Ed25519 public key from its base64 raw form; KeyDocumentError if it is not one."""
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise KeyDocumentError("is not base64") from None
    if len(raw) != _RAW_KEY_BYTES:
        raise KeyDocumentError(f"is {len(raw)} bytes, an Ed25519 public key is 32")
    return Ed25519PublicKey.from_public_bytes(raw)


def parse_trusted_keys(
    document: Mapping[str, object], *, origin: str
) -> dict[str, Ed25519PublicKey]:
    """Check a key id -> base64 key mapping; each id must be the id of its key."""
    keys: dict[str, Ed25519PublicKey] = {}
    for name, encoded in document.items():
        if not isinstance(encoded, str):
            raise KeyDocumentError(f"{origin}: key {name!r}: expected a base64 string")
        try:
            key = parse_public(encoded)
        except KeyDocumentError as exc:
            raise KeyDocumentError(f"{origin}: key {name!r} {exc}") from None
        if key_id(key) != name:
            raise KeyDocumentError(
                f"{origin}: key {name!r} is not the id of its key (that key's id is "
                f"{key_id(key)!r}: the first 16 hex digits of SHA-256 of the raw key)"
            )
        keys[name] = key
    return keys


def read_trusted_keys(path: Path) -> dict[str, Ed25519PublicKey]:
    """The keys of a trusted-keys file (JSON); KeyDocumentError naming the file if malformed."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KeyDocumentError(f"cannot read trusted keys from {str(path)!r}: {exc}") from None
    if not isinstance(document, dict):
        raise KeyDocumentError(f"{str(path)!r}: expected a JSON object of key id -> public key")
    return parse_trusted_keys(document, origin=str(path))


def write_public_key_file(path: Path, key: Ed25519PublicKey) -> None:
    """Write `key` as a one-key trusted-keys document (world-readable: it is public)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps({key_id(key): encode_public(key)}) + "\n", encoding="utf-8")
    os.chmod(temporary, 0o644)
    temporary.replace(path)
