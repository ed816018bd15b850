"""MicroBatcher: concurrent submissions share flushes; results and errors reach the right callers."""

from __future__ import annotations

import asyncio

import pytest

from aigov_events.batching import MicroBatcher

pytestmark = pytest.mark.asyncio(loop_scope="session")


class Recorder:
    """A flush that doubles its items and remembers each batch it was given."""

    def __init__(self, *, fail_on: int | None = None, delay: float = 0.01) -> None:
        self.batches: list[list[int]] = []
        self.fail_on = fail_on
        self.delay = delay

    async def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(items)
        await asyncio.sleep(self.delay)
        if self.fail_on is not None and self.fail_on in items:
            raise ValueError(f"cannot flush {self.fail_on}")
        return [2 * i for i in items]


class TestMicroBatcher:
    async def test_an_idle_submission_is_flushed_alone_and_at_once(self) -> None:
        flush = Recorder()
        batcher = MicroBatcher(flush)
        assert await batcher.submit(3) == 6
        assert flush.batches == [[3]]

    async def test_submissions_during_a_flush_share_the_next_one(self) -> None:
        flush = Recorder(delay=0.05)
        batcher = MicroBatcher(flush)
        first = asyncio.create_task(batcher.submit(100))
        await asyncio.sleep(0.01)  # the first flush is now in flight
        results = await asyncio.gather(*(batcher.submit(i) for i in range(10)))
        assert await first == 200
        assert results == [2 * i for i in range(10)]
        assert flush.batches == [[100], list(range(10))]

    async def test_max_weight_bounds_a_batch(self) -> None:
        flush = Recorder()
        batcher: MicroBatcher[int, int] = MicroBatcher(flush, max_weight=5, weight=lambda i: i)
        await asyncio.gather(*(batcher.submit(i) for i in (1, 2, 3, 4, 5)))
        assert all(sum(b) <= 5 or len(b) == 1 for b in flush.batches)

    async def test_a_failed_flush_fails_exactly_the_callers_in_it(self) -> None:
        flush = Recorder(fail_on=1)
        batcher = MicroBatcher(flush)
        outcomes = await asyncio.gather(
            *(batcher.submit(i) for i in range(4)), return_exceptions=True
        )
        failed_batch = next(b for b in flush.batches if 1 in b)
        for item, outcome in zip(range(4), outcomes, strict=True):
            if item in failed_batch:
                assert isinstance(outcome, ValueError)
            else:
                assert outcome == 2 * item

    async def test_close_answers_everything_already_queued(self) -> None:
        flush = Recorder(delay=0.02)
        batcher = MicroBatcher(flush, max_weight=1)
        tasks = [asyncio.create_task(batcher.submit(i)) for i in range(3)]
        await asyncio.sleep(0)
        await batcher.close(RuntimeError("stopped"))
        assert all(t.done() for t in tasks)
        assert [t.result() for t in tasks] == [0, 2, 4]
