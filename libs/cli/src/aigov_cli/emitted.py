"""The events this pipeline emitted, remembered in a small file so `aigov gate --wait` can await them.

Each successful `aigov emit ...`, `systems register`, `approve` and `waiver ...` appends the
accepted event's id and CloudEvents source with its system and release to
`.aigov/emitted.json` (in the working directory, or `AIGOV_STATE_FILE` / `--state-file`).
A CI job runs its steps in one checkout, so the gate step finds the events sent before it;
a step on another runner can pass their ids with `--event-id` instead. An event is
identified by (source, id): files written before the source was kept have none, and those
events are awaited by id alone. The file keeps each system's current release only: the
first event of a new release drops that system's earlier releases, so it does not grow with
every release and the gate does not poll old events again.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from aigov_cli.errors import CliError

DEFAULT_PATH: Final = Path(".aigov") / "emitted.json"
#: Old entries are dropped beyond this many (a workspace with very many systems stays bounded).
MAX_ENTRIES: Final = 1000


@dataclass(frozen=True)
class Emitted:
    """One accepted event: its id, type and source, the AI system and (if any) the release."""

    event_id: str
    event_type: str
    system: str
    version: str | None
    at: str
    source: str | None = None
    """The event's CloudEvents source (None in files written by older versions)."""


def load(path: Path) -> list[Emitted]:
    """The remembered events (none if the file does not exist)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise CliError(
            f"the state file {path} is unreadable ({exc}); delete it, or pass --event-id"
        ) from None
    entries = document.get("events", []) if isinstance(document, dict) else []
    return [_entry(item) for item in entries if isinstance(item, dict) and "event_id" in item]


def _entry(item: dict[str, Any]) -> Emitted:
    return Emitted(
        event_id=str(item["event_id"]),
        event_type=str(item.get("event_type", "")),
        system=str(item.get("system", "")),
        version=None if item.get("version") is None else str(item["version"]),
        at=str(item.get("at", "")),
        source=item["source"] if isinstance(item.get("source"), str) and item["source"] else None,
    )


def remember(
    path: Path,
    *,
    event_id: str,
    event_type: str,
    system: str,
    version: str | None,
    source: str | None = None,
) -> None:
    """Append one accepted event (atomically: a crashed write leaves the old file).

    The file keeps each system's current release only: an event of a release drops the
    system's events of other releases (see `current_release`).
    """
    entries = [e for e in load(path) if (e.source, e.event_id) != (source, event_id)]
    if version is not None:
        entries = current_release(entries, system=system, version=version)
    entries.append(
        Emitted(
            event_id=event_id,
            event_type=event_type,
            system=system,
            version=version,
            at=datetime.now(UTC).isoformat(timespec="seconds"),
            source=source,
        )
    )
    document = {"events": [asdict(e) for e in entries[-MAX_ENTRIES:]]}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".emitted-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(document, file, indent=2)
        os.replace(temporary, path)
    except OSError as exc:
        raise CliError(
            f"the event was accepted, but recording it in {path} failed ({exc.strerror}); "
            f"pass --event-id {event_id} to `aigov gate`"
        ) from None


def current_release(entries: list[Emitted], *, system: str, version: str) -> list[Emitted]:
    """`entries` without `system`'s earlier releases, before recording an event of `version`.

    Dropped: the system's events of other versions, and its system-level events (no version:
    registrations, waiver decisions) remembered before the last of those, which belonged to
    that earlier release's pipeline. Kept: other systems' events, and system-level events
    remembered since (this pipeline's registration, sent before its first release event), so
    `gate --wait` polls only what this release's pipeline sent.
    """
    older = [
        i for i, e in enumerate(entries) if e.system == system and e.version not in (None, version)
    ]
    if not older:
        return entries
    last = older[-1]
    return [
        e
        for i, e in enumerate(entries)
        if e.system != system or e.version == version or (e.version is None and i > last)
    ]


def for_release(entries: list[Emitted], *, system: str, version: str) -> list[Emitted]:
    """Events a gate for (system, version) should wait for: the release's and the system's own."""
    return [e for e in entries if e.system == system and e.version in (None, version)]
