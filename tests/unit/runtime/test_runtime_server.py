"""serve(): the stop signal uvicorn re-raises after a graceful shutdown must not kill the process."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from aigov_runtime.server import _signals_end_the_process_cleanly


def test_re_raised_stop_signals_are_absorbed_and_handlers_restored() -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    with _signals_end_the_process_cleanly() as received:
        # What uvicorn does after shutting down: raise the captured signal again.
        signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGINT)
    assert received == [signal.SIGTERM, signal.SIGINT]
    assert {sig: signal.getsignal(sig) for sig in before} == before


class TestOneCtrlC:
    """A Ctrl-C reaches the server twice (the terminal's process group, and `uv run` forwarding
    it); uvicorn alone would take the second for "force quit" and skip the graceful shutdown."""

    @staticmethod
    def _server() -> Any:
        import uvicorn

        from aigov_runtime import server as server_module

        async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
            raise AssertionError("not served")

        return server_module._Server(uvicorn.Config(app))

    def test_the_same_ctrl_c_delivered_twice_stops_gracefully_once(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:

        clock = iter([100.0, 100.01])
        monkeypatch.setattr("aigov_runtime.server.time.monotonic", lambda: next(clock))
        server = self._server()
        server.handle_exit(signal.SIGINT, None)
        server.handle_exit(signal.SIGINT, None)
        assert server.should_exit is True
        assert server.force_exit is False
        assert server._captured_signals == [signal.SIGINT]

    def test_a_deliberate_second_ctrl_c_still_forces(self, monkeypatch: pytest.MonkeyPatch) -> None:

        clock = iter([100.0, 103.0])
        monkeypatch.setattr("aigov_runtime.server.time.monotonic", lambda: next(clock))
        server = self._server()
        server.handle_exit(signal.SIGINT, None)
        server.handle_exit(signal.SIGINT, None)
        assert server.force_exit is True
