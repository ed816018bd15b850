"""Intake settings: where webhook secrets come from, rotation, prod hardening, never shown."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from aigov_intake.settings import Settings

STRONG = "Zq8rT1vK0pWx3nB6yLc2Hs9mDf4Gj7Ua"
PROD_TOKENS = SecretStr(json.dumps({STRONG: {"principal": "ci-bot", "roles": ["publisher"]}}))


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's exported AIGOV_* variables must not leak into these tests."""
    for name in list(os.environ):
        if name.startswith("AIGOV_"):
            monkeypatch.delenv(name)


class TestSources:
    def test_no_secret_means_the_receiver_is_off(self) -> None:
        settings = Settings()
        assert settings.webhook_secrets("github") == ()
        assert settings.webhook_secrets("mlflow") == ()

    def test_from_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AIGOV_GITHUB_WEBHOOK_SECRET", "gh-secret-value")
        monkeypatch.setenv("AIGOV_MLFLOW_WEBHOOK_SECRET", "ml-secret-value")
        settings = Settings()
        assert settings.webhook_secrets("github") == (b"gh-secret-value",)
        assert settings.webhook_secrets("mlflow") == (b"ml-secret-value",)

    def test_from_a_yaml_file_with_a_rotation_list(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "webhooks.yaml"
        path.write_text("github: gh-secret-value\nmlflow:\n  - ml-new-value\n  - ml-old-value\n")
        monkeypatch.setenv("AIGOV_WEBHOOK_SECRETS_FILE", str(path))
        settings = Settings()
        assert settings.webhook_secrets("github") == (b"gh-secret-value",)
        assert settings.webhook_secrets("mlflow") == (b"ml-new-value", b"ml-old-value")

    def test_from_a_json_file(self, tmp_path: Path) -> None:
        path = tmp_path / "webhooks.json"
        path.write_text(json.dumps({"mlflow": "ml-secret-value"}))
        assert Settings(webhook_secrets_file=path).webhook_secrets("mlflow") == (
            b"ml-secret-value",
        )

    def test_env_and_file_for_one_tool_is_an_error(self, tmp_path: Path) -> None:
        path = tmp_path / "webhooks.json"
        path.write_text(json.dumps({"github": "from-the-file"}))
        with pytest.raises(ValidationError, match="both"):
            Settings(webhook_secrets_file=path, github_webhook_secret=SecretStr("from-the-env"))

    @pytest.mark.parametrize(
        "document",
        [
            {"gitlab": "glsecret-value"},
            {"github": 42},
            {"github": []},
            {"github": ["a-secret-value"] * 6},
            ["github", "gh-secret-value"],
        ],
    )
    def test_malformed_file_is_an_error_that_quotes_no_value(
        self, tmp_path: Path, document: object
    ) -> None:
        path = tmp_path / "webhooks.json"
        path.write_text(json.dumps(document))
        with pytest.raises(ValidationError) as caught:
            Settings(webhook_secrets_file=path)
        assert "secret-value" not in str(caught.value)

    def test_unreadable_file_is_an_error(self, tmp_path: Path) -> None:
        with pytest.raises(ValidationError, match="unreadable"):
            Settings(webhook_secrets_file=tmp_path / "absent.yaml")

    @pytest.mark.parametrize("value", ["", " padded-secret "])
    def test_blank_or_padded_secret_is_an_error(self, value: str) -> None:
        with pytest.raises(ValidationError, match="empty or has surrounding spaces"):
            Settings(github_webhook_secret=SecretStr(value))


class TestProd:
    @pytest.mark.parametrize("secret", ["w3ak-9", "changeme-changeme-changeme", "q" * 40])
    def test_weak_secrets_are_refused_without_quoting_them(self, secret: str) -> None:
        with pytest.raises(ValidationError, match="weak github webhook secret") as caught:
            Settings(env="prod", auth_tokens=PROD_TOKENS, github_webhook_secret=SecretStr(secret))
        assert secret not in str(caught.value)

    def test_a_strong_secret_is_accepted(self) -> None:
        settings = Settings(
            env="prod", auth_tokens=PROD_TOKENS, mlflow_webhook_secret=SecretStr(STRONG[::-1])
        )
        assert settings.webhook_secrets("mlflow") == (STRONG[::-1].encode(),)

    def test_weak_placeholders_are_fine_in_dev(self) -> None:
        assert Settings(github_webhook_secret=SecretStr("dev")).webhook_secrets("github") == (
            b"dev",
        )


class TestNeverShown:
    def test_secrets_stay_out_of_repr_and_the_startup_dump(self) -> None:
        settings = Settings(
            github_webhook_secret=SecretStr("gh-hidden-value"),
            mlflow_webhook_secret=SecretStr("ml-hidden-value"),
        )
        shown = repr(settings) + json.dumps(settings.redacted_dump())
        assert "hidden-value" not in shown
        assert settings.redacted_dump()["github_webhook_secret"] == "**********"

    def test_tolerance_and_legacy_defaults(self) -> None:
        settings = Settings()
        assert settings.mlflow_webhook_tolerance_seconds == 300
        assert settings.mlflow_accept_legacy_signature is False
