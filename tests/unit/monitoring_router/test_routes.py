"""The routing tree, table-driven after Alertmanager's dispatch/route_test.go."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from aigov_monitoring_router.routes import Route, compile_tree
from aigov_monitoring_router.routing_config import RouteConfig

# The tree of Alertmanager's TestRouteMatch, with `match`/`match_re` written as matchers.
TREE = """
receiver: 'notify-def'
routes:
- matchers: ['owner="team-A"']
  receiver: 'notify-A'
  routes:
  - matchers: ['env="testing"']
    receiver: 'notify-testing'
    group_by: [...]
  - matchers: ['env="production"']
    receiver: 'notify-productionA'
    group_wait: 1m
    continue: true
  - matchers: ['env=~"produ.*"', 'job=~".*"']
    receiver: 'notify-productionB'
    group_wait: 30s
    group_interval: 5m
    repeat_interval: 1h
    group_by: ['job']
- matchers: ['owner=~"team-(B|C)"']
  group_by: ['foo', 'bar']
  group_wait: 2m
  receiver: 'notify-BC'
- matchers: ['group_by="role"']
  group_by: ['role']
  routes:
  - matchers: ['env="testing"']
    receiver: 'notify-testing'
    routes:
    - matchers: ['wait="long"']
      group_wait: 2m
"""


@pytest.fixture(scope="module")
def tree() -> Route:
    """The compiled test tree."""
    return compile_tree(RouteConfig.model_validate(yaml.safe_load(TREE)))


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        # (labels, [(receiver, group_by, group_wait, group_interval, repeat_interval), ...])
        ({"owner": "team-A"}, [("notify-A", (), "30s", "5m", "4h")]),
        ({"owner": "team-A", "env": "unset"}, [("notify-A", (), "30s", "5m", "4h")]),
        ({"owner": "team-C"}, [("notify-BC", ("bar", "foo"), "2m", "5m", "4h")]),
        ({"owner": "team-A", "env": "testing"}, [("notify-testing", None, "30s", "5m", "4h")]),
        (
            {"owner": "team-A", "env": "production"},
            [
                ("notify-productionA", (), "1m", "5m", "4h"),
                ("notify-productionB", ("job",), "30s", "5m", "1h"),
            ],
        ),
        ({"group_by": "role"}, [("notify-def", ("role",), "30s", "5m", "4h")]),
        (
            {"group_by": "role", "env": "testing"},
            [("notify-testing", ("role",), "30s", "5m", "4h")],
        ),
        (
            {"group_by": "role", "env": "testing", "wait": "long"},
            [("notify-testing", ("role",), "2m", "5m", "4h")],
        ),
        ({"owner": "nobody"}, [("notify-def", (), "30s", "5m", "4h")]),
    ],
)
def test_route_match(
    tree: Route,
    labels: dict[str, str],
    expected: list[tuple[str, tuple[str, ...] | None, str, str, str]],
) -> None:
    def seconds(text: str) -> timedelta:
        unit = {"s": 1, "m": 60, "h": 3600}[text[-1]]
        return timedelta(seconds=int(text[:-1]) * unit)

    got = [
        (r.receiver, r.group_by, r.group_wait, r.group_interval, r.repeat_interval)
        for r in tree.match(labels)
    ]
    assert got == [(rc, gb, seconds(w), seconds(i), seconds(rp)) for rc, gb, w, i, rp in expected]


class TestContinue:
    def test_first_match_wins_without_continue(self) -> None:
        tree = compile_tree(
            RouteConfig.model_validate(
                {
                    "receiver": "root",
                    "routes": [
                        {"matchers": ['a="1"'], "receiver": "first"},
                        {"matchers": ['a="1"'], "receiver": "second"},
                    ],
                }
            )
        )
        assert [r.receiver for r in tree.match({"a": "1"})] == ["first"]

    def test_continue_tries_the_next_siblings(self) -> None:
        tree = compile_tree(
            RouteConfig.model_validate(
                {
                    "receiver": "root",
                    "routes": [
                        {"matchers": ['a="1"'], "receiver": "first", "continue": True},
                        {"matchers": ['b="2"'], "receiver": "skipped"},
                        {"matchers": ['a="1"'], "receiver": "second"},
                        {"matchers": ['a="1"'], "receiver": "never"},
                    ],
                }
            )
        )
        assert [r.receiver for r in tree.match({"a": "1"})] == ["first", "second"]

    def test_a_route_none_of_whose_children_match_is_the_match(self) -> None:
        tree = compile_tree(
            RouteConfig.model_validate(
                {
                    "receiver": "root",
                    "routes": [
                        {
                            "matchers": ['a="1"'],
                            "receiver": "parent",
                            "routes": [{"matchers": ['b="2"'], "receiver": "child"}],
                        }
                    ],
                }
            )
        )
        assert [r.receiver for r in tree.match({"a": "1"})] == ["parent"]
        assert [r.receiver for r in tree.match({"a": "1", "b": "2"})] == ["child"]
        assert [r.id for r in tree.match({"a": "1", "b": "2"})] == ["0.0.0"]


class TestGroupLabels:
    def test_group_by_picks_present_labels(self) -> None:
        tree = compile_tree(
            RouteConfig.model_validate({"receiver": "r", "group_by": ["system", "x"]})
        )
        assert tree.group_labels({"system": "s", "signal": "drift"}) == {"system": "s"}

    def test_ellipsis_groups_by_every_label(self) -> None:
        tree = compile_tree(RouteConfig.model_validate({"receiver": "r", "group_by": ["..."]}))
        assert tree.group_by is None
        assert tree.group_labels({"a": "1", "b": "2"}) == {"a": "1", "b": "2"}

    def test_ellipsis_mixed_with_labels_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="cannot be combined"):
            RouteConfig.model_validate({"receiver": "r", "group_by": ["...", "a"]})
