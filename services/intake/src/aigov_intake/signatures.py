"""HMAC signatures of webhook deliveries: GitHub's and MLflow's schemes, verified on raw bytes.

Pure functions (no HTTP, no clock of their own) so the schemes can be tested against
published vectors. Every comparison is between digests (bytes) with `hmac.compare_digest`;
a presented signature is decoded first, so a malformed one is simply not equal.

- GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`. The signature
  covers the body only: no timestamp, and the delivery id header is not signed.
- MLflow (Standard Webhooks style): `X-MLflow-Signature: v1,<base64 HMAC-SHA256(secret,
  "{delivery_id}.{timestamp}.{body}")>`, several space-separated during a key rotation;
  the timestamp (unix seconds) is signed, so stale deliveries are refused as replays.
- MLflow legacy: `sha256=<hex HMAC-SHA256(secret, body)>`, documented by an earlier MLflow
  release; accepted only when enabled, since it covers neither the delivery id nor the time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Final

GITHUB_PREFIX: Final = "sha256="
MLFLOW_VERSION_PREFIX: Final = "v1,"
MLFLOW_LEGACY_PREFIX: Final = "sha256="
_SHA256_BYTES: Final = hashlib.sha256().digest_size


class SignatureError(Exception):
    """A delivery is not authentic; the message is safe to show the sender (no secrets)."""


class MissingSignature(SignatureError):
    """The delivery carries no signature, or lacks a header the signature needs."""


class InvalidSignature(SignatureError):
    """No configured secret produces the presented signature (or it is malformed)."""


class StaleDelivery(SignatureError):
    """The signed timestamp is too far from now: a replay, or a badly wrong clock."""


class MlflowScheme(StrEnum):
    """Which MLflow signature form verified a delivery."""

    V1 = "v1"
    LEGACY = "legacy"


def _hmac(secret: bytes, *parts: bytes) -> bytes:
    mac = hmac.new(secret, digestmod=hashlib.sha256)
    for part in parts:
        mac.update(part)
    return mac.digest()


def _matches(presented: Iterable[bytes], expected: Iterable[bytes]) -> bool:
    expected = list(expected)
    return any(hmac.compare_digest(p, e) for p in presented for e in expected)


def _hex_digest(text: str) -> bytes | None:
    """The digest a hex signature stands for, None when it is not 64 hex digits."""
    if len(text) != 2 * _SHA256_BYTES:
        return None
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None


def _base64_digest(text: str) -> bytes | None:
    """The digest a base64 signature stands for, None when it is not one."""
    try:
        digest = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return digest if len(digest) == _SHA256_BYTES else None


# --- GitHub ----------------------------------------------------------------------------------


def sign_github(secret: bytes, body: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body`."""
    return GITHUB_PREFIX + _hmac(secret, body).hex()


def verify_github(body: bytes, signature: str | None, *, secrets: Sequence[bytes]) -> None:
    """Raise SignatureError unless `signature` is a valid `X-Hub-Signature-256` of `body`."""
    if not signature:
        raise MissingSignature("missing X-Hub-Signature-256 header (the sha1 form is not accepted)")
    scheme, _, value = signature.strip().partition("=")
    digest = _hex_digest(value) if f"{scheme}=" == GITHUB_PREFIX else None
    if digest is None:
        raise InvalidSignature("X-Hub-Signature-256 must be sha256=<64 hex digits>")
    if not _matches([digest], (_hmac(secret, body) for secret in secrets)):
        raise InvalidSignature("X-Hub-Signature-256 does not match the body")


# --- MLflow ----------------------------------------------------------------------------------


def sign_mlflow(secret: bytes, *, delivery_id: str, timestamp: str, body: bytes) -> str:
    """The `X-MLflow-Signature` value MLflow sends (v1)."""
    digest = _hmac(secret, delivery_id.encode(), b".", timestamp.encode(), b".", body)
    return MLFLOW_VERSION_PREFIX + base64.b64encode(digest).decode("ascii")


def sign_mlflow_legacy(secret: bytes, body: bytes) -> str:
    """The legacy `sha256=<hex>` value of older MLflow documentation."""
    return MLFLOW_LEGACY_PREFIX + _hmac(secret, body).hex()


def check_timestamp(timestamp: str | None, *, now: float, tolerance_seconds: float) -> int:
    """The delivery time (unix seconds) if it is within `tolerance_seconds` of `now`."""
    if not timestamp:
        raise MissingSignature("missing X-MLflow-Timestamp header")
    text = timestamp.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise InvalidSignature("X-MLflow-Timestamp must be unix seconds")
    seconds = int(text)
    if abs(now - seconds) > tolerance_seconds:
        raise StaleDelivery(
            f"X-MLflow-Timestamp is more than {tolerance_seconds:g} s from the receiver's "
            "clock: replayed or delayed delivery"
        )
    return seconds


def verify_mlflow(
    body: bytes,
    *,
    signature: str | None,
    delivery_id: str | None,
    timestamp: str | None,
    secrets: Sequence[bytes],
    now: float,
    tolerance_seconds: float,
    accept_legacy: bool = False,
) -> MlflowScheme:
    """Verify an MLflow delivery; return the scheme that verified it, else raise SignatureError."""
    if not signature or not signature.strip():
        raise MissingSignature(
            "missing X-MLflow-Signature header (create the MLflow webhook with a secret)"
        )
    signature = signature.strip()
    if signature.startswith(MLFLOW_LEGACY_PREFIX):
        if not accept_legacy:
            raise InvalidSignature(
                "the legacy sha256= signature is not accepted here; upgrade MLflow (v1 signatures)"
            )
        if timestamp:
            # Not signed in this form, but a sender that states an old time is still refused.
            check_timestamp(timestamp, now=now, tolerance_seconds=tolerance_seconds)
        digest = _hex_digest(signature.removeprefix(MLFLOW_LEGACY_PREFIX))
        if digest is None or not _matches([digest], (_hmac(s, body) for s in secrets)):
            raise InvalidSignature("X-MLflow-Signature does not match the body")
        return MlflowScheme.LEGACY
    if not delivery_id:
        raise MissingSignature("missing X-MLflow-Delivery-Id header (it is signed)")
    check_timestamp(timestamp, now=now, tolerance_seconds=tolerance_seconds)
    assert timestamp is not None  # check_timestamp refuses a missing one
    presented = [
        digest
        for part in signature.split()
        if part.startswith(MLFLOW_VERSION_PREFIX)
        and (digest := _base64_digest(part.removeprefix(MLFLOW_VERSION_PREFIX))) is not None
    ]
    if not presented:
        raise InvalidSignature("X-MLflow-Signature must be v1,<base64 HMAC-SHA256>")
    signed = (delivery_id.encode(), b".", timestamp.encode(), b".", body)
    if not _matches(presented, (_hmac(secret, *signed) for secret in secrets)):
        raise InvalidSignature("X-MLflow-Signature does not match the delivery")
    return MlflowScheme.V1
