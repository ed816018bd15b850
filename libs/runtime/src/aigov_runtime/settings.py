"""Settings every aigov service shares, read from `AIGOV_*` environment variables.

Auth tokens (`AIGOV_AUTH_TOKENS`, or a file named by `AIGOV_AUTH_TOKENS_FILE`) are a JSON (or
YAML) mapping from token to principal and roles:

    AIGOV_AUTH_TOKENS='{"<token>": {"principal": "ci-bot", "roles": ["publisher"]}}'

In `env=dev` with no tokens configured, the documented `DEV_TOKENS` set is used (and a warning is
logged once), but only on a loopback bind: the dev tokens are public, so a server reachable from
the network refuses to start with them. In `env=prod` tokens are required and weak or
placeholder tokens are rejected; a `sha256:<hex>` entry is refused when it is the digest of a
public or well-known weak token (a digest cannot be checked for length or variety). In every
env, no token may carry the name of one of aigov's own service principals.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from aigov_events.actors import SERVICE_ACTORS
from aigov_runtime.auth import Principal, Role, is_hashed_entry, token_entry_digest
from aigov_runtime.hosts import HostPolicy, is_loopback_host, parse_allowed_hosts

__all__ = [
    "DEFAULT_MAX_YAML_BYTES",
    "DEFAULT_MAX_YAML_NODES",
    "DEV_TOKENS",
    "MIN_PROD_TOKEN_LENGTH",
    "WELL_KNOWN_WEAK_TOKENS",
    "Port",
    "ServiceSettings",
    "TokenGrant",
]

logger = logging.getLogger(__name__)

Port = Annotated[int, Field(ge=1, le=65535)]
"""A TCP port; service subclasses redeclare `http_port: Port = <their default>`."""

MIN_PROD_TOKEN_LENGTH = 16
"""Shortest token accepted in prod; `secrets.token_urlsafe(32)` (43 chars) is what we recommend."""

# 5 MiB of payload (the largest artifact/evidence body we accept) plus room for the envelope.
_DEFAULT_MAX_REQUEST_BYTES = 5 * 1024 * 1024 + 64 * 1024

DEFAULT_MAX_YAML_BYTES = 256 * 1024
"""Largest YAML body accepted (AIGOV_MAX_YAML_BYTES): manifests are a few KiB, parsing is costly."""
DEFAULT_MAX_YAML_NODES = 100_000
"""Most nodes a YAML body may expand to, aliases counted each time used (AIGOV_MAX_YAML_NODES)."""

_PLACEHOLDER_MARKERS = (
    "changeme",
    "change-me",
    "change_me",
    "please-change",
    "placeholder",
    "example",
    "replace-me",
)


class TokenGrant(BaseModel):
    """One entry of the token mapping: who the token authenticates as, and with which roles."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    principal: str = Field(min_length=1, max_length=200, pattern=r"^\S+$")
    roles: frozenset[Role] = Field(min_length=1)
    # Scope: when set, owner and approver actions only for AI systems of these teams / ids.
    teams: frozenset[Annotated[str, Field(min_length=1, max_length=200)]] | None = None
    systems: frozenset[Annotated[str, Field(min_length=1, max_length=63)]] | None = None
    # Approval capacities (an approval's `role`); default `approver` for the approver role.
    capacities: frozenset[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]] | None = None


DEV_TOKENS: dict[str, TokenGrant] = {
    f"dev-{role.value}-token-please-change": TokenGrant(
        principal=f"dev-{role.value}", roles=frozenset({role})
    )
    for role in Role
}
"""Tokens used only when env=dev and none are configured: `dev-<role>-token-please-change` for
each role (e.g. `dev-admin-token-please-change` → principal `dev-admin`, role admin). They are
public knowledge, hence refused in prod."""

WELL_KNOWN_WEAK_TOKENS: frozenset[str] = frozenset(
    {
        *DEV_TOKENS,
        # The README's AIGOV_DEV_TOKENS example and the like: short, guessable, published.
        *(f"t{n}" for n in range(1, 10)),
        *(role.value for role in Role),
        *(f"dev-{role.value}" for role in Role),
        *(f"dev-{role.value}-token" for role in Role),
        *(f"{role.value}-token" for role in Role),
        "",
        "admin",
        "changeme",
        "change-me",
        "dev",
        "password",
        "secret",
        "test",
        "token",
    }
)
"""Tokens refused in prod even as a `sha256:` digest, whose length and variety cannot be seen."""

_DEV_DIGESTS = frozenset(token_entry_digest(token) for token in DEV_TOKENS)
_WEAK_DIGESTS = frozenset(token_entry_digest(token) for token in WELL_KNOWN_WEAK_TOKENS)

_dev_warning_lock = threading.Lock()
_dev_warning_logged = False


def _warn_dev_tokens_once() -> None:
    global _dev_warning_logged
    with _dev_warning_lock:
        if _dev_warning_logged:
            return
        _dev_warning_logged = True
    logger.warning(
        "no auth tokens configured: using the public dev token set (dev-<role>-token-please-change); "
        "set AIGOV_AUTH_TOKENS or AIGOV_AUTH_TOKENS_FILE, and never run env=dev in production",
        extra={"dev_principals": sorted(grant.principal for grant in DEV_TOKENS.values())},
    )


def _publicness(token: str) -> str | None:
    """Why `token` (plaintext or `sha256:` entry) is public knowledge, or None."""
    digest = token_entry_digest(token)
    if digest in _DEV_DIGESTS:
        return "is one of the public dev tokens"
    if digest in _WEAK_DIGESTS:
        return "is a well-known weak token"
    return None


def _weakness(token: str) -> str | None:
    """Why `token` is unfit for production, or None. Never includes the token itself.

    A `sha256:<hex>` entry can only be compared with the digests of known public tokens:
    its length and character variety are not recoverable from the digest.
    """
    if (reason := _publicness(token)) is not None:
        return reason
    if is_hashed_entry(token):
        return None
    if len(token) < MIN_PROD_TOKEN_LENGTH:
        return f"shorter than {MIN_PROD_TOKEN_LENGTH} characters"
    lowered = token.lower()
    if any(marker in lowered for marker in _PLACEHOLDER_MARKERS):
        return "looks like a placeholder"
    if len(set(token)) < 8:
        return "has fewer than 8 distinct characters"
    return None


def _load_document(text: str, *, origin: str) -> Any:
    # JSON first (the env var format); YAML for mounted files written by hand.
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        # Parser errors quote the offending line, i.e. possibly a token: say nothing more.
        raise ValueError(f"{origin} is neither valid JSON nor YAML") from None


def _parse_token_document(text: str, *, origin: str) -> dict[str, TokenGrant]:
    raw = _load_document(text, origin=origin)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError(f"{origin} must be a mapping of token -> {{principal, roles}}")
    grants: dict[str, TokenGrant] = {}
    for index, (token, grant) in enumerate(raw.items(), start=1):
        # Entries are named by position, never by token, so errors cannot leak secrets.
        if not isinstance(token, str) or not token or token != token.strip():
            raise ValueError(f"{origin}: entry #{index}: token must be a non-empty string")
        try:
            grants[token] = TokenGrant.model_validate(grant)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'entry'}: {err['msg']}"
                for err in exc.errors(include_input=False)
            )
            raise ValueError(f"{origin}: entry #{index}: {problems}") from None
        if grants[token].principal in SERVICE_ACTORS:
            # Services' events are trusted by actor name: a client must never carry one.
            raise ValueError(
                f"{origin}: entry #{index}: principal {grants[token].principal!r} is reserved "
                "for an aigov service; give the token another principal name"
            )
    return grants


def _parse_dev_tokens(text: str) -> dict[str, TokenGrant]:
    """`role=token,...` -> one principal per role, named after it (AIGOV_DEV_TOKENS)."""
    grants: dict[str, TokenGrant] = {}
    for index, item in enumerate((part.strip() for part in text.split(",")), start=1):
        if not item:
            continue
        role_name, sep, token = item.partition("=")
        try:
            role = Role(role_name.strip())
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise ValueError(
                f"AIGOV_DEV_TOKENS entry #{index}: unknown role (expected one of {known})"
            ) from None
        if not sep or not token.strip():
            raise ValueError(f"AIGOV_DEV_TOKENS entry #{index}: expected role=token")
        grants[token.strip()] = TokenGrant(principal=role.value, roles=frozenset({role}))
    return grants


class ServiceSettings(BaseSettings):
    """Settings shared by every service; each service subclasses it to set its default port."""

    model_config = SettingsConfigDict(
        env_prefix="AIGOV_",
        extra="ignore",
        # Validation errors would otherwise echo raw input, which may include tokens.
        hide_input_in_errors=True,
        validate_default=True,
    )

    env: Literal["dev", "prod"] = "dev"
    http_host: str = "127.0.0.1"
    http_port: Port = 8080
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_file: Path | None = None
    """Write the JSON log lines to this file (appended) instead of stdout; errors are also
    told on stderr. Unset or empty: stdout, as containers expect."""
    bus: Literal["kafka", "embedded"] = "kafka"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # repr=False: a URL may carry a password and settings objects end up in logs and tracebacks.
    database_url: str = Field(
        default="postgresql+asyncpg://aigov@127.0.0.1:55432/aigov", min_length=1, repr=False
    )
    embedded_bus_path: Path = Path(".local/embedded/bus.sqlite3")
    # Prefix for every topic name, so environments (or test runs) can share one Kafka cluster.
    topic_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$", max_length=100)
    topic_partitions: int = Field(default=3, ge=1, le=1000)
    # Apply the service's Alembic migrations at startup (off when a deploy job runs them).
    migrate_on_start: bool = True
    # Run the service's event consumers in this process (false for API-only replicas).
    run_consumers: bool = True
    # Per-principal request rate limit (token bucket): sustained rate and burst size.
    rate_limit_per_second: float = Field(default=200.0, gt=0)
    rate_limit_burst: int = Field(default=400, ge=1)
    max_request_bytes: int = Field(default=_DEFAULT_MAX_REQUEST_BYTES, ge=1)
    # YAML bodies get a much lower cap: parsing costs far more CPU per byte than JSON.
    max_yaml_bytes: int = Field(default=DEFAULT_MAX_YAML_BYTES, ge=1)
    max_yaml_nodes: int = Field(default=DEFAULT_MAX_YAML_NODES, ge=1)
    # Comma-separated Host names served (`*.suffix` and `*` allowed); unset: no check, except
    # loopback names only while dev tokens are in effect (DNS rebinding).
    allowed_hosts: Annotated[tuple[str, ...] | None, NoDecode] = None
    auth_tokens: SecretStr | None = None
    auth_tokens_file: Path | None = None
    # `publisher=t1,owner=t2,...`: plaintext tokens for local runs and tests, refused outside dev.
    dev_tokens: SecretStr | None = None
    metrics_public: bool = False
    readiness_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    shutdown_timeout_seconds: int = Field(default=25, ge=0)

    _principals: dict[str, Principal] = PrivateAttr(default_factory=dict)
    _dev_tokens: bool = PrivateAttr(default=False)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_file", mode="before")
    @classmethod
    def _empty_log_file_is_stdout(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _parse_allowed_hosts(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str | list | tuple):
            return parse_allowed_hosts(value)
        return value

    @model_validator(mode="after")
    def _resolve_tokens(self) -> Self:
        if self.auth_tokens is not None and self.auth_tokens_file is not None:
            raise ValueError("set AIGOV_AUTH_TOKENS or AIGOV_AUTH_TOKENS_FILE, not both")
        grants: dict[str, TokenGrant] = {}
        if self.auth_tokens is not None:
            grants = _parse_token_document(
                self.auth_tokens.get_secret_value(), origin="AIGOV_AUTH_TOKENS"
            )
        elif self.auth_tokens_file is not None:
            try:
                text = self.auth_tokens_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(
                    f"AIGOV_AUTH_TOKENS_FILE {str(self.auth_tokens_file)!r} is unreadable: {exc.strerror}"
                ) from None
            grants = _parse_token_document(text, origin="AIGOV_AUTH_TOKENS_FILE")

        self._dev_tokens = False
        if self.dev_tokens is not None:
            if self.env != "dev":
                raise ValueError(
                    "AIGOV_DEV_TOKENS is for local runs and tests only; it is refused unless "
                    "AIGOV_ENV=dev (use AIGOV_AUTH_TOKENS or AIGOV_AUTH_TOKENS_FILE)"
                )
            grants = {**_parse_dev_tokens(self.dev_tokens.get_secret_value()), **grants}
        if self.env == "prod":
            if not grants:
                raise ValueError(
                    "env=prod requires auth tokens (AIGOV_AUTH_TOKENS or AIGOV_AUTH_TOKENS_FILE)"
                )
            for index, (token, grant) in enumerate(grants.items(), start=1):
                if (reason := _weakness(token)) is not None:
                    raise ValueError(
                        f"weak auth token #{index} (principal {grant.principal!r}) {reason}; "
                        "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
                    )
        elif not grants:
            grants = dict(DEV_TOKENS)
            self._dev_tokens = True
        if not is_loopback_host(self.http_host):
            self._refuse_public_tokens_on_the_network(grants)

        self._principals = {
            token: Principal(
                name=grant.principal,
                roles=grant.roles,
                teams=grant.teams,
                systems=grant.systems,
                capacities=grant.capacities,
            )
            for token, grant in grants.items()
        }
        return self

    def _refuse_public_tokens_on_the_network(self, grants: dict[str, TokenGrant]) -> None:
        """A server reachable from other hosts must not accept tokens the world knows."""
        where = f"AIGOV_HTTP_HOST={self.http_host!r} is not a loopback address"
        fix = "set AIGOV_AUTH_TOKENS or AIGOV_AUTH_TOKENS_FILE, or bind to 127.0.0.1"
        if self._dev_tokens:
            raise ValueError(
                f"{where}, and with no auth tokens configured the public dev tokens would "
                f"authenticate anyone who can reach it (admin included): {fix}"
            )
        if self.dev_tokens is not None:
            raise ValueError(
                f"{where}: AIGOV_DEV_TOKENS is for local runs on a loopback address only; {fix}"
            )
        for index, (token, grant) in enumerate(grants.items(), start=1):
            if (reason := _publicness(token)) is not None:
                raise ValueError(
                    f"auth token entry #{index} (principal {grant.principal!r}) {reason}, "
                    f"refused because {where}"
                )

    @property
    def uses_dev_tokens(self) -> bool:
        """True when the public dev token set is in effect (env=dev, no tokens configured)."""
        return self._dev_tokens

    @property
    def dev_tokens_in_effect(self) -> bool:
        """True with the public dev token set or AIGOV_DEV_TOKENS (always on a loopback bind)."""
        return self._dev_tokens or self.dev_tokens is not None

    def host_policy(self) -> HostPolicy | None:
        """The Host names to serve: AIGOV_ALLOWED_HOSTS, loopback with dev tokens, else any."""
        if self.allowed_hosts is not None:
            return HostPolicy(self.allowed_hosts)
        if self.dev_tokens_in_effect:
            return HostPolicy(None)
        return None

    def principals_by_token(self) -> dict[str, Principal]:
        """Token → principal for the configured tokens (the dev set in dev when none is set)."""
        if self._dev_tokens:
            _warn_dev_tokens_once()
        return dict(self._principals)

    def redacted_dump(self) -> dict[str, Any]:
        """The settings as plain JSON-able values with secrets masked, for startup logs."""
        data = self.model_dump(mode="json", exclude={"auth_tokens", "dev_tokens", "database_url"})
        data["auth_tokens"] = "**********" if self.auth_tokens is not None else None
        data["dev_tokens"] = "**********" if self.dev_tokens is not None else None
        data["auth_principals"] = sorted({p.name for p in self._principals.values()})
        data["database_url"] = _mask_url_password(self.database_url)
        return data


def _mask_url_password(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"
