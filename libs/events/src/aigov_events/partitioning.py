"""Which partition a keyed record goes to: Kafka's default partitioner, written out.

Both buses place a record by this function, so an AI system's events land in the same
partition on the embedded log as on Kafka, whose Java producer would choose the same one:
`toPositive(murmur2(key)) % partitions` (`org.apache.kafka.common.utils.Utils.murmur2`,
seed 0x9747b28c). Written here rather than imported from a Kafka client so that the
transport-neutral part of `aigov_events` depends on no client library.
"""

from __future__ import annotations

import struct
from typing import Final

__all__ = ["murmur2", "partition_for"]

_SEED: Final = 0x9747B28C
_M: Final = 0x5BD1E995
_MASK: Final = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's 32-bit MurmurHash2 of `data`, as an unsigned integer."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    whole = length - length % 4
    for (k,) in struct.iter_unpack("<I", data[:whole]):
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    rest = length % 4
    if rest:
        if rest == 3:
            h ^= data[whole + 2] << 16
        if rest >= 2:
            h ^= data[whole + 1] << 8
        h ^= data[whole]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


def partition_for(key: bytes | None, partitions: int) -> int:
    """The partition of a record with `key` (unkeyed records: partition 0)."""
    if key is None:
        return 0
    return (murmur2(key) & 0x7FFFFFFF) % partitions
