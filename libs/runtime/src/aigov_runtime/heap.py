"""The garbage collector as a batch consumer needs it: a batch's garbage dies young.

CPython's collector runs a young collection every 700 net allocations and promotes what
survives it. A consumer's batch (up to 500 records, each a decoded envelope, a payload
model, rows and an event to publish) lives through dozens of those, so its objects reach
the oldest generation and trigger full collections, each walking the whole heap: in the
tiering benchmark 29 full collections took 4.9 s of a 25 s run, about a fifth of the
CPU, charged to whatever allocated at that moment (`model_dump`, the policy's scope).
With a young threshold of 50,000 a batch's objects die in the young generations, and
`gc.freeze()` after startup takes the imports, schemas and policy packs out of the
collections still run.
"""

from __future__ import annotations

import gc
from typing import Final

__all__ = ["YOUNG_THRESHOLD", "after_startup", "before_shutdown"]

YOUNG_THRESHOLD: Final = 50_000
"""Net allocations between young collections (CPython's default is 700)."""


def after_startup() -> None:
    """Freeze what startup built and raise the young threshold.

    No `gc.collect()` first: it would cost every app start a full collection (tests start
    hundreds), and the little startup garbage it would free is returned at shutdown.
    """
    gc.freeze()
    young, middle, old = gc.get_threshold()
    if 0 < young < YOUNG_THRESHOLD:
        # 0 means collection is off (someone chose that); never turn it back on.
        gc.set_threshold(YOUNG_THRESHOLD, middle, old)


def before_shutdown() -> None:
    """Give the frozen objects back to the collector (an app stopping inside a longer process).

    Tests and the all-in-one server start and stop apps in one process; without this, the
    cycles of every stopped app would stay frozen and never be collected.
    """
    gc.unfreeze()
