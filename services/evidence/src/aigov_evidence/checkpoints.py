"""Signed checkpoints: every chain head, signed with Ed25519, so history cannot be rewritten.

An auditor keeps (or fetches from `GET /v1/checkpoints/latest`) a checkpoint and its public
key; later, recomputing the ledger must reproduce each head it lists. Rewriting a system's
history means recomputing its hashes, which changes a head the signature covers.
"""

from __future__ import annotations

import base64
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
from aigov_evidence.ledger import HEADS, LEDGER
from aigov_evidence.models import Checkpoint
from aigov_evidence.settings import Settings

log = logging.getLogger(__name__)

CHECKPOINTS = Checkpoint.__table__  # type: ignore[attr-defined]


class SigningKeyError(RuntimeError):
    """The signing key file is missing, unreadable or not an Ed25519 private key."""


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """A short stable id of a public key (first 16 hex digits of its SHA-256)."""
    return hashlib.sha256(_raw_public(key)).hexdigest()[:16]


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
    """The configured signing key; in dev without one, a generated key kept under `.local/`."""
    if settings.evidence_signing_key_file is not None:
        return _read_key(settings.evidence_signing_key_file)
    path = settings.evidence_dev_signing_key_path
    if path.exists():
        return _read_key(path)
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    log.warning(
        "no AIGOV_EVIDENCE_SIGNING_KEY_FILE: generated a dev checkpoint signing key",
        extra={"path": str(path), "key_id": key_id(key.public_key())},
    )
    return key


async def _heads(session: AsyncSession) -> dict[str, dict[str, Any]]:
    rows = await session.execute(
        select(HEADS.c.system_id, HEADS.c.sequence, HEADS.c.hash).order_by(HEADS.c.system_id)
    )
    return {row.system_id: {"sequence": row.sequence, "hash": row.hash} for row in rows}


async def latest_checkpoint(session: AsyncSession) -> Checkpoint | None:
    """The most recent checkpoint, if any was taken."""
    result = await session.scalars(select(Checkpoint).order_by(CHECKPOINTS.c.id.desc()).limit(1))
    return result.first()


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
        "previous_body_sha256": previous.body_sha256 if previous is not None else None,
        "heads": heads,
    }
    document = canonical_json(body)
    public = key.public_key()
    checkpoint = Checkpoint(
        created_at=created,
        body=body,
        body_sha256=hashlib.sha256(document).hexdigest(),
        signature=base64.b64encode(key.sign(document)).decode(),
        public_key=base64.b64encode(_raw_public(public)).decode(),
        key_id=key_id(public),
    )
    session.add(checkpoint)
    await session.flush()
    log.info(
        "ledger checkpoint signed",
        extra={"checkpoint": checkpoint.id, "systems": len(heads), "key_id": checkpoint.key_id},
    )
    return checkpoint


def signature_valid(body: dict[str, Any], signature_b64: str, public_key_b64: str) -> bool:
    """Whether `signature_b64` is the Ed25519 signature of `body`'s canonical JSON."""
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
    try:
        public.verify(base64.b64decode(signature_b64), canonical_json(body))
    except InvalidSignature:
        return False
    return True
