"""Both buses place a keyed record where Kafka's Java producer would."""

from __future__ import annotations

import random

import pytest
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from aigov_events.partitioning import murmur2, partition_for

# org.apache.kafka.common.utils.UtilsTest#testMurmur2: the Java client's values (signed).
KAFKA_VECTORS = {
    "21": -973932308,
    "foobar": -790332482,
    "a-little-bit-long-string": -985981536,
    "a-little-bit-longer-string": -1486304829,
    "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    "abc": 479470107,
}


def signed(value: int) -> int:
    return value - (1 << 32) if value >= 1 << 31 else value


@pytest.mark.parametrize(("key", "expected"), KAFKA_VECTORS.items())
def test_the_java_clients_values(key: str, expected: int) -> None:
    assert signed(murmur2(key.encode())) == expected


def test_every_length_and_byte_agrees_with_another_implementation() -> None:
    rng = random.Random(5)
    for length in range(0, 70):
        for _ in range(20):
            key = bytes(rng.randrange(256) for _ in range(length))
            assert murmur2(key) == aiokafka_murmur2(key) & 0xFFFFFFFF


def test_partitions_are_in_range_and_unkeyed_records_go_to_the_first() -> None:
    assert partition_for(None, 6) == 0
    seen = {partition_for(f"system-{n}".encode(), 6) for n in range(200)}
    assert seen == set(range(6))
    assert (
        partition_for(b"support-summarizer", 3) == (murmur2(b"support-summarizer") & 0x7FFFFFFF) % 3
    )
