"""Settings of the evidence service (`AIGOV_*` environment variables).

The checkpoint signing key is an Ed25519 private key in PEM (PKCS#8) form, read from the file
named by `AIGOV_EVIDENCE_SIGNING_KEY_FILE` (a mounted secret). In `env=dev` without one, a key
is generated once under `.local/evidence/` and reused, its public key written next to it.

Verification trusts only keys pinned in configuration: `AIGOV_EVIDENCE_TRUSTED_KEYS` (JSON,
key id -> base64 raw Ed25519 public key) and/or `AIGOV_EVIDENCE_TRUSTED_KEYS_FILE` (the same
document in a file), plus the configured signing key's own public key, plus in `env=dev` the
dev key's. A public key stored in a checkpoint row is never trusted by itself.

`env=prod` requires the signing key file whenever this process takes checkpoints
(`AIGOV_EVIDENCE_CHECKPOINT_INTERVAL_SECONDS` > 0), and at least one trusted key in any case,
so an API-only replica can verify with public keys alone and never hold the private key.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Self

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import AnyHttpUrl, Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from aigov_evidence.keys import KeyDocumentError, parse_trusted_keys, read_trusted_keys
from aigov_runtime.hosts import is_loopback_host
from aigov_runtime.settings import Port, ServiceSettings

DEV_SIGNING_KEY_PATH = Path(".local/evidence/checkpoint-signing-key.pem")
# An allow-list entry: `local@domain` or `@domain` (lower case; no spaces, one @).
_READER = re.compile(
    r"^[^@\s,]*@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$"
)


class Settings(ServiceSettings):
    """Settings of evidence: the shared ones (port 8083) plus ledger, checkpoint and sweep knobs."""

    http_port: Port = 8083
    # PostgreSQL schema of the service's tables (a test or a second environment can use its own).
    evidence_schema: str = Field(default="evidence", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    # Consumer group of the ledger consumer; every replica joins the same group.
    evidence_consumer_group: str = Field(default="aigov-evidence", min_length=1, max_length=200)
    # Records appended per ledger transaction (at most; a poll may return fewer).
    evidence_batch_size: int = Field(default=2000, ge=1, le=50_000)
    # Ed25519 private key (PEM, PKCS#8) signing the ledger checkpoints.
    evidence_signing_key_file: Path | None = None
    evidence_dev_signing_key_path: Path = DEV_SIGNING_KEY_PATH
    # Public keys checkpoint signatures are verified with: key id -> base64 raw Ed25519 key.
    evidence_trusted_keys: dict[str, str] = Field(default_factory=dict)
    # The same mapping in a JSON file (e.g. a mounted ConfigMap); merged with the variable.
    evidence_trusted_keys_file: Path | None = None
    # How often a signed checkpoint of every chain head is taken (0 switches it off).
    evidence_checkpoint_interval_seconds: float = Field(default=300.0, ge=0)
    # How often granted waivers past their expiry are announced with waiver.expired (0: off).
    evidence_waiver_sweep_interval_seconds: float = Field(default=60.0, ge=0)
    # How often the KPI gauges (`aigov_kpi_*` on /metrics) are recomputed (0: off).
    evidence_kpi_refresh_seconds: float = Field(default=60.0, ge=0)
    # HMAC key of the dashboard's session cookies (unset: a random key per process, so
    # sessions end when the process restarts and do not carry over between replicas).
    evidence_dashboard_session_secret: SecretStr | None = Field(
        default=None, min_length=32, max_length=1024
    )
    # OpenID Connect sign-in (docs/dashboard.md, "Sign-in with OIDC"): all of issuer, client
    # id and redirect URI, or none of them.
    evidence_dashboard_oidc_issuer: AnyHttpUrl | None = None
    evidence_dashboard_oidc_client_id: str | None = Field(
        default=None, min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$"
    )
    # Unset for a public client (PKCE only); set: client_secret_basic.
    evidence_dashboard_oidc_client_secret: SecretStr | None = Field(
        default=None, min_length=1, max_length=1024
    )
    # The full URL of /dashboard/oidc/callback as the provider knows it.
    evidence_dashboard_oidc_redirect_uri: AnyHttpUrl | None = None
    # Who may read: exact verified e-mail addresses, or `@domain` for a whole domain.
    evidence_dashboard_oidc_readers: Annotated[list[str], NoDecode] = Field(
        default_factory=list, max_length=1000
    )
    evidence_dashboard_oidc_scopes: str = Field(
        default="openid email profile", max_length=500, pattern=r"^[\x21-\x7e]+( [\x21-\x7e]+)*$"
    )
    # The name on the sign-in button ("Sign in with <name>"); unset: the issuer's host.
    evidence_dashboard_oidc_provider_name: str | None = Field(
        default=None, min_length=1, max_length=60
    )

    _pinned_keys: dict[str, Ed25519PublicKey] = PrivateAttr(default_factory=dict)

    @field_validator("evidence_dashboard_oidc_readers", mode="before")
    @classmethod
    def _split_readers(cls, value: object) -> object:
        # The variable is a comma-separated list (or JSON); entries compare case-insensitively.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            value = [part for part in text.split(",") if part.strip()]
        if isinstance(value, list | tuple):
            return [str(entry).strip().lower() for entry in value]
        return value

    @model_validator(mode="after")
    def _oidc(self) -> Self:
        named = {
            "AIGOV_EVIDENCE_DASHBOARD_OIDC_ISSUER": self.evidence_dashboard_oidc_issuer,
            "AIGOV_EVIDENCE_DASHBOARD_OIDC_CLIENT_ID": self.evidence_dashboard_oidc_client_id,
            "AIGOV_EVIDENCE_DASHBOARD_OIDC_REDIRECT_URI": self.evidence_dashboard_oidc_redirect_uri,
        }
        missing = [name for name, value in named.items() if value is None]
        if len(missing) == len(named):
            return self
        if missing:
            raise ValueError(
                "OIDC sign-in needs AIGOV_EVIDENCE_DASHBOARD_OIDC_ISSUER, _CLIENT_ID and "
                f"_REDIRECT_URI together; missing: {', '.join(missing)}"
            )
        for name in (
            "AIGOV_EVIDENCE_DASHBOARD_OIDC_ISSUER",
            "AIGOV_EVIDENCE_DASHBOARD_OIDC_REDIRECT_URI",
        ):
            url = named[name]
            assert isinstance(url, AnyHttpUrl)
            if url.scheme != "https" and (
                self.env == "prod" or not is_loopback_host(url.host or "")
            ):
                raise ValueError(
                    f"{name} must be an https URL (plain http only for a loopback host, and "
                    f"never with env=prod): {url}"
                )
        if not self.evidence_dashboard_oidc_readers:
            raise ValueError(
                "OIDC sign-in is configured but AIGOV_EVIDENCE_DASHBOARD_OIDC_READERS is empty, so "
                "nobody could read: list e-mail addresses or @domain entries (comma-separated)"
            )
        for entry in self.evidence_dashboard_oidc_readers:
            if not _READER.fullmatch(entry):
                raise ValueError(
                    f"AIGOV_EVIDENCE_DASHBOARD_OIDC_READERS: {entry!r} is neither an e-mail "
                    "address nor @domain"
                )
        scopes = self.evidence_dashboard_oidc_scopes.split(" ")
        for needed in ("openid", "email"):
            if needed not in scopes:
                raise ValueError(
                    f"AIGOV_EVIDENCE_DASHBOARD_OIDC_SCOPES must include {needed!r} (the sign-in "
                    "reads the verified e-mail address)"
                )
        return self

    @model_validator(mode="after")
    def _trusted_keys(self) -> Self:
        try:
            pinned = parse_trusted_keys(
                self.evidence_trusted_keys, origin="AIGOV_EVIDENCE_TRUSTED_KEYS"
            )
            if self.evidence_trusted_keys_file is not None:
                pinned.update(read_trusted_keys(self.evidence_trusted_keys_file))
        except KeyDocumentError as exc:
            raise ValueError(str(exc)) from None
        self._pinned_keys = pinned
        return self

    @model_validator(mode="after")
    def _keys_in_prod(self) -> Self:
        if self.env != "prod":
            return self
        if self.evidence_checkpoint_interval_seconds > 0 and self.evidence_signing_key_file is None:
            raise ValueError(
                "env=prod requires AIGOV_EVIDENCE_SIGNING_KEY_FILE (an Ed25519 private key, PEM) "
                "to sign checkpoints; a replica that takes none sets "
                "AIGOV_EVIDENCE_CHECKPOINT_INTERVAL_SECONDS=0 and AIGOV_EVIDENCE_TRUSTED_KEYS"
            )
        if self.evidence_signing_key_file is None and not self._pinned_keys:
            raise ValueError(
                "env=prod requires a key to verify checkpoints with: AIGOV_EVIDENCE_TRUSTED_KEYS "
                "(or AIGOV_EVIDENCE_TRUSTED_KEYS_FILE), or AIGOV_EVIDENCE_SIGNING_KEY_FILE"
            )
        return self

    @property
    def pinned_keys(self) -> dict[str, Ed25519PublicKey]:
        """The keys configured as trusted (without the signing key's and the dev key's)."""
        return dict(self._pinned_keys)

    @property
    def dev_public_key_path(self) -> Path:
        """Where the dev key's public key is written: next to it, `.pub` instead of `.pem`."""
        return self.evidence_dev_signing_key_path.with_suffix(".pub")
