"""Future-dated events, per-principal Idempotency-Keys and probe refusal, without I/O (issue 12)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aigov_events.catalog import EvaluationCompleted, MonitoringProbeCompleted
from aigov_events.message import DomainEvent, new_event
from aigov_intake.api.typed_common import issue_id, keyed_event_id, principal_key
from aigov_intake.policy import NotAcceptedHere, check_may_send
from aigov_intake.service import TooFarAhead, check_not_ahead
from aigov_intake.settings import Settings
from aigov_runtime.auth import Principal, Role

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SKEW = timedelta(minutes=5)
P = Principal(name="p", roles=frozenset({Role.PUBLISHER}))
Q = Principal(name="q", roles=frozenset({Role.PUBLISHER}))


def dated(time: datetime, event_id: str = "e-1") -> DomainEvent[Any]:
    """An evaluation event with this `time`."""
    payload = EvaluationCompleted.model_validate(EvaluationCompleted.example)
    return new_event(payload, source="/test", actor="p", event_id=event_id, time=time)


class TestFutureSkew:
    def test_within_the_skew_is_accepted(self) -> None:
        check_not_ahead([dated(NOW + SKEW)], now=NOW, max_future_skew=SKEW)

    def test_past_the_skew_names_the_event_and_how_far(self) -> None:
        with pytest.raises(TooFarAhead) as caught:
            check_not_ahead(
                [dated(NOW + timedelta(days=36525), "far-ahead")],
                now=NOW,
                max_future_skew=SKEW,
            )
        assert "'far-ahead'" in str(caught.value)
        assert "36525 days, 0:00:00 ahead" in str(caught.value)
        assert "at most 300 s ahead" in str(caught.value)

    def test_seconds_ahead_are_said_in_seconds(self) -> None:
        with pytest.raises(TooFarAhead, match="301 s ahead"):
            check_not_ahead(
                [dated(NOW + timedelta(seconds=301))],
                now=NOW,
                max_future_skew=SKEW,
            )

    def test_the_default_skew_is_five_minutes(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("AIGOV_INTAKE_MAX_FUTURE_SKEW_SECONDS", raising=False)
        assert Settings().max_future_skew == timedelta(minutes=5)
        monkeypatch.setenv("AIGOV_INTAKE_MAX_FUTURE_SKEW_SECONDS", "60")
        assert Settings().max_future_skew == timedelta(minutes=1)


class TestIdempotencyKeys:
    def test_one_principals_retries_share_an_event_id(self) -> None:
        first = keyed_event_id(endpoint_source="/e", principal=P, idempotency_key="k")
        assert first == keyed_event_id(endpoint_source="/e", principal=P, idempotency_key="k")

    def test_principals_and_endpoints_do_not_share_ids(self) -> None:
        ids = {
            keyed_event_id(endpoint_source=source, principal=principal, idempotency_key="k")
            for source in ("/a", "/b")
            for principal in (P, Q)
        }
        assert len(ids) == 4

    def test_issued_ids_are_scoped_the_same_way(self) -> None:
        def issued(principal: Principal) -> str:
            return issue_id(
                "W", endpoint_source="/w", idempotency_key=principal_key(principal, "k")
            )

        assert issued(P) == issued(P)
        assert issued(P) != issued(Q)
        assert principal_key(P, None) is None


class TestProbes:
    @pytest.mark.parametrize("role", list(Role))
    def test_no_client_may_send_a_probe_result(self, role: Role) -> None:
        principal = Principal(name="x", roles=frozenset({role}))
        with pytest.raises(NotAcceptedHere, match="produced by aigov's own services"):
            check_may_send(principal, MonitoringProbeCompleted)
