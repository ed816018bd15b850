"""Safe defaults (issue 12): dev tokens only on loopback, digests of public tokens, service names.

Attack tests: each builds the configuration an attacker (or a careless deploy) would rely on
and checks the settings refuse it at load, naming the entry by position and never the token.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

import pytest
from pydantic import SecretStr, ValidationError

from aigov_events.actors import SERVICE_ACTORS
from aigov_runtime.auth import Principal, Role
from aigov_runtime.settings import DEV_TOKENS, Port, ServiceSettings

STRONG = "Zq8rT1vK0pWx3nB6yLc2Hs9mDf4Gj7Ua"
DEV_ADMIN = "dev-admin-token-please-change"


def tokens(*entries: tuple[str, str]) -> SecretStr:
    """AIGOV_AUTH_TOKENS text: (token, principal) pairs, each with the reader role."""
    return SecretStr(
        json.dumps({token: {"principal": name, "roles": ["reader"]} for token, name in entries})
    )


def digest_entry(token: str) -> str:
    """The `sha256:<hex>` form of a token, as an operator writes it into a tokens file."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


class TestDevTokensOnlyOnLoopback:
    @pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "aigov.internal", ""])
    def test_public_dev_tokens_on_a_network_bind_are_refused(self, host: str) -> None:
        with pytest.raises(ValidationError, match="AIGOV_AUTH_TOKENS") as caught:
            ServiceSettings(http_host=host)
        assert "loopback" in str(caught.value)
        assert DEV_ADMIN not in str(caught.value)

    @pytest.mark.parametrize("host", ["127.0.0.1", "127.3.2.1", "localhost", "LOCALHOST", "::1"])
    def test_loopback_binds_keep_the_dev_tokens(self, host: str) -> None:
        settings = ServiceSettings(http_host=host)
        assert settings.uses_dev_tokens
        assert settings.principals_by_token()[DEV_ADMIN] == Principal(
            "dev-admin", frozenset({Role.ADMIN})
        )

    def test_aigov_dev_tokens_on_a_network_bind_are_refused(self) -> None:
        with pytest.raises(ValidationError, match="loopback") as caught:
            ServiceSettings(http_host="0.0.0.0", dev_tokens=SecretStr("reader=t4"))
        assert "t4" not in str(caught.value).replace("AIGOV", "")

    def test_configured_public_dev_token_on_a_network_bind_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="entry #2"):
            ServiceSettings(
                http_host="0.0.0.0", auth_tokens=tokens((STRONG, "a"), (DEV_ADMIN, "b"))
            )

    def test_configured_tokens_may_bind_every_interface(self) -> None:
        settings = ServiceSettings(http_host="0.0.0.0", auth_tokens=tokens((STRONG, "ci-bot")))
        assert not settings.uses_dev_tokens
        assert list(settings.principals_by_token()) == [STRONG]

    def test_a_service_subclass_is_refused_too(self, monkeypatch: pytest.MonkeyPatch) -> None:
        class AllInOneLike(ServiceSettings):
            http_port: Port = 8080

        monkeypatch.setenv("AIGOV_HTTP_HOST", "0.0.0.0")
        with pytest.raises(ValidationError, match="loopback"):
            AllInOneLike()


class TestDigestEntriesAreCheckedInProd:
    def test_digest_of_the_public_admin_token_is_refused(self) -> None:
        """Attack: prod with `sha256:<sha256 of dev-admin-token-please-change>`."""
        with pytest.raises(ValidationError, match="public dev tokens") as caught:
            ServiceSettings(env="prod", auth_tokens=tokens((digest_entry(DEV_ADMIN), "admin")))
        assert "#1" in str(caught.value)
        assert hashlib.sha256(DEV_ADMIN.encode()).hexdigest() not in str(caught.value)

    @pytest.mark.parametrize("token", sorted(DEV_TOKENS))
    def test_every_dev_token_digest_is_refused(self, token: str) -> None:
        with pytest.raises(ValidationError, match="public dev tokens"):
            ServiceSettings(env="prod", auth_tokens=tokens((digest_entry(token), "x")))

    @pytest.mark.parametrize("token", ["t1", "changeme", "secret", "password", "admin", "token"])
    def test_digest_of_a_well_known_weak_token_is_refused(self, token: str) -> None:
        with pytest.raises(ValidationError, match="well-known"):
            ServiceSettings(env="prod", auth_tokens=tokens((digest_entry(token), "x")))

    def test_uppercase_hex_is_the_same_digest(self) -> None:
        entry = digest_entry(DEV_ADMIN).upper().replace("SHA256:", "sha256:")
        with pytest.raises(ValidationError, match="public dev tokens"):
            ServiceSettings(env="prod", auth_tokens=tokens((entry, "admin")))

    def test_digest_of_a_strong_token_is_accepted(self) -> None:
        settings = ServiceSettings(env="prod", auth_tokens=tokens((digest_entry(STRONG), "ci")))
        assert [p.name for p in settings.principals_by_token().values()] == ["ci"]

    def test_digest_of_a_dev_token_on_a_network_bind_in_dev_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="entry #1"):
            ServiceSettings(http_host="0.0.0.0", auth_tokens=tokens((digest_entry(DEV_ADMIN), "a")))


class TestServicePrincipalNamesAreReserved:
    @pytest.mark.parametrize("env", ["dev", "prod"])
    @pytest.mark.parametrize("actor", sorted(SERVICE_ACTORS))
    def test_a_token_named_after_a_service_is_refused(
        self, env: Literal["dev", "prod"], actor: str
    ) -> None:
        """Attack: a client token whose principal is the router's (or another service's) actor."""
        with pytest.raises(ValidationError, match="entry #2") as caught:
            ServiceSettings(env=env, auth_tokens=tokens((STRONG, "ci-bot"), (STRONG[::-1], actor)))
        message = str(caught.value)
        assert "reserved" in message
        assert STRONG not in message
        assert STRONG[::-1] not in message

    def test_a_digest_entry_named_after_a_service_is_refused(self) -> None:
        entry = digest_entry(STRONG)
        with pytest.raises(ValidationError, match="entry #1") as caught:
            ServiceSettings(auth_tokens=tokens((entry, "aigov-monitoring-router")))
        assert entry not in str(caught.value)

    def test_a_tokens_file_is_checked_the_same_way(self, tmp_path: Path) -> None:
        path = tmp_path / "tokens.yaml"
        path.write_text(f"{STRONG}:\n  principal: aigov-evidence\n  roles: [publisher]\n")
        with pytest.raises(ValidationError, match="AIGOV_AUTH_TOKENS_FILE: entry #1"):
            ServiceSettings(auth_tokens_file=path)
