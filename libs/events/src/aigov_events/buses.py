"""Which bus a run mode gets: Kafka in production, the SQLite log in the embedded default.

Apart from `bus.py` (the interface every transport implements), so that the interface does
not import its transports; each transport is imported only when a run mode asks for it.
"""

from __future__ import annotations

from pathlib import Path

from aigov_events.bus import Bus, BusKind, NamespacedBus, SharedBus

# Embedded logs by resolved file path: a SQLite log file belongs to one bus per process.
_SHARED_EMBEDDED: dict[Path, SharedBus] = {}


def _shared_embedded(path: str, partitions: int) -> SharedBus:
    from aigov_events.embedded_bus import EmbeddedBus

    key = Path(path).resolve()

    def forget() -> None:
        _SHARED_EMBEDDED.pop(key, None)

    shared = _SHARED_EMBEDDED.get(key)
    if shared is None:
        shared = _SHARED_EMBEDDED[key] = SharedBus(
            EmbeddedBus(path, partitions=partitions), on_last_stop=forget
        )
    return shared


def create_bus(
    kind: BusKind,
    *,
    kafka_bootstrap_servers: str = "127.0.0.1:9092",
    embedded_path: str = ".local/embedded/bus.sqlite3",
    client_id: str = "aigov",
    partitions: int = 3,
    topic_prefix: str = "",
) -> Bus:
    """The bus for a run mode: Kafka in production, the SQLite log in the embedded default."""
    if kind == "kafka":
        from aigov_events.kafka_bus import KafkaBus

        bus: Bus = KafkaBus(kafka_bootstrap_servers, client_id=client_id, partitions=partitions)
    elif kind == "embedded":
        # Services in one process that name the same file share one log (see SharedBus).
        bus = _shared_embedded(embedded_path, partitions)
    else:
        raise ValueError(f"unknown bus kind {kind!r} (expected 'kafka' or 'embedded')")
    return NamespacedBus(bus, topic_prefix) if topic_prefix else bus
