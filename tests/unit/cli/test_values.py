"""Durations, expiry times and metric files given on the command line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aigov_cli.errors import CliError
from aigov_cli.metrics import merge, metrics_from_document, with_directions
from aigov_cli.values import parse_duration, parse_expiry

NOW = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)


class TestDurations:
    @pytest.mark.parametrize(
        ("text", "seconds"),
        [
            ("90", 90.0),
            ("90s", 90.0),
            ("2m", 120.0),
            ("1.5h", 5400.0),
            ("30d", 2592000.0),
            ("500ms", 0.5),
        ],
    )
    def test_units(self, text: str, seconds: float) -> None:
        assert parse_duration(text) == seconds

    @pytest.mark.parametrize("text", ["", "soon", "-5s", "5 minutes"])
    def test_refused(self, text: str) -> None:
        with pytest.raises(ValueError, match="is not a duration"):
            parse_duration(text)


class TestExpiry:
    def test_a_duration_from_now(self) -> None:
        assert parse_expiry("30d", now=NOW) == "2026-12-26T17:00:00+00:00"

    def test_a_time_with_zone(self) -> None:
        assert parse_expiry("2026-12-26T00:00:00Z") == "2026-12-26T00:00:00+00:00"

    def test_a_time_without_zone_is_refused(self) -> None:
        with pytest.raises(ValueError, match="has no time zone"):
            parse_expiry("2026-12-26T00:00:00")


class TestMetricFiles:
    def test_the_three_shapes(self) -> None:
        objects = [{"name": "a", "value": 1, "higher_is_better": True}]
        assert metrics_from_document(objects, where="m") == (objects, [])
        assert metrics_from_document({"metrics": objects}, where="m") == (objects, [])
        assert metrics_from_document({"a": 1}, where="m") == ([], [("a", 1)])

    def test_objects_need_name_and_value(self) -> None:
        with pytest.raises(CliError, match=r"m: metrics\[0\] must be an object with name, value"):
            metrics_from_document([{"value": 1}], where="m")

    def test_values_must_be_finite_numbers(self) -> None:
        with pytest.raises(CliError, match="'high' is not a number"):
            with_directions([("a", "high")], higher=["a"], lower=[], where="m")
        with pytest.raises(CliError, match="not a finite number"):
            with_directions([("a", "nan")], higher=["a"], lower=[], where="m")

    def test_a_metric_cannot_point_both_ways(self) -> None:
        with pytest.raises(CliError, match="given both"):
            with_directions([("a", 1)], higher=["a"], lower=["a"], where="m")

    def test_later_sources_replace_earlier_ones_by_name(self) -> None:
        merged = merge(
            [{"name": "a", "value": 1}, {"name": "b", "value": 2}], [{"name": "a", "value": 3}]
        )
        assert merged == [{"name": "b", "value": 2}, {"name": "a", "value": 3}]
