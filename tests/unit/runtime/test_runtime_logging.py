"""JSON log lines: shape, trace correlation, redaction, uvicorn routing, reconfiguration."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from opentelemetry import trace

from aigov_runtime.logging import configure_logging
from aigov_runtime.telemetry import configure_tracing

LogLines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """Route our managed handler to a buffer; put the root logger back afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    buffer = io.StringIO()
    configure_logging("INFO", "unit", stream=buffer)
    yield buffer
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


def parsed(buffer: io.StringIO) -> list[dict[str, Any]]:
    """Every line must be one JSON object."""
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


class TestLineShape:
    def test_one_json_object_per_line_with_the_standard_fields(self, stream: io.StringIO) -> None:
        logging.getLogger("aigov.test").info("hello %s", "world", extra={"system_id": "sys-1"})
        (line,) = parsed(stream)
        assert line["message"] == "hello world"
        assert line["level"] == "INFO"
        assert line["logger"] == "aigov.test"
        assert line["service"] == "unit"
        assert line["system_id"] == "sys-1"
        assert line["ts"].endswith("Z")
        assert datetime.fromisoformat(line["ts"]).utcoffset() is not None
        assert "trace_id" not in line

    def test_trace_and_span_ids_come_from_the_current_span(self, stream: io.StringIO) -> None:
        configure_tracing("unit")
        tracer = trace.get_tracer("unit-test")
        with tracer.start_as_current_span("work") as span:
            logging.getLogger("aigov.test").info("inside")
            context = span.get_span_context()
        (line,) = parsed(stream)
        assert line["trace_id"] == format(context.trace_id, "032x")
        assert line["span_id"] == format(context.span_id, "016x")
        assert len(line["trace_id"]) == 32

    def test_exception_text_is_included(self, stream: io.StringIO) -> None:
        try:
            raise ValueError("broken invariant")
        except ValueError:
            logging.getLogger("aigov.test").exception("failed")
        (line,) = parsed(stream)
        assert "ValueError: broken invariant" in line["exception"]
        assert "Traceback" in line["exception"]

    def test_multiline_messages_stay_on_one_line(self, stream: io.StringIO) -> None:
        logging.getLogger("aigov.test").warning("first\nsecond")
        (line,) = parsed(stream)
        assert line["message"] == "first\nsecond"

    def test_levels_below_the_configured_one_are_dropped(self, stream: io.StringIO) -> None:
        logging.getLogger("aigov.test").debug("noise")
        assert parsed(stream) == []


class TestRedaction:
    TOKEN = "s3cr3t-T0ken-value-123456"

    def test_sensitive_extra_fields_are_masked(self, stream: io.StringIO) -> None:
        logging.getLogger("aigov.test").info(
            "webhook received",
            extra={
                "token": self.TOKEN,
                "headers": {
                    "Authorization": f"Bearer {self.TOKEN}",
                    "X-Hub-Signature-256": "sha256=abc",
                },
                "system_id": "sys-1",
            },
        )
        (line,) = parsed(stream)
        assert self.TOKEN not in json.dumps(line)
        assert "sha256=abc" not in json.dumps(line)
        assert line["token"] == "[REDACTED]"
        assert line["headers"]["Authorization"] == "[REDACTED]"
        assert line["system_id"] == "sys-1"

    def test_bearer_tokens_in_messages_and_args_are_masked(self, stream: io.StringIO) -> None:
        log = logging.getLogger("aigov.test")
        log.info(f"got header Authorization: Bearer {self.TOKEN}")
        log.info("calling with %s", f"bearer {self.TOKEN}")
        log.info("url http://x/hook?token=%s&system=a", self.TOKEN)
        log.info("dsn postgresql://aigov:%s@db/aigov", self.TOKEN)
        lines = parsed(stream)
        assert len(lines) == 4
        for line in lines:
            assert self.TOKEN not in line["message"]
            assert "[REDACTED]" in line["message"]
        assert "system=a" in lines[2]["message"]

    def test_exception_text_is_masked(self, stream: io.StringIO) -> None:
        try:
            raise RuntimeError(f"upstream rejected Bearer {self.TOKEN}")
        except RuntimeError:
            logging.getLogger("aigov.test").exception("call failed")
        (line,) = parsed(stream)
        assert self.TOKEN not in line["exception"]


class TestUvicornAndReconfiguration:
    def test_uvicorn_access_log_uses_our_format_with_fields(self, stream: io.StringIO) -> None:
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "10.0.0.1:5000", "GET", "/readyz?token=abc", "1.1", 200
        )
        (line,) = parsed(stream)
        assert line["logger"] == "uvicorn.access"
        assert line["http.method"] == "GET"
        assert line["http.status_code"] == 200
        assert line["http.target"] == "/readyz?token=[REDACTED]"
        assert "abc" not in line["message"]

    def test_uvicorn_own_handlers_are_removed(self) -> None:
        uvicorn_error = logging.getLogger("uvicorn.error")
        uvicorn_error.addHandler(logging.NullHandler())
        uvicorn_error.propagate = False
        root = logging.getLogger()
        saved_handlers, saved_level = list(root.handlers), root.level
        try:
            configure_logging("INFO", "unit", stream=io.StringIO())
            assert uvicorn_error.handlers == []
            assert uvicorn_error.propagate is True
        finally:
            root.handlers[:] = saved_handlers
            root.setLevel(saved_level)

    def test_configuring_twice_keeps_one_handler(self, stream: io.StringIO) -> None:
        second = io.StringIO()
        configure_logging("INFO", "unit", stream=second)
        logging.getLogger("aigov.test").info("once")
        assert parsed(stream) == []
        assert len(parsed(second)) == 1


class TestLogFile:
    """`AIGOV_LOG_FILE`: JSON lines to the file, nothing on stdout, errors also on stderr."""

    def test_lines_go_to_the_file_and_errors_also_to_stderr(
        self, tmp_path: Any, capsys: pytest.CaptureFixture[str]
    ) -> None:
        root = logging.getLogger()
        saved_handlers, saved_level = list(root.handlers), root.level
        log_file = tmp_path / "logs" / "aigov.log"
        try:
            configure_logging("INFO", "unit", log_file=log_file)
            logging.getLogger("aigov.test").info("started on port %d", 8080)
            logging.getLogger("aigov.test").error("port taken, token=%s", "Bearer abc.def.ghi")
            for handler in root.handlers:
                handler.flush()
        finally:
            for handler in list(root.handlers):
                if handler not in saved_handlers:
                    handler.close()
            root.handlers[:] = saved_handlers
            root.setLevel(saved_level)
        lines = [json.loads(line) for line in log_file.read_text().splitlines()]
        assert lines[0]["message"] == "started on port 8080"
        assert lines[1]["level"] == "ERROR"
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.startswith("error: port taken")
        assert f"(details: {log_file})" in captured.err
        assert "abc.def.ghi" not in captured.err
        assert "started on port" not in captured.err

    def test_an_empty_setting_means_stdout(self) -> None:
        from aigov_runtime.settings import ServiceSettings

        assert ServiceSettings(log_file="").log_file is None  # type: ignore[arg-type]
