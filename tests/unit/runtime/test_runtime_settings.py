"""ServiceSettings: environment variables, token formats, prod hardening, dev defaults."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from aigov_runtime import settings as settings_module
from aigov_runtime.auth import Principal, Role
from aigov_runtime.settings import DEV_TOKENS, Port, ServiceSettings

STRONG = "Zq8rT1vK0pWx3nB6yLc2Hs9mDf4Gj7Ua"


def grant(
    token: str, principal: str = "ci-bot", roles: tuple[str, ...] = ("publisher",)
) -> SecretStr:
    """AIGOV_AUTH_TOKENS text with a single token."""
    return SecretStr(json.dumps({token: {"principal": principal, "roles": list(roles)}}))


class TestDefaults:
    def test_defaults_match_the_architecture(self) -> None:
        settings = ServiceSettings()
        assert settings.env == "dev"
        assert settings.http_host == "127.0.0.1"
        assert settings.bus == "kafka"
        assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"
        assert settings.database_url == "postgresql+asyncpg://aigov@127.0.0.1:55432/aigov"
        assert settings.embedded_bus_path == Path(".local/embedded/bus.sqlite3")
        assert settings.max_request_bytes > 5 * 1024 * 1024
        assert settings.metrics_public is False

    def test_subclass_sets_its_port_and_keeps_validation(self) -> None:
        class IntakeLike(ServiceSettings):
            http_port: Port = 8081

        assert IntakeLike().http_port == 8081
        with pytest.raises(ValidationError):
            IntakeLike(http_port=70000)

    def test_reads_prefixed_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AIGOV_HTTP_PORT", "9999")
        monkeypatch.setenv("AIGOV_LOG_LEVEL", "debug")
        monkeypatch.setenv("AIGOV_BUS", "embedded")
        monkeypatch.setenv("AIGOV_METRICS_PUBLIC", "true")
        settings = ServiceSettings()
        assert (settings.http_port, settings.log_level, settings.bus) == (9999, "DEBUG", "embedded")
        assert settings.metrics_public is True

    def test_unknown_env_mode_is_rejected(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AIGOV_ENV", "staging")
        with pytest.raises(ValidationError):
            ServiceSettings()


class TestTokenFormats:
    def test_env_var_json_maps_tokens_to_principals(self, monkeypatch: pytest.MonkeyPatch) -> None:
        document = {
            STRONG: {"principal": "ci-bot", "roles": ["publisher"]},
            STRONG[::-1]: {"principal": "alice", "roles": ["owner", "approver"]},
        }
        monkeypatch.setenv("AIGOV_AUTH_TOKENS", json.dumps(document))
        principals = ServiceSettings().principals_by_token()
        assert principals == {
            STRONG: Principal("ci-bot", frozenset({Role.PUBLISHER})),
            STRONG[::-1]: Principal("alice", frozenset({Role.OWNER, Role.APPROVER})),
        }

    def test_file_may_be_yaml(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        path = tmp_path / "tokens.yaml"
        path.write_text(f"{STRONG}:\n  principal: prometheus\n  roles: [reader]\n")
        monkeypatch.setenv("AIGOV_AUTH_TOKENS_FILE", str(path))
        principals = ServiceSettings().principals_by_token()
        assert principals == {STRONG: Principal("prometheus", frozenset({Role.READER}))}

    def test_env_and_file_together_are_ambiguous(self, tmp_path: Path) -> None:
        path = tmp_path / "tokens.json"
        path.write_text("{}")
        with pytest.raises(ValidationError, match="not both"):
            ServiceSettings(auth_tokens=grant(STRONG), auth_tokens_file=path)

    def test_missing_file_is_an_error(self, tmp_path: Path) -> None:
        with pytest.raises(ValidationError, match="unreadable"):
            ServiceSettings(auth_tokens_file=tmp_path / "absent.json")

    @pytest.mark.parametrize(
        "document",
        [
            pytest.param('["not", "a", "mapping"]', id="list"),
            pytest.param("{not json", id="syntax"),
            pytest.param(
                json.dumps({STRONG: {"principal": "x", "roles": ["root"]}}), id="bad-role"
            ),
            pytest.param(json.dumps({STRONG: {"principal": "x", "roles": []}}), id="no-roles"),
            pytest.param(
                json.dumps({STRONG: {"principal": "", "roles": ["reader"]}}), id="no-name"
            ),
            pytest.param(
                json.dumps({STRONG: {"principal": "x", "roles": ["reader"], "extra": 1}}),
                id="unknown-field",
            ),
        ],
    )
    def test_malformed_documents_fail_without_echoing_tokens(self, document: str) -> None:
        with pytest.raises(ValidationError) as caught:
            ServiceSettings(auth_tokens=SecretStr(document))
        assert STRONG not in str(caught.value)

    def test_secrets_never_print(self) -> None:
        settings = ServiceSettings(
            auth_tokens=grant(STRONG),
            database_url="postgresql+asyncpg://aigov:hunter2hunter2@db:5432/aigov",
        )
        shown = repr(settings) + str(settings) + json.dumps(settings.redacted_dump())
        assert STRONG not in shown
        assert "hunter2hunter2" not in shown
        assert settings.redacted_dump()["auth_principals"] == ["ci-bot"]


class TestProdHardening:
    @pytest.mark.parametrize(
        ("token", "reason"),
        [
            pytest.param("s3cr3t-Short", "shorter than", id="short"),
            pytest.param("changeme-changeme-changeme-1234", "placeholder", id="changeme"),
            pytest.param("please-change-this-token-0123456789", "placeholder", id="please-change"),
            pytest.param("dev-admin-token-please-change", "dev tokens", id="dev-token"),
            pytest.param("abababababababababababababababab", "distinct", id="low-entropy"),
        ],
    )
    def test_weak_tokens_are_rejected(self, token: str, reason: str) -> None:
        with pytest.raises(ValidationError, match=reason) as caught:
            ServiceSettings(env="prod", auth_tokens=grant(token))
        assert token not in str(caught.value)

    def test_strong_tokens_are_accepted(self) -> None:
        settings = ServiceSettings(env="prod", auth_tokens=grant(STRONG))
        assert not settings.uses_dev_tokens
        assert list(settings.principals_by_token()) == [STRONG]

    def test_prod_requires_tokens(self) -> None:
        with pytest.raises(ValidationError, match="requires auth tokens"):
            ServiceSettings(env="prod")

    def test_weak_tokens_are_fine_in_dev(self) -> None:
        settings = ServiceSettings(env="dev", auth_tokens=grant("short"))
        assert list(settings.principals_by_token()) == ["short"]


class TestDevDefaults:
    def test_dev_without_tokens_uses_the_documented_set(self) -> None:
        settings = ServiceSettings()
        principals = settings.principals_by_token()
        assert settings.uses_dev_tokens
        assert principals["dev-admin-token-please-change"] == Principal(
            "dev-admin", frozenset({Role.ADMIN})
        )
        assert set(principals) == set(DEV_TOKENS)
        assert {role for p in principals.values() for role in p.roles} == set(Role)

    def test_configured_tokens_replace_the_dev_set(self) -> None:
        settings = ServiceSettings(auth_tokens=grant(STRONG))
        assert not settings.uses_dev_tokens
        assert "dev-admin-token-please-change" not in settings.principals_by_token()

    def test_dev_set_warning_is_logged_once(
        self, monkeypatch: pytest.MonkeyPatch, log_lines: Callable[[], list[dict[str, Any]]]
    ) -> None:
        monkeypatch.setattr(settings_module, "_dev_warning_logged", False)
        ServiceSettings().principals_by_token()
        ServiceSettings().principals_by_token()
        warnings = [line for line in log_lines() if "dev token set" in line["message"]]
        assert len(warnings) == 1
        assert warnings[0]["level"] == "WARNING"
        assert "dev-admin-token-please-change" not in json.dumps(warnings)
