"""`aigov gate`: wait until evidence has recorded this pipeline's events, then ask the gate.

Asking too early would judge the release without the evaluation the previous step just
sent (the ledger consumes the event stream asynchronously), so `--wait` first polls
`GET /v1/events/{id}?source=` until every awaited event is recorded (an event is its
(source, id); ids given without a source are asked for alone). When the system was
(re)registered in this pipeline, tiering answers asynchronously too: while the gate says
the system is not tiered yet and time remains, it is asked again. Each answer is recorded
as evidence (`POST /v1/gate/decisions`) unless `--no-record` only reads it (`GET /v1/gate`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

import click

from aigov_cli.api import Api
from aigov_cli.errors import CliError

FIRST_POLL_S: Final = 0.25
MAX_POLL_S: Final = 2.0
#: Non-interactive logs (CI) get a progress line this often, not one per poll.
LOG_EVERY_S: Final = 5.0
REGISTRATION_TYPES: Final = ("system.registered", "system.updated")

Clock = Callable[[], float]


@dataclass(frozen=True)
class Awaited:
    """An event to wait for: its id and, when known, its CloudEvents source."""

    event_id: str
    source: str | None = None

    def __str__(self) -> str:
        """The id, and the source when known (for messages)."""
        return self.event_id if self.source is None else f"{self.event_id} ({self.source})"


@dataclass
class Progress:
    """Waiting shown on stderr: one rewritten line on a terminal, a line every 5 s in CI logs."""

    interactive: bool
    clock: Clock = time.monotonic
    _started: float = field(default=0.0, init=False)
    _last_log: float = field(default=-LOG_EVERY_S, init=False)
    _shown: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._started = self.clock()

    def show(self, message: str) -> None:
        """Show `message` with the time waited so far."""
        elapsed = self.clock() - self._started
        text = f"{message} ({elapsed:.0f}s)"
        if self.interactive:
            # Pad over the previous line: plain \r works on every terminal, escapes may not.
            click.echo(f"\r{text.ljust(self._shown)}", nl=False, err=True)
            self._shown = len(text)
        elif elapsed - self._last_log >= LOG_EVERY_S:
            click.echo(text, err=True)
            self._last_log = elapsed

    def clear(self) -> None:
        """Remove the rewritten progress line, if one is shown."""
        if self._shown:
            click.echo(f"\r{' ' * self._shown}\r", nl=False, err=True)
            self._shown = 0

    def done(self, message: str) -> None:
        """End the progress display with a final line."""
        self.clear()
        click.echo(message, err=True)


@dataclass
class Waiter:
    """Polls evidence until events are recorded, within one deadline."""

    api: Api
    deadline: float
    progress: Progress
    clock: Clock = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _interval: float = field(default=FIRST_POLL_S, init=False)

    def remaining(self) -> float:
        """Seconds left before the deadline."""
        return self.deadline - self.clock()

    def pause(self) -> None:
        """Sleep before the next poll: quick at first, then backing off to 2 s."""
        self.sleep(max(0.0, min(self._interval, self.remaining())))
        self._interval = min(MAX_POLL_S, self._interval * 2)

    def recorded(self, event_id: str, source: str | None = None) -> bool:
        """Whether evidence has the event in its ledger (200) or not yet (404).

        With `source`, the event (source, id); without, the id alone, which evidence answers
        409 for when two sources recorded it (a CliError naming them).
        """
        answer = self.api.get(
            "evidence",
            f"/v1/events/{quote(event_id, safe='')}",
            params=None if source is None else {"source": source},
            expect=frozenset({404}),
        )
        return answer.status == 200

    def wait_for(self, events: Sequence[Awaited | str], *, budget: float) -> None:
        """Return once every event is recorded; CliError when `budget` seconds run out first."""
        pending = list(dict.fromkeys(e if isinstance(e, Awaited) else Awaited(e) for e in events))
        total = len(pending)
        if not total:
            return
        while True:
            pending = [e for e in pending if not self.recorded(e.event_id, e.source)]
            if not pending:
                self.progress.done(f"all {total} event(s) of this release are recorded")
                return
            if self.remaining() <= 0:
                self.progress.clear()
                shown = ", ".join(map(str, pending[:5])) + (" …" if len(pending) > 5 else "")
                raise CliError(
                    f"timed out after {budget:g}s: {len(pending)} of {total} event(s) are not "
                    f"recorded by evidence yet: {shown}\n"
                    "  Is the evidence service running and consuming? "
                    "Wait longer with --wait, e.g. --wait 5m."
                )
            self.progress.show(
                f"waiting for evidence to record {total - len(pending)}/{total} event(s)"
            )
            self.pause()


def ask_gate(api: Api, *, system: str, version: str, record: bool = True) -> dict[str, Any]:
    """The gate's answer for the release, checked to carry a decision.

    Recorded as evidence (`POST /v1/gate/decisions`, the publisher role: what CI acts on),
    or with `record=False` only read (`GET /v1/gate`, which changes nothing).
    """
    release = {"system": system, "version": version}
    answer = (
        api.post("evidence", "/v1/gate/decisions", json=release)
        if record
        else api.get("evidence", "/v1/gate", params=release)
    ).body
    if not isinstance(answer, dict) or answer.get("decision") not in ("allow", "deny"):
        raise CliError(
            f"the gate answered without an allow/deny decision: {str(answer)[:300]}\n"
            "  Is AIGOV_EVIDENCE_URL pointing at the evidence service?"
        )
    return answer


def decide(
    api: Api,
    *,
    system: str,
    version: str,
    event_ids: Sequence[Awaited | str],
    registered_here: bool,
    wait: float,
    waiter: Waiter,
    record: bool = True,
) -> dict[str, Any]:
    """Wait for `event_ids` (up to `wait` s), then the gate's answer (re-asked while untiered)."""
    waiter.wait_for(event_ids, budget=wait)
    answer = ask_gate(api, system=system, version=version, record=record)
    while registered_here and answer.get("tier") is None and waiter.remaining() > 0:
        waiter.progress.show(f"waiting for tiering to tier {system}")
        waiter.pause()
        answer = ask_gate(api, system=system, version=version, record=record)
    waiter.progress.clear()
    return answer
