"""C2SP signed notes and tlog checkpoints: the text a log signs and a witness cosigns.

A signed note (https://c2sp.org/signed-note) is UTF-8 text ending in a newline, a blank line,
then one line per signature: an em dash, a space, the key name, a space, and base64 of the
4-byte key hash followed by the Ed25519 signature of the text (final newline included). The
key hash is the first four bytes of SHA-256(name || "\\n" || 0x01 || public key), so a
signature names the exact key it claims. A verifier key is shared as the text
`<name>+<key hash as 8 hex digits>+<base64(0x01 || public key)>`.

A checkpoint (https://c2sp.org/tlog-checkpoint) is a note whose text is the log's origin, its
tree size in decimal and its root hash in base64, one per line, optionally followed by
extension lines. Because both formats are the ones Go's `sumdb/note` and the transparency-dev
witnesses read, aigov's checkpoints can be cosigned and checked by tools that are not aigov.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from aigov_evidence.keys import raw_public
from aigov_evidence.tlog.tree import HASH_SIZE

__all__ = [
    "Checkpoint",
    "NoteError",
    "NoteSigner",
    "NoteVerifier",
    "OpenedNote",
    "open_note",
    "sign_note",
]

_ED25519: Final = 0x01
_SIGNATURE_PREFIX: Final = "\u2014 "
_MAX_SIGNATURES: Final = 100
_MAX_NOTE_BYTES: Final = 1 << 20
_DECIMAL: Final = re.compile(r"^(0|[1-9][0-9]{0,19})$")


class NoteError(ValueError):
    """A note or checkpoint is malformed, unsigned by a trusted key, or badly signed."""


def _valid_name(name: str) -> bool:
    # Non-empty, no Unicode space, no plus (the verifier key's separator).
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def _key_hash(name: str, key: Ed25519PublicKey) -> int:
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([_ED25519]) + raw_public(key)).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """A named Ed25519 public key that signatures on notes are checked with."""

    name: str
    key: Ed25519PublicKey

    def __post_init__(self) -> None:
        if not _valid_name(self.name):
            raise NoteError(f"key name {self.name!r}: must be non-empty, without spaces or '+'")

    @property
    def key_hash(self) -> int:
        """The 32-bit key hash signatures by this key start with."""
        return _key_hash(self.name, self.key)

    @property
    def verifier_key(self) -> str:
        """The key as C2SP verifier-key text (what a witness or an auditor pins)."""
        encoded = base64.b64encode(bytes([_ED25519]) + raw_public(self.key)).decode()
        return f"{self.name}+{self.key_hash:08x}+{encoded}"

    @classmethod
    def parse(cls, verifier_key: str) -> NoteVerifier:
        """Read verifier-key text; NoteError says what is wrong with it."""
        parts = verifier_key.strip().split("+")
        if len(parts) != 3:
            raise NoteError("verifier key: expected <name>+<8 hex digits>+<base64 key>")
        name, hash_hex, encoded = parts
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise NoteError("verifier key: the key is not valid base64") from None
        if len(raw) != 33 or raw[0] != _ED25519:
            raise NoteError("verifier key: only Ed25519 keys (type 0x01, 32 bytes) are supported")
        verifier = cls(name, Ed25519PublicKey.from_public_bytes(raw[1:]))
        if not re.fullmatch(r"[0-9a-f]{8}", hash_hex) or int(hash_hex, 16) != verifier.key_hash:
            raise NoteError("verifier key: the key hash does not match the name and key")
        return verifier


@dataclass(frozen=True, slots=True)
class NoteSigner:
    """A named Ed25519 private key that signs notes."""

    name: str
    key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        if not _valid_name(self.name):
            raise NoteError(f"key name {self.name!r}: must be non-empty, without spaces or '+'")

    @property
    def verifier(self) -> NoteVerifier:
        """The public half, to publish and pin."""
        return NoteVerifier(self.name, self.key.public_key())

    def signature_line(self, text: str) -> str:
        """The signature line of this key over `text` (already checked by the caller)."""
        signature = self.key.sign(text.encode())
        prefix = self.verifier.key_hash.to_bytes(4, "big")
        return f"{_SIGNATURE_PREFIX}{self.name} {base64.b64encode(prefix + signature).decode()}\n"


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if "\n\n" in text:
        raise NoteError("note text must not contain a blank line")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("note text must not contain control characters other than newline")


def sign_note(text: str, signers: Sequence[NoteSigner]) -> str:
    """The signed note of `text` with one signature line per signer."""
    if not signers:
        raise NoteError("a note needs at least one signer")
    _check_text(text)
    return text + "\n" + "".join(signer.signature_line(text) for signer in signers)


@dataclass(frozen=True, slots=True)
class OpenedNote:
    """A note whose signatures by trusted keys all verified."""

    text: str
    signed_by: tuple[str, ...]
    """The verifier keys whose signatures verified (at least one)."""
    unknown: tuple[str, ...]
    """`<name>+<key hash>` of signatures by keys that were not given (not checked)."""


def open_note(note: str | bytes, verifiers: Iterable[NoteVerifier]) -> OpenedNote:
    """Check a signed note against trusted keys, as Go's `note.Open` does.

    A signature by a trusted key that does not verify rejects the whole note; signatures by
    other keys are listed, not checked; at least one trusted signature must be there.
    """
    raw = note.encode() if isinstance(note, str) else note
    if len(raw) > _MAX_NOTE_BYTES:
        raise NoteError(f"note is larger than {_MAX_NOTE_BYTES} bytes")
    try:
        message = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteError("note is not valid UTF-8") from None
    if any(ord(c) < 0x20 and c != "\n" for c in message):
        raise NoteError("note contains control characters other than newline")
    split = message.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line before its signatures")
    text, block = message[: split + 1], message[split + 2 :]
    if not block.endswith("\n"):
        raise NoteError("note's signature lines must end with a newline")
    trusted = {(v.name, v.key_hash): v for v in verifiers}
    signed_by: list[str] = []
    unknown: list[str] = []
    lines = block[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise NoteError(f"note has more than {_MAX_SIGNATURES} signatures")
    for number, line in enumerate(lines, start=1):
        name, key_hash, signature = _signature(line, number)
        verifier = trusted.get((name, key_hash))
        label = f"{name}+{key_hash:08x}"
        if verifier is None:
            if label not in unknown:
                unknown.append(label)
            continue
        if verifier.verifier_key in signed_by:
            continue  # the same key twice: Go ignores the repeat too
        try:
            verifier.key.verify(signature, text.encode())
        except InvalidSignature:
            raise NoteError(f"signature line {number}: invalid signature by {label}") from None
        signed_by.append(verifier.verifier_key)
    if not signed_by:
        raise NoteError("note has no signature by a trusted key")
    return OpenedNote(text=text, signed_by=tuple(signed_by), unknown=tuple(unknown))


def _signature(line: str, number: int) -> tuple[str, int, bytes]:
    if not line.startswith(_SIGNATURE_PREFIX):
        raise NoteError(f"signature line {number}: must start with an em dash and a space")
    name, _, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
    try:
        decoded = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise NoteError(f"signature line {number}: the signature is not valid base64") from None
    if not _valid_name(name) or len(decoded) < 5:
        raise NoteError(f"signature line {number}: expected '— <key name> <base64 signature>'")
    return name, int.from_bytes(decoded[:4], "big"), decoded[4:]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's signed claim: the tree of `size` leaves has root `root_hash`."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise NoteError("checkpoint origin must be one non-empty line")
        if self.size < 0:
            raise NoteError("checkpoint tree size must not be negative")
        if len(self.root_hash) != HASH_SIZE:
            raise NoteError(f"checkpoint root hash must be {HASH_SIZE} bytes")
        if any(not line or "\n" in line for line in self.extensions):
            raise NoteError("checkpoint extension lines must be non-empty single lines")

    def text(self) -> str:
        """The note text: origin, size, base64 root hash, extension lines."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode()]
        return "\n".join([*lines, *self.extensions]) + "\n"

    def sign(self, signers: Sequence[NoteSigner]) -> str:
        """The signed checkpoint note."""
        return sign_note(self.text(), signers)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Read a checkpoint's note text (already opened); NoteError names what is wrong."""
        if not text.endswith("\n"):
            raise NoteError("checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError("checkpoint needs an origin, a tree size and a root hash")
        origin, size, root = lines[:3]
        if not _DECIMAL.match(size):
            raise NoteError(f"checkpoint tree size {size!r} is not a decimal number")
        try:
            root_hash = base64.b64decode(root, validate=True)
        except binascii.Error:
            raise NoteError("checkpoint root hash is not valid base64") from None
        return cls(origin, int(size), root_hash, tuple(lines[3:]))

    @classmethod
    def open(
        cls, note: str | bytes, verifiers: Iterable[NoteVerifier], *, origin: str
    ) -> Checkpoint:
        """Verify a signed checkpoint from the log `origin` and read it."""
        checkpoint = cls.parse(open_note(note, verifiers).text)
        if checkpoint.origin != origin:
            raise NoteError(f"checkpoint is from {checkpoint.origin!r}, not {origin!r}")
        return checkpoint
