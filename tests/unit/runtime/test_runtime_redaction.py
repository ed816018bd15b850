"""Masking of secrets in free text and structured values."""

from __future__ import annotations

import pytest

from aigov_runtime.redaction import REDACTED, is_sensitive_key, redact_text, redact_value


class TestRedactText:
    @pytest.mark.parametrize(
        ("text", "secret"),
        [
            ("Authorization: Bearer abc.DEF-123", "abc.DEF-123"),
            ("bearer abc123==", "abc123"),
            ("GET /hook?token=abc123&x=1", "abc123"),
            ('{"password": "hunter2"}', "hunter2"),
            ("client_secret=shh", "shh"),
            ("X-Hub-Signature-256: sha256=deadbeef", "deadbeef"),
            ("postgresql+asyncpg://aigov:hunter2@db:5432/aigov", "hunter2"),
        ],
    )
    def test_secrets_are_masked(self, text: str, secret: str) -> None:
        masked = redact_text(text)
        assert secret not in masked
        assert REDACTED in masked

    def test_ordinary_text_is_untouched(self) -> None:
        text = "system sys-1 assigned tier high by policy 2024.1 (3 rules fired)"
        assert redact_text(text) == text

    def test_redaction_is_idempotent(self) -> None:
        once = redact_text("Bearer abc token=xyz")
        assert redact_text(once) == once


class TestRedactValue:
    def test_nested_sensitive_keys_lose_their_values(self) -> None:
        value = {"headers": {"authorization": "Bearer x", "accept": "*/*"}, "api_key": 42}
        assert redact_value(value) == {
            "headers": {"authorization": REDACTED, "accept": "*/*"},
            "api_key": REDACTED,
        }

    def test_strings_inside_lists_are_scanned(self) -> None:
        assert redact_value(["Bearer abc", "plain"]) == [f"Bearer {REDACTED}", "plain"]

    @pytest.mark.parametrize(
        ("key", "sensitive"),
        [
            ("Authorization", True),
            ("auth_tokens", True),
            ("X-MLflow-Signature", True),
            ("db_password", True),
            ("system_id", False),
            ("tier", False),
        ],
    )
    def test_sensitive_key_names(self, key: str, sensitive: bool) -> None:
        assert is_sensitive_key(key) is sensitive
