"""Signed checkpoints: every chain head, signed with Ed25519, so history cannot be rewritten.

A checkpoint body lists every system's chain head `{sequence, hash}` (the sequence is also
the system's record count, and the set of keys is the set of systems), the total record count,
and the previous checkpoint's body hash, so checkpoints form a chain of their own. An auditor
keeps (or fetches from `GET /v1/checkpoints/latest`) a checkpoint; later, recomputing the
ledger must reproduce each head it lists. Which keys a signature may verify with comes from
configuration only (`trusted_keys`), never from the checkpoint row.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aigov_evidence.chain import canonical_json
from aigov_evidence.keys import (
    encode_public,
    key_id,
    read_trusted_keys,
    write_public_key_file,
)
from aigov_evidence.models import CHECKPOINTS, HEADS, LEDGER, Checkpoint
from aigov_evidence.settings import Settings

__all__ = [
    "SigningKeyError",
    "body_digest",
    "key_id",
    "latest_checkpoint",
    "load_signing_key",
    "signature_valid",
    "take_checkpoint",
    "trusted_keys",
    "verifies_with",
]

log = logging.getLogger(__name__)


class SigningKeyError(RuntimeError):
    """The signing key file is missing, unreadable or not an Ed25519 private key."""


def _read_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        # Never echo the file's content: it is the secret.
        raise SigningKeyError(
            f"cannot load the checkpoint signing key from {str(path)!r}: {type(exc).__name__}"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{str(path)!r} does not hold an Ed25519 private key")
    return key


def load_signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The configured signing key; in dev without one, a generated key kept under `.local/`.

    The dev key's public key is written next to it (`.pub`, a trusted-keys document), so a
    verifier elsewhere can pin it and dev verification trusts it after a key change.
    """
    if settings.evidence_signing_key_file is not None:
        return _read_key(settings.evidence_signing_key_file)
    path = settings.evidence_dev_signing_key_path
    if path.exists():
        key = _read_key(path)
        if not settings.dev_public_key_path.exists():
            write_public_key_file(settings.dev_public_key_path, key.public_key())
        return key
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    write_public_key_file(settings.dev_public_key_path, key.public_key())
    log.warning(
        "no AIGOV_EVIDENCE_SIGNING_KEY_FILE: generated a dev checkpoint signing key",
        extra={
            "path": str(path),
            "public_key_path": str(settings.dev_public_key_path),
            "key_id": key_id(key.public_key()),
        },
    )
    return key


def trusted_keys(settings: Settings) -> dict[str, Ed25519PublicKey]:
    """Every key a checkpoint signature may verify with, from configuration alone.

    The pinned keys (`AIGOV_EVIDENCE_TRUSTED_KEYS`, `..._FILE`), the configured signing key's
    public key, and in dev the dev key's (its `.pub`, or the key itself). Read on each call, so
    a dev key generated after startup (by the checkpoint job) is trusted at once; nothing is
    generated here.
    """
    keys = settings.pinned_keys
    if settings.evidence_signing_key_file is not None:
        public = _read_key(settings.evidence_signing_key_file).public_key()
        keys[key_id(public)] = public
    if settings.env == "dev":
        if settings.dev_public_key_path.exists():
            keys.update(read_trusted_keys(settings.dev_public_key_path))
        elif settings.evidence_dev_signing_key_path.exists():
            public = _read_key(settings.evidence_dev_signing_key_path).public_key()
            keys[key_id(public)] = public
    return keys


async def _heads(session: AsyncSession) -> dict[str, dict[str, Any]]:
    rows = await session.execute(
        select(HEADS.c.system_id, HEADS.c.sequence, HEADS.c.hash).order_by(HEADS.c.system_id)
    )
    return {row.system_id: {"sequence": row.sequence, "hash": row.hash} for row in rows}


async def latest_checkpoint(session: AsyncSession) -> Checkpoint | None:
    """The most recent checkpoint, if any was taken."""
    result = await session.scalars(select(Checkpoint).order_by(CHECKPOINTS.c.id.desc()).limit(1))
    return result.first()


def body_digest(body: dict[str, Any]) -> str:
    """SHA-256 (hex) of a checkpoint body's RFC 8785 form: what `previous_body_sha256` names."""
    return hashlib.sha256(canonical_json(body)).hexdigest()


async def take_checkpoint(
    session: AsyncSession, key: Ed25519PrivateKey, *, now: datetime | None = None
) -> Checkpoint | None:
    """Sign and store the current chain heads; None when nothing changed since the last one."""
    heads = await _heads(session)
    previous = await latest_checkpoint(session)
    if previous is not None and previous.body.get("heads") == heads:
        return None
    records = await session.scalar(select(func.count()).select_from(LEDGER))
    created = (now or datetime.now(UTC)).astimezone(UTC)
    body: dict[str, Any] = {
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "systems": len(heads),
        "ledger_records": int(records or 0),
        # The hash of the previous body as stored (what a verifier recomputes), not its column.
        "previous_body_sha256": body_digest(previous.body) if previous is not None else None,
        "heads": heads,
    }
    document = canonical_json(body)
    public = key.public_key()
    checkpoint = Checkpoint(
        created_at=created,
        body=body,
        body_sha256=hashlib.sha256(document).hexdigest(),
        signature=base64.b64encode(key.sign(document)).decode(),
        public_key=encode_public(public),
        key_id=key_id(public),
    )
    session.add(checkpoint)
    await session.flush()
    log.info(
        "ledger checkpoint signed",
        extra={"checkpoint": checkpoint.id, "systems": len(heads), "key_id": checkpoint.key_id},
    )
    return checkpoint


def verifies_with(key: Ed25519PublicKey, body: dict[str, Any], signature_b64: str) -> bool:
    """Whether `signature_b64` is `key`'s Ed25519 signature of `body`'s canonical JSON."""
    try:
        key.verify(base64.b64decode(signature_b64, validate=True), canonical_json(body))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def signature_valid(body: dict[str, Any], signature_b64: str, public_key_b64: str) -> bool:
    """Whether `signature_b64` verifies with `public_key_b64` (an auditor's check of a held key)."""
    # A key read from a checkpoint row proves nothing: verification pins keys (`trusted_keys`).
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
    return verifies_with(public, body, signature_b64)
