"""Signed notes and checkpoints, byte for byte as Go's sumdb/note writes and reads them."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aigov_evidence.tlog.note import (
    Checkpoint,
    NoteError,
    NoteSigner,
    NoteVerifier,
    open_note,
    sign_note,
)

# The example of golang.org/x/mod/sumdb/note's documentation: its signer key, verifier key,
# text and signed note. Ed25519 is deterministic, so the signature must come out the same.
GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT
    + "\n"
    + "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def go_signer() -> NoteSigner:
    seed = base64.b64decode(GO_SIGNER_KEY.split("+", 4)[4])[1:]
    return NoteSigner("PeterNeumann", Ed25519PrivateKey.from_private_bytes(seed))


class TestGoCompatibility:
    def test_the_documented_note_is_signed_byte_for_byte(self) -> None:
        signer = go_signer()
        assert signer.verifier.verifier_key == GO_VERIFIER_KEY
        assert sign_note(GO_TEXT, [signer]) == GO_NOTE

    def test_the_documented_note_opens_with_the_documented_verifier_key(self) -> None:
        opened = open_note(GO_NOTE, [NoteVerifier.parse(GO_VERIFIER_KEY)])
        assert opened.text == GO_TEXT
        assert opened.signed_by == (GO_VERIFIER_KEY,)


class TestOpening:
    def setup_method(self) -> None:
        self.signer = NoteSigner("log.example/aigov", Ed25519PrivateKey.generate())
        self.witness = NoteSigner("witness.example", Ed25519PrivateKey.generate())
        self.text = "log.example/aigov\n3\n" + base64.b64encode(b"r" * 32).decode() + "\n"

    def test_a_cosigned_note_opens_with_either_key_and_lists_the_other(self) -> None:
        note = sign_note(self.text, [self.signer, self.witness])
        opened = open_note(note, [self.signer.verifier])
        assert opened.signed_by == (self.signer.verifier.verifier_key,)
        assert opened.unknown == (f"witness.example+{self.witness.verifier.key_hash:08x}",)
        both = open_note(note, [self.signer.verifier, self.witness.verifier])
        assert len(both.signed_by) == 2

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            (lambda n: n.replace("\n3\n", "\n4\n"), "invalid signature"),
            (lambda n: n.replace("\n\n", "\n"), "no blank line"),
            (lambda n: n[:-1], "end with a newline"),
            (lambda n: n.replace("\u2014 ", "- "), "em dash"),
            (lambda n: n.replace("\n\n", "\n\x07\n"), "control characters"),
            (lambda n: n[: n.rindex(" ") + 1] + "!!!\n", "base64"),
        ],
        ids=["text", "separator", "last-newline", "dash", "control", "base64"],
    )
    def test_a_changed_note_is_refused_with_its_reason(self, change: object, message: str) -> None:
        note = sign_note(self.text, [self.signer])
        with pytest.raises(NoteError, match=message):
            open_note(change(note), [self.signer.verifier])  # type: ignore[operator]

    def test_a_note_signed_only_by_an_untrusted_key_is_refused(self) -> None:
        note = sign_note(self.text, [self.witness])
        with pytest.raises(NoteError, match="no signature by a trusted key"):
            open_note(note, [self.signer.verifier])

    def test_a_key_with_a_trusted_name_but_another_key_is_not_trusted(self) -> None:
        impostor = NoteSigner("log.example/aigov", Ed25519PrivateKey.generate())
        with pytest.raises(NoteError, match="no signature by a trusted key"):
            open_note(sign_note(self.text, [impostor]), [self.signer.verifier])

    def test_a_bad_signature_by_a_trusted_key_refuses_the_note_even_beside_a_good_one(self) -> None:
        good = sign_note(self.text, [self.signer])
        line = good.split("\n\n", 1)[1]
        forged = base64.b64decode(line.rsplit(" ", 1)[1])
        forged = forged[:4] + bytes(64)
        bad_line = f"\u2014 log.example/aigov {base64.b64encode(forged).decode()}\n"
        with pytest.raises(NoteError, match="invalid signature"):
            open_note(self.text + "\n" + bad_line + line, [self.signer.verifier])

    def test_texts_that_cannot_be_notes_are_not_signed(self) -> None:
        for text, message in [("no newline", "end with"), ("a\n\nb\n", "blank line")]:
            with pytest.raises(NoteError, match=message):
                sign_note(text, [self.signer])

    @pytest.mark.parametrize(
        "key",
        [
            "name+c74f20a3",
            "name+zzzzzzzz+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        ],
        ids=["parts", "hash-hex", "hash-mismatch", "algorithm", "name"],
    )
    def test_malformed_verifier_keys_are_refused(self, key: str) -> None:
        with pytest.raises(NoteError):
            NoteVerifier.parse(key)


class TestCheckpoints:
    def test_a_checkpoint_round_trips_through_its_signed_note(self) -> None:
        signer = NoteSigner("log.example/aigov", Ed25519PrivateKey.generate())
        checkpoint = Checkpoint("log.example/aigov", 20852163, b"\x0a" * 32, ("ext one",))
        note = checkpoint.sign([signer])
        assert note.startswith(
            "log.example/aigov\n20852163\n"
            + base64.b64encode(b"\x0a" * 32).decode()
            + "\next one\n\n"
        )
        assert Checkpoint.open(note, [signer.verifier], origin="log.example/aigov") == checkpoint
        with pytest.raises(NoteError, match=r"not 'other\.example'"):
            Checkpoint.open(note, [signer.verifier], origin="other.example")

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("origin\n12\n", "origin, a tree size and a root hash"),
            ("origin\n012\n" + base64.b64encode(bytes(32)).decode() + "\n", "decimal"),
            ("origin\n-1\n" + base64.b64encode(bytes(32)).decode() + "\n", "decimal"),
            ("origin\n12\nnot base64!\n", "base64"),
            ("origin\n12\n" + base64.b64encode(bytes(31)).decode() + "\n", "32 bytes"),
        ],
        ids=["short", "leading-zero", "negative", "root-base64", "root-size"],
    )
    def test_malformed_checkpoints_are_refused(self, text: str, message: str) -> None:
        with pytest.raises(NoteError, match=message):
            Checkpoint.parse(text)
