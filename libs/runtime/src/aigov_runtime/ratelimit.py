"""Per-principal rate limiting: a token bucket per caller, answered with 429 and Retry-After.

`build_service_app` installs one `RateLimiter` per app from `AIGOV_RATE_LIMIT_PER_SECOND` and
`AIGOV_RATE_LIMIT_BURST`; a route opts in by taking a `LimitedPrincipal` (or depending on
`limited_principal`), which authenticates first, so unauthenticated requests are 401, not counted.

The buckets live in the process: with N replicas the effective limit is N times the
configured one, which is the usual trade-off for a limit that protects each process.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from aigov_runtime.auth import Principal, authenticated
from aigov_runtime.errors import ProblemError

__all__ = [
    "LimitedPrincipal",
    "RateLimiter",
    "install_rate_limiter",
    "limited_principal",
    "rate_limiter_of",
]

_LIMITER_STATE_KEY = "aigov_rate_limiter"


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


def _too_many(wait: float, detail: str) -> ProblemError:
    return ProblemError(429, detail, headers={"Retry-After": str(max(1, math.ceil(wait)))})


def install_rate_limiter(app: FastAPI, limiter: RateLimiter) -> None:
    """Make `limiter` the one `limited_principal` consults for requests to `app`."""
    setattr(app.state, _LIMITER_STATE_KEY, limiter)


def rate_limiter_of(app: FastAPI) -> RateLimiter:
    """The rate limiter installed on `app` (by `build_service_app`)."""
    limiter = getattr(app.state, _LIMITER_STATE_KEY, None)
    if not isinstance(limiter, RateLimiter):
        # A wiring bug, not a client error: a 500 rather than serving without a limit.
        raise RuntimeError("no RateLimiter installed on this app (use build_service_app)")
    return limiter


async def limited_principal(
    request: Request, principal: Annotated[Principal, Depends(authenticated)]
) -> Principal:
    """The authenticated principal, within its request rate (429 + Retry-After otherwise)."""
    wait = rate_limiter_of(request.app).acquire(f"principal:{principal.name}")
    if wait > 0:
        raise _too_many(wait, f"rate limit exceeded for {principal.name!r}; retry later")
    return principal


LimitedPrincipal = Annotated[Principal, Depends(limited_principal)]
"""An authenticated principal within its request rate."""
