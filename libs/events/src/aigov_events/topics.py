"""Topic names, their dead-letter twins, and the partition-key rule.

Every event of one AI system carries that system's id as its record key, so all
events of a system land in one partition and are read in the order they were
accepted. This module is the single source of the topic names.
"""

from __future__ import annotations

from typing import Final

LIFECYCLE: Final = "aigov.lifecycle"
SIGNALS: Final = "aigov.signals"
DECISIONS: Final = "aigov.decisions"
NOTIFICATIONS: Final = "aigov.notifications"

#: The four main topics, in the order the architecture brief lists them.
MAIN_TOPICS: Final[tuple[str, ...]] = (LIFECYCLE, SIGNALS, DECISIONS, NOTIFICATIONS)

DLQ_SUFFIX: Final = ".dlq"


def dlq(topic: str) -> str:
    """Return the dead-letter twin of `topic` (`aigov.signals` -> `aigov.signals.dlq`)."""
    if topic.endswith(DLQ_SUFFIX):
        raise ValueError(f"{topic!r} is already a dead-letter topic")
    return topic + DLQ_SUFFIX


#: Every topic aigov uses: the main topics and their dead-letter twins.
ALL_TOPICS: Final[tuple[str, ...]] = MAIN_TOPICS + tuple(dlq(t) for t in MAIN_TOPICS)


def partition_key(system_id: str) -> bytes:
    """Return the record key for an event about `system_id` (UTF-8 of the id, never empty)."""
    if not system_id:
        raise ValueError("an event needs the AI system id as its partition key")
    return system_id.encode("utf-8")
