"""Label matchers, table-driven after Alertmanager's pkg/labels tests."""

from __future__ import annotations

import pytest

from aigov_monitoring_router.label_regex import DEFAULT_MAX_PATTERN_CHARS
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


class TestLinearTime:
    """Regexes run on RE2 (as Go's regexp in Alertmanager): no backtracking, no ReDoS."""

    # `(a|aa)+` has exponentially many ways to split a run of `a`s: Python's backtracking
    # `re` takes 0.27 s for 32 characters and doubles about every 1.5 more.
    CATASTROPHIC = 'x=~"(a|aa)+"'

    @pytest.mark.timeout(5)
    def test_catastrophic_pattern_on_10000_chars_finishes(self) -> None:
        matcher = parse_matcher(self.CATASTROPHIC)
        assert matcher.matches({"x": "a" * 10_000 + "b"}) is False
        assert matcher.matches({"x": "a" * 10_000}) is True

    @pytest.mark.timeout(5)
    def test_nested_quantifier_on_10000_chars_finishes(self) -> None:
        matcher = parse_matcher('x=~"(a+)+$"')
        assert matcher.matches({"x": "a" * 10_000 + "!"}) is False

    @pytest.mark.parametrize(
        ("pattern", "why"),
        [
            (r"(a)\\1", "backreference"),
            ("(?=a)a", "lookahead"),
            ("(?<!a)b", "lookbehind"),
            ("a{1001}", "repetition over RE2's limit"),
        ],
    )
    def test_patterns_re2_cannot_run_in_linear_time_are_refused(
        self, pattern: str, why: str
    ) -> None:
        with pytest.raises(ValueError, match="invalid regular expression"):
            parse_matcher(f'x=~"{pattern}"')

    def test_dollar_does_not_match_before_a_trailing_newline(self) -> None:
        # Go's (and RE2's) `$` is the end of the text; Python's also matches before a final \n.
        assert parse_matcher('signal=~"drift"').matches({"signal": "drift\n"}) is False


class TestPatternLimits:
    def test_default_cap(self) -> None:
        assert DEFAULT_MAX_PATTERN_CHARS == 1024
        parse_matcher('x=~"' + "a" * DEFAULT_MAX_PATTERN_CHARS + '"')
        with pytest.raises(ValueError, match=r"longer than 1024 characters"):
            parse_matcher('x=~"' + "a" * (DEFAULT_MAX_PATTERN_CHARS + 1) + '"')

    def test_configurable_cap_names_the_matcher(self) -> None:
        with pytest.raises(ValueError, match=r"x=~.*longer than 8 characters"):
            parse_matcher('x=~"abcdefghi"', max_pattern_chars=8)
        assert parse_matcher('x=~"abcdefgh"', max_pattern_chars=8).value == "abcdefgh"

    def test_equality_values_are_not_regexes(self) -> None:
        # Only regexes cost matching time; `=` values are compared as strings.
        assert parse_matcher('x="' + "a" * 2000 + '"', max_pattern_chars=8).value == "a" * 2000

    def test_pattern_cannot_escape_the_anchors(self) -> None:
        # `^(?:a)|(b)$` would match any value starting with a; the bare pattern must parse.
        with pytest.raises(ValueError, match="invalid regular expression"):
            parse_matcher('x=~"a)|(b"')
