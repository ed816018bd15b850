"""Where the CLI finds its server and token: flags, then `AIGOV_*` variables, then a config file.

The config file is YAML (`url`, `token`, `intake_url`, `tiering_url`, `evidence_url`,
`router_url`, `timeout`), read from `--config`, `AIGOV_CONFIG` or `$XDG_CONFIG_HOME/aigov/config.yaml`.
Each service URL defaults to `url`, so the all-in-one server needs one setting and
`make up`'s separate services need one per service.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import yaml

from aigov_cli.errors import CliError

Service = Literal["intake", "tiering", "evidence", "router"]
SERVICES: Final[tuple[Service, ...]] = ("intake", "tiering", "evidence", "router")

DEFAULT_URL: Final = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT_S: Final = 30.0
#: Settings by config-file key, with the environment variable that sets each.
ENV_VARS: Final[Mapping[str, str]] = {
    "url": "AIGOV_URL",
    "token": "AIGOV_TOKEN",
    "intake_url": "AIGOV_INTAKE_URL",
    "tiering_url": "AIGOV_TIERING_URL",
    "evidence_url": "AIGOV_EVIDENCE_URL",
    "router_url": "AIGOV_ROUTER_URL",
    "timeout": "AIGOV_TIMEOUT",
}
CONFIG_ENV: Final = "AIGOV_CONFIG"


@dataclass(frozen=True)
class Setting:
    """A resolved value and where it came from (`--url`, `AIGOV_URL`, a file, `default`)."""

    value: str | None
    origin: str


@dataclass(frozen=True)
class Config:
    """The resolved connection settings of one CLI invocation."""

    settings: Mapping[str, Setting]
    config_file: Path | None = None

    def url(self, service: Service) -> str:
        """Base URL of `service` (its own setting, else `url`)."""
        own = self.settings.get(f"{service}_url")
        chosen = own if own is not None and own.value else self.settings["url"]
        return (chosen.value or DEFAULT_URL).rstrip("/")

    def url_hint(self, service: Service) -> str:
        """Which setting to change to point the CLI at `service`."""
        own = self.settings.get(f"{service}_url")
        if own is not None and own.value:
            return f"{own.origin} = {own.value}"
        url = self.settings["url"]
        return f"{url.origin} = {url.value}; set {ENV_VARS[f'{service}_url']} if {service} runs elsewhere"

    @property
    def timeout(self) -> float:
        """Per-request timeout in seconds."""
        return float(self.settings["timeout"].value or DEFAULT_TIMEOUT_S)

    def token(self) -> str:
        """The bearer token, or an error saying how to provide one."""
        token = self.settings["token"].value
        if not token:
            where = f" or `token:` in {self.config_file}" if self.config_file else ""
            raise CliError(
                f"no API token: set AIGOV_TOKEN, pass --token{where} "
                "(a token with the publisher role for emit and gate, approver for approve, "
                "reader for the read commands)"
            )
        return token


def default_config_path(env: Mapping[str, str]) -> Path:
    """`$XDG_CONFIG_HOME/aigov/config.yaml`, else `~/.config/aigov/config.yaml`."""
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "aigov" / "config.yaml"


def read_config_file(path: Path) -> dict[str, str]:
    """The settings in a YAML config file (unknown keys and bad YAML are errors)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CliError(f"cannot read the config file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise CliError(f"the config file {path} is not valid YAML: {exc}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise CliError(f"the config file {path} must be a mapping such as `url: https://...`")
    unknown = sorted(str(key) for key in document if key not in ENV_VARS)
    if unknown:
        raise CliError(
            f"the config file {path} has unknown keys {unknown}; known: {sorted(ENV_VARS)}"
        )
    return {str(k): str(v) for k, v in document.items() if v is not None}


def load_config(
    flags: Mapping[str, str | None],
    *,
    env: Mapping[str, str] | None = None,
    config_path: Path | None = None,
) -> Config:
    """Resolve every setting: flag, then environment variable, then config file, then default."""
    env = os.environ if env is None else env
    explicit = config_path or (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else None)
    path = explicit or default_config_path(env)
    from_file: dict[str, str] = {}
    if explicit is not None or path.is_file():
        if explicit is not None and not explicit.is_file():
            raise CliError(f"the config file {explicit} does not exist")
        from_file = read_config_file(path)
    settings: dict[str, Setting] = {}
    for key, variable in ENV_VARS.items():
        if flags.get(key):
            settings[key] = Setting(flags[key], f"--{key.replace('_', '-')}")
        elif env.get(variable):
            settings[key] = Setting(env[variable], variable)
        elif key in from_file:
            settings[key] = Setting(from_file[key], f"{path}: {key}")
        else:
            settings[key] = Setting(DEFAULT_URL if key == "url" else None, "default")
    config = Config(settings=settings, config_file=path if from_file else None)
    _check(config)
    return config


def _check(config: Config) -> None:
    for key in ("url", *(f"{service}_url" for service in SERVICES)):
        setting = config.settings[key]
        if setting.value and not setting.value.startswith(("http://", "https://")):
            raise CliError(
                f"{setting.origin} = {setting.value!r} is not a URL: "
                "use http(s)://host[:port], e.g. http://127.0.0.1:8080"
            )
    timeout = config.settings["timeout"]
    if timeout.value is not None:
        try:
            seconds = float(timeout.value)
        except ValueError:
            seconds = -1.0
        if not seconds > 0:
            raise CliError(
                f"{timeout.origin} = {timeout.value!r}: give a positive number of seconds"
            )
