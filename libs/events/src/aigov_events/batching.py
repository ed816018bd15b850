"""Coalescing concurrent calls into batches, without timers and without added latency.

A caller submits an item and awaits its result. If no flush is running, one starts at
once with what is queued (so an idle system answers as fast as an unbatched one); items
submitted while a flush is in flight wait for it and then go out together in the next
flush. Under load, batches grow by themselves to match how long a flush takes: the
classic group-commit pattern, used for Kafka transactions and database writes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class MicroBatcher(Generic[T, R]):
    """Runs `flush(items) -> results` (one result per item, same order) on batches of items."""

    def __init__(
        self,
        flush: Callable[[list[T]], Awaitable[Sequence[R]]],
        *,
        max_weight: int = 1000,
        weight: Callable[[T], int] = lambda _: 1,
    ) -> None:
        self._flush = flush
        self._max_weight = max_weight
        self._weight = weight
        self._queue: deque[tuple[T, asyncio.Future[R]]] = deque()
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """Queue `item` and wait for its result (or the exception of its batch's flush)."""
        waiter: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, waiter))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await waiter

    def _next_batch(self) -> list[tuple[T, asyncio.Future[R]]]:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        total = 0
        while self._queue:
            weight = self._weight(self._queue[0][0])
            if batch and total + weight > self._max_weight:
                break
            batch.append(self._queue.popleft())
            total += weight
        return batch

    async def _drain(self) -> None:
        while self._queue:
            batch = self._next_batch()
            # Callers that gave up (cancelled) are dropped before the flush, not after.
            batch = [(item, waiter) for item, waiter in batch if not waiter.done()]
            if not batch:
                continue
            try:
                results = await self._flush([item for item, _ in batch])
            except Exception as exc:
                for _, waiter in batch:
                    if not waiter.done():
                        waiter.set_exception(exc)
                continue
            for (_, waiter), result in zip(batch, results, strict=True):
                if not waiter.done():
                    waiter.set_result(result)

    async def close(self, error: Exception) -> None:
        """Flush everything already queued; fail with `error` anything the worker left behind."""
        if self._worker is not None and not self._worker.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(self._worker)
        while self._queue:
            _, waiter = self._queue.popleft()
            if not waiter.done():
                waiter.set_exception(error)
