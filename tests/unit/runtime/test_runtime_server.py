"""serve(): the stop signal uvicorn re-raises after a graceful shutdown must not kill the process."""

from __future__ import annotations

import signal

from aigov_runtime.server import _signals_end_the_process_cleanly


def test_re_raised_stop_signals_are_absorbed_and_handlers_restored() -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    with _signals_end_the_process_cleanly() as received:
        # What uvicorn does after shutting down: raise the captured signal again.
        signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGINT)
    assert received == [signal.SIGTERM, signal.SIGINT]
    assert {sig: signal.getsignal(sig) for sig in before} == before
