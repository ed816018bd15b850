"""Per-principal rate limiting: a token bucket per caller, answered with 429 and Retry-After.

The buckets live in the process: with N replicas the effective limit is N times the
configured one, which is the usual trade-off for a limit that protects each process.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request

from aigov_runtime.errors import ProblemError

__all__ = ["RateLimiter", "rate_limited"]


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets keyed by caller: `rate` requests per second sustained, `burst` at once."""

    def __init__(self, *, rate: float, burst: int, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def acquire(self, key: str, cost: float = 1.0) -> float:
        """Take `cost` tokens for `key`; 0.0 if allowed, else seconds until it would be."""
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                # Bounded memory: forget the idle buckets (they were full anyway).
                self._buckets = {
                    k: b
                    for k, b in self._buckets.items()
                    if now - b.updated < self.burst / self.rate
                }
            bucket = self._buckets[key] = _Bucket(tokens=float(self.burst), updated=now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return 0.0
        return (cost - bucket.tokens) / self.rate


def rate_limited(
    limiter_of: Callable[[Request], RateLimiter], key_of: Callable[[Request], str]
) -> Callable[[Request], Awaitable[None]]:
    """A dependency that answers 429 with Retry-After when the caller is over its limit."""

    async def dependency(request: Request) -> None:
        wait = limiter_of(request).acquire(key_of(request))
        if wait > 0:
            raise ProblemError(
                429,
                "rate limit exceeded for this caller; retry later",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )

    return dependency
