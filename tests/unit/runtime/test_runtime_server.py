"""serve(): the stop signal uvicorn re-raises after a graceful shutdown must not kill the process."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
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


# A service whose lifespan says when it is up and takes `shutdown_s` to shut down.
_CHILD = """
import asyncio, sys
from contextlib import asynccontextmanager
from pathlib import Path
from starlette.applications import Starlette
from aigov_runtime.logging import configure_logging
from aigov_runtime.server import serve
from aigov_runtime.settings import ServiceSettings

port, shutdown_s, log_file = int(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3])

@asynccontextmanager
async def lifespan(app):
    yield
    await asyncio.sleep(shutdown_s)

def factory(settings):
    configure_logging(settings.log_level, "unit", log_file=settings.log_file)
    return Starlette(lifespan=lifespan)

serve(factory, ServiceSettings(http_port=port, log_file=log_file))
"""


class TestStopSignalsOfAServerProcess:
    """A real server process (uvicorn, our handlers) stopped as a terminal's Ctrl-C stops it."""

    @staticmethod
    def _start(tmp_path: Path, *, shutdown_s: float) -> tuple[subprocess.Popen[str], Path]:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        log_file = tmp_path / "server.log"
        process = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(port), str(shutdown_s), str(log_file)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return process, log_file
            except OSError:
                time.sleep(0.05)
        process.kill()
        raise AssertionError("the server did not start listening within 30 s")

    def test_one_ctrl_c_delivered_twice_says_stopped_on_sigint_once(self, tmp_path: Path) -> None:
        process, log_file = self._start(tmp_path, shutdown_s=0.0)
        # The terminal signals the process group and `uv run` forwards it: two SIGINTs, a
        # moment apart (sent at once, the kernel would merge them into one).
        process.send_signal(signal.SIGINT)
        time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert err.splitlines() == ["stopped on SIGINT"]
        assert out == "", "the log goes to the file"
        logged = [json.loads(line)["message"] for line in log_file.read_text().splitlines()]
        assert logged.count("stopped on SIGINT") == 1

    def test_a_deliberate_second_ctrl_c_forces_and_says_so(self, tmp_path: Path) -> None:
        process, _ = self._start(tmp_path, shutdown_s=3.0)
        process.send_signal(signal.SIGINT)
        time.sleep(1.5)  # past the window in which a second SIGINT is the same Ctrl-C
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
        assert err.splitlines() == [
            "forced to stop on a second SIGINT: the graceful shutdown was cut short"
        ]
