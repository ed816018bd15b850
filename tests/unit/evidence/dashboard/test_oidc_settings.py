"""The OIDC settings fail closed: all or nothing, readers required, no plain http off loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from aigov_evidence.dashboard.oidc import is_reader
from tests.unit.evidence.conftest import embedded_settings

COMPLETE: dict[str, Any] = {
    "evidence_dashboard_oidc_issuer": "https://id.example.com/realms/aigov",
    "evidence_dashboard_oidc_client_id": "aigov-dashboard",
    "evidence_dashboard_oidc_redirect_uri": "https://aigov.example.com/dashboard/oidc/callback",
    "evidence_dashboard_oidc_readers": ["ada@example.com"],
}


def test_complete_settings_are_accepted(tmp_path: Path) -> None:
    settings = embedded_settings(tmp_path, **COMPLETE, evidence_dashboard_oidc_client_secret="s3")
    assert str(settings.evidence_dashboard_oidc_issuer) == "https://id.example.com/realms/aigov"
    assert settings.evidence_dashboard_oidc_scopes == "openid email profile"
    assert "s3" not in repr(settings)


@pytest.mark.parametrize(
    "missing",
    [
        "evidence_dashboard_oidc_issuer",
        "evidence_dashboard_oidc_client_id",
        "evidence_dashboard_oidc_redirect_uri",
    ],
)
def test_it_is_all_or_nothing(tmp_path: Path, missing: str) -> None:
    values = {name: value for name, value in COMPLETE.items() if name != missing}
    with pytest.raises(
        ValidationError, match=missing.upper().replace("EVIDENCE", "AIGOV_EVIDENCE")
    ):
        embedded_settings(tmp_path, **values)


def test_no_readers_is_a_startup_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="READERS"):
        embedded_settings(tmp_path, **{**COMPLETE, "evidence_dashboard_oidc_readers": []})


@pytest.mark.parametrize("reader", ["", "ada", "@", "a@b@c", "@@example.com", "ada@"])
def test_a_malformed_reader_entry_is_refused(tmp_path: Path, reader: str) -> None:
    with pytest.raises(ValidationError, match="READERS"):
        embedded_settings(tmp_path, **{**COMPLETE, "evidence_dashboard_oidc_readers": [reader]})


def test_readers_may_be_a_comma_separated_list(tmp_path: Path) -> None:
    settings = embedded_settings(
        tmp_path,
        **{**COMPLETE, "evidence_dashboard_oidc_readers": " ada@example.com, @Example.org "},
    )
    assert settings.evidence_dashboard_oidc_readers == ["ada@example.com", "@example.org"]


@pytest.mark.parametrize(
    "field",
    ["evidence_dashboard_oidc_issuer", "evidence_dashboard_oidc_redirect_uri"],
)
def test_plain_http_only_on_loopback_and_never_in_prod(tmp_path: Path, field: str) -> None:
    loopback = {**COMPLETE, field: "http://127.0.0.1:9998/"}
    assert embedded_settings(tmp_path, **loopback) is not None
    assert embedded_settings(tmp_path, **{**COMPLETE, field: "http://localhost:9998/"})
    with pytest.raises(ValidationError, match="https"):
        embedded_settings(tmp_path, **{**COMPLETE, field: "http://id.example.com/"})
    with pytest.raises(ValidationError, match="https"):
        embedded_settings(tmp_path, env="prod", **loopback)


def test_the_scopes_must_ask_for_openid_and_email(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="openid"):
        embedded_settings(tmp_path, **COMPLETE, evidence_dashboard_oidc_scopes="profile email")
    with pytest.raises(ValidationError, match="email"):
        embedded_settings(tmp_path, **COMPLETE, evidence_dashboard_oidc_scopes="openid profile")


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("ada@example.com", True),
        ("ADA@Example.com", True),
        ("bob@example.org", True),
        ("bob@sub.example.org", False),
        ("bob@example.org.evil.com", False),
        ("ada@example.com.evil", False),
        ("eve@example.com", False),
        ("example.org", False),
    ],
)
def test_the_allow_list(email: str, expected: bool) -> None:
    assert is_reader(email, ["ada@example.com", "@example.org"]) is expected
