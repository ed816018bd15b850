"""Settings of the intake service (`AIGOV_*` environment variables).

Signed webhooks need a shared secret per sending tool. Give it either as an environment
variable (`AIGOV_GITHUB_WEBHOOK_SECRET`, `AIGOV_MLFLOW_WEBHOOK_SECRET`) or in a mounted
file named by `AIGOV_WEBHOOK_SECRETS_FILE`, a JSON or YAML mapping from tool to secret:

    github: "<secret>"
    mlflow: ["<new secret>", "<old secret>"]   # a list while rotating: any one verifies

A tool with no secret has its receiver switched off (503): intake never accepts an
unsigned delivery. In `env=prod` short or placeholder-like secrets are refused at startup.

`AIGOV_INTAKE_MAX_FUTURE_SKEW_SECONDS` (default 300) bounds how far an event's CloudEvents
`time` may be ahead of intake's clock, on every endpoint: a later `time` is refused (422).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Final, Literal, Self

import yaml
from pydantic import Field, PrivateAttr, SecretStr, model_validator

from aigov_runtime.settings import MIN_PROD_TOKEN_LENGTH, Port, ServiceSettings

WebhookSource = Literal["github", "mlflow"]
#: Tools whose webhooks intake verifies by an HMAC signature.
SIGNED_WEBHOOK_SOURCES: Final[tuple[WebhookSource, ...]] = ("github", "mlflow")

_PLACEHOLDER_MARKERS: Final = ("changeme", "change-me", "placeholder", "example", "secret")
_MAX_SECRETS_PER_SOURCE: Final = 5


class Settings(ServiceSettings):
    """Settings of intake: the shared ones (port 8081) plus the signed-webhook secrets."""

    http_port: Port = 8081

    # Shared HMAC secrets of the signed webhook receivers (never logged: SecretStr).
    github_webhook_secret: SecretStr | None = None
    mlflow_webhook_secret: SecretStr | None = None
    webhook_secrets_file: Path | None = None
    # MLflow signs its delivery time; deliveries further than this from our clock are replays.
    mlflow_webhook_tolerance_seconds: int = Field(default=300, ge=1, le=3600)
    # The `sha256=<hex>` form of older MLflow docs covers only the body (no replay protection).
    mlflow_accept_legacy_signature: bool = False

    # Events dated further ahead than this are refused: a future `time` would sort a fact
    # after ones that happen later, or keep an evidence window open.
    intake_max_future_skew_seconds: int = Field(default=300, ge=0, le=86_400)

    _webhook_secrets: dict[str, tuple[bytes, ...]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _resolve_webhook_secrets(self) -> Self:
        from_env: dict[str, SecretStr | None] = {
            "github": self.github_webhook_secret,
            "mlflow": self.mlflow_webhook_secret,
        }
        from_file: dict[str, tuple[str, ...]] = {}
        if self.webhook_secrets_file is not None:
            from_file = _read_secrets_file(self.webhook_secrets_file)
        resolved: dict[str, tuple[bytes, ...]] = {}
        for source in SIGNED_WEBHOOK_SOURCES:
            env_value = from_env[source]
            if env_value is not None and source in from_file:
                raise ValueError(
                    f"the {source} webhook secret is set both in AIGOV_{source.upper()}_WEBHOOK_SECRET "
                    "and in AIGOV_WEBHOOK_SECRETS_FILE; keep one"
                )
            values = (
                (env_value.get_secret_value(),)
                if env_value is not None
                else from_file.get(source, ())
            )
            for value in values:
                if not value or value != value.strip():
                    raise ValueError(
                        f"the {source} webhook secret is empty or has surrounding spaces"
                    )
                if self.env == "prod" and (reason := _weakness(value)) is not None:
                    raise ValueError(
                        f"weak {source} webhook secret: {reason}; generate one with: "
                        "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
                    )
            if values:
                resolved[source] = tuple(v.encode("utf-8") for v in values)
        self._webhook_secrets = resolved
        return self

    @property
    def max_future_skew(self) -> timedelta:
        """How far ahead of intake's clock an event's `time` may be."""
        return timedelta(seconds=self.intake_max_future_skew_seconds)

    def webhook_secrets(self, source: WebhookSource) -> tuple[bytes, ...]:
        """The secrets a delivery from `source` may be signed with (empty: receiver is off)."""
        return self._webhook_secrets.get(source, ())


def _weakness(secret: str) -> str | None:
    """Why a webhook secret is unfit for production, or None. Never quotes the secret."""
    if len(secret) < MIN_PROD_TOKEN_LENGTH:
        return f"shorter than {MIN_PROD_TOKEN_LENGTH} characters"
    lowered = secret.lower()
    if any(marker in lowered for marker in _PLACEHOLDER_MARKERS):
        return "looks like a placeholder"
    if len(set(secret)) < 8:
        return "has fewer than 8 distinct characters"
    return None


def _read_secrets_file(path: Path) -> dict[str, tuple[str, ...]]:
    origin = "AIGOV_WEBHOOK_SECRETS_FILE"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{origin} {str(path)!r} is unreadable: {exc.strerror}") from None
    document = _load_document(text, origin=origin)
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise ValueError(f"{origin} must be a mapping of tool -> secret (or list of secrets)")
    secrets: dict[str, tuple[str, ...]] = {}
    for source, value in document.items():
        # Errors name the tool, never the value: the value is the secret.
        if source not in SIGNED_WEBHOOK_SOURCES:
            known = ", ".join(SIGNED_WEBHOOK_SOURCES)
            raise ValueError(f"{origin}: unknown tool {str(source)!r} (expected one of: {known})")
        values = [value] if isinstance(value, str) else value
        if (
            not isinstance(values, list)
            or not 1 <= len(values) <= _MAX_SECRETS_PER_SOURCE
            or not all(isinstance(v, str) for v in values)
        ):
            raise ValueError(
                f"{origin}: {source}: expected a secret or a list of 1 to "
                f"{_MAX_SECRETS_PER_SOURCE} secrets (strings)"
            )
        secrets[source] = tuple(values)
    return secrets


def _load_document(text: str, *, origin: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        # Parser errors quote the offending line, i.e. possibly a secret: say nothing more.
        raise ValueError(f"{origin} is neither valid JSON nor YAML") from None
