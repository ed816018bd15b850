"""What every command of one invocation shares: resolved config, the API client, the state file."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from aigov_cli import emitted
from aigov_cli.api import Api
from aigov_cli.config import Config, load_config
from aigov_cli.render import accepted, to_json


@dataclass
class Session:
    """Root-level options, resolved lazily so `aigov --help` needs no configuration."""

    flags: Mapping[str, str | None]
    config_path: Path | None
    state_file: Path
    _config: Config | None = field(default=None, init=False)
    _api: Api | None = field(default=None, init=False)

    @property
    def config(self) -> Config:
        """The resolved configuration (flags, environment, config file)."""
        if self._config is None:
            self._config = load_config(self.flags, config_path=self.config_path)
        return self._config

    def api(self) -> Api:
        """The API client (closed when the command ends)."""
        if self._api is None:
            self.config.token()  # fail before any request when no token is configured
            self._api = Api(self.config)
            click.get_current_context().call_on_close(self._api.close)
        return self._api

    def send(
        self,
        path: str,
        body: dict[str, Any],
        *,
        idempotency_key: str | None,
        as_json: bool,
        describe: Callable[[dict[str, Any]], str] = accepted,
    ) -> dict[str, Any]:
        """POST a typed request body to intake, remember its event, print the receipt."""
        key = idempotency_key or new_idempotency_key()
        answer: dict[str, Any] = (
            self.api().post("intake", path, json=body, idempotency_key=key).body
        )
        self.remember(answer, system=str(body["system"]), version=body.get("version"))
        output(answer, as_json=as_json, text=describe(answer))
        return answer

    def send_step(
        self,
        path: str,
        body: dict[str, Any],
        *,
        idempotency_key: str | None,
        as_json: bool,
        describe: Callable[[dict[str, Any]], str],
    ) -> dict[str, Any]:
        """POST a step on something intake issued an id for (a waiver decision, an incident step).

        The path names only the waiver or incident; the receipt names its system but no
        release, so the gate of any of that system's releases waits for the event.
        """
        key = idempotency_key or new_idempotency_key()
        answer: dict[str, Any] = (
            self.api().post("intake", path, json=body, idempotency_key=key).body
        )
        self.remember(answer, system=str(answer.get("system_id")), version=None)
        output(answer, as_json=as_json, text=describe(answer))
        return answer

    def remember(self, answer: Mapping[str, Any], *, system: str, version: str | None) -> None:
        """Record an accepted event for `aigov gate --wait` (no-op when no event was sent)."""
        event_id = answer.get("event_id")
        source = answer.get("source")
        if isinstance(event_id, str) and event_id:
            emitted.remember(
                self.state_file,
                event_id=event_id,
                event_type=str(answer.get("event_type") or ""),
                system=system,
                version=version,
                # Older intakes do not say; evidence is then asked by id alone.
                source=source if isinstance(source, str) and source else None,
            )


def pass_session(ctx: click.Context) -> Session:
    """The Session the root group stored on the context."""
    session = ctx.find_object(Session)
    if session is None:  # pragma: no cover - commands always run under the root group
        raise click.UsageError("internal: no session")
    return session


def new_idempotency_key() -> str:
    """A fresh key for one operation; the CLI's own retries reuse it."""
    return str(uuid.uuid4())


def output(answer: Any, *, as_json: bool, text: str) -> None:
    """Print the raw answer as JSON, or the human text."""
    click.echo(to_json(answer) if as_json else text)
