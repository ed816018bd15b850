"""A failing receiver is reported once: log transitions and metrics of `ReceiverHealth`."""

from __future__ import annotations

import logging
import uuid

import pytest
from prometheus_client import REGISTRY

from aigov_monitoring_router.receiver_health import ReceiverHealth
from aigov_monitoring_router.receivers import AttemptResult

FAILED = AttemptResult(
    ok=False, retryable=True, status_code=503, error="HTTP 503 from hooks.example.com: token=abc"
)
SENT = AttemptResult(ok=True, status_code=200)


def sample(name: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value


def records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "aigov_monitoring_router.receiver_health"]


def test_many_failures_one_warning_then_one_recovery(caplog: pytest.LogCaptureFixture) -> None:
    receiver = f"hook-{uuid.uuid4().hex[:8]}"  # metrics are process-wide: a name of our own
    health = ReceiverHealth()
    with caplog.at_level(logging.DEBUG, logger="aigov_monitoring_router.receiver_health"):
        for _ in range(20):
            health.observe(receiver, "webhook", "failed", FAILED)
    [warning] = [r for r in records(caplog) if r.levelno >= logging.INFO]
    assert warning.levelno == logging.WARNING
    message = warning.getMessage()
    assert receiver in message
    assert "webhook" in message
    assert "HTTP 503 from hooks.example.com" in message
    assert "abc" not in message  # the log redaction applies to the error
    assert sample("aigov_router_receiver_up", receiver=receiver) == 0
    assert sample("aigov_router_delivery_attempts_total", receiver=receiver, outcome="failed") == 20
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="aigov_monitoring_router.receiver_health"):
        health.observe(receiver, "webhook", "sent", SENT)
        health.observe(receiver, "webhook", "sent", SENT)
    [recovered] = records(caplog)
    assert recovered.levelno == logging.INFO
    assert receiver in recovered.getMessage()
    assert sample("aigov_router_receiver_up", receiver=receiver) == 1
    assert sample("aigov_router_delivery_attempts_total", receiver=receiver, outcome="sent") == 2


def test_healthy_receiver_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    receiver = f"inbox-{uuid.uuid4().hex[:8]}"
    with caplog.at_level(logging.DEBUG, logger="aigov_monitoring_router.receiver_health"):
        ReceiverHealth().observe(receiver, "inbox", "sent", SENT)
    assert records(caplog) == []
    assert sample("aigov_router_receiver_up", receiver=receiver) == 1


def test_null_receiver_has_no_health() -> None:
    receiver = f"null-{uuid.uuid4().hex[:8]}"
    health = ReceiverHealth()
    health.observe(receiver, "webhook", "dropped", SENT)
    assert health.state(receiver).value == "unknown"
    assert REGISTRY.get_sample_value("aigov_router_receiver_up", {"receiver": receiver}) is None
    assert sample("aigov_router_delivery_attempts_total", receiver=receiver, outcome="dropped") == 1
