"""Label matchers, table-driven after Alertmanager's pkg/labels tests."""

from __future__ import annotations

import pytest

from aigov_monitoring_router.matchers import MatchType, parse_matcher


class TestParse:
    @pytest.mark.parametrize(
        ("text", "name", "op", "value"),
        [
            ('tier="high"', "tier", MatchType.EQUAL, "high"),
            ("tier=high", "tier", MatchType.EQUAL, "high"),
            ('tier != "low"', "tier", MatchType.NOT_EQUAL, "low"),
            ('signal=~"drift|safety"', "signal", MatchType.REGEX, "drift|safety"),
            ('signal!~"dr.*"', "signal", MatchType.NOT_REGEX, "dr.*"),
            ('team=""', "team", MatchType.EQUAL, ""),
            ("team=", "team", MatchType.EQUAL, ""),
            (r'summary="say \"hi\""', "summary", MatchType.EQUAL, 'say "hi"'),
        ],
    )
    def test_valid(self, text: str, name: str, op: MatchType, value: str) -> None:
        matcher = parse_matcher(text)
        assert (matcher.name, matcher.type, matcher.value) == (name, op, value)

    @pytest.mark.parametrize(
        "text", ["tier", '="high"', 'tier=="high"', '1tier="x"', 'signal=~"("', 'a~"b"']
    )
    def test_invalid(self, text: str) -> None:
        with pytest.raises(ValueError, match=r"matcher|regular expression"):
            parse_matcher(text)

    def test_round_trips_through_str(self) -> None:
        matcher = parse_matcher(r'summary=~"a\"b.*"')
        assert parse_matcher(str(matcher)) == matcher


class TestMatches:
    @pytest.mark.parametrize(
        ("text", "labels", "expected"),
        [
            ('tier="high"', {"tier": "high"}, True),
            ('tier="high"', {"tier": "highest"}, False),
            ('tier="high"', {}, False),
            ('tier=""', {}, True),  # a missing label is the empty value
            ('tier=""', {"tier": "x"}, False),
            ('tier!="high"', {}, True),
            ('tier!="high"', {"tier": "high"}, False),
            ('signal=~"drift|safety"', {"signal": "safety"}, True),
            # Anchored: a regex must match the whole value, as in Alertmanager.
            ('signal=~"drift"', {"signal": "data_drift"}, False),
            ('signal=~"drift"', {"signal": "drift2"}, False),
            ('signal=~".*drift"', {"signal": "data_drift"}, True),
            ('signal=~"a|b"', {"signal": "ab"}, False),
            ('signal!~"drift|safety"', {"signal": "bias"}, True),
            ('signal!~"drift|safety"', {"signal": "drift"}, False),
            ('signal!~".+"', {}, True),
            ('signal=~".*"', {}, True),
        ],
    )
    def test_table(self, text: str, labels: dict[str, str], expected: bool) -> None:
        assert parse_matcher(text).matches(labels) is expected
