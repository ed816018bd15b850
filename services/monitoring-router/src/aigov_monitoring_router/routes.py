"""The compiled routing tree and Alertmanager's matching algorithm.

A route matches when all its matchers do; its children are tried in order and the first
that matches wins unless it has `continue: true`; a route none of whose children matched
is itself the match. Unset `receiver`, `group_by` and timings are inherited from the parent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Final

from aigov_monitoring_router.matchers import Matcher, matches_all
from aigov_monitoring_router.routing_config import RouteConfig

#: `group_by: ['...']` groups by every label (each distinct label set is its own group).
ALL_LABELS: Final = "..."

# Alertmanager's defaults for the root route.
DEFAULT_GROUP_WAIT: Final = timedelta(seconds=30)
DEFAULT_GROUP_INTERVAL: Final = timedelta(minutes=5)
DEFAULT_REPEAT_INTERVAL: Final = timedelta(hours=4)


@dataclass(frozen=True, slots=True)
class Route:
    """A route with every inherited field resolved."""

    id: str
    """Position in the tree (`0`, `0.2`, `0.2.1`); the root is `0`."""
    name: str
    """Configured name, or the id when unnamed; names the route in notifications."""
    matchers: tuple[Matcher, ...]
    receiver: str
    group_by: tuple[str, ...] | None
    """Labels that form the group; None means every label (`...`)."""
    group_wait: timedelta
    group_interval: timedelta
    repeat_interval: timedelta
    continue_: bool
    opens_incident: bool
    children: tuple[Route, ...]

    def match(self, labels: Mapping[str, str]) -> list[Route]:
        """The routes an alert with `labels` is delivered through (empty if this one misses)."""
        if not matches_all(self.matchers, labels):
            return []
        matched: list[Route] = []
        for child in self.children:
            found = child.match(labels)
            matched.extend(found)
            if found and not child.continue_:
                break
        return matched or [self]

    def group_labels(self, labels: Mapping[str, str]) -> dict[str, str]:
        """The labels that identify the alert's group on this route."""
        if self.group_by is None:
            return dict(labels)
        return {name: labels[name] for name in self.group_by if name in labels}

    def walk(self) -> list[Route]:
        """This route and all its descendants, depth first."""
        routes = [self]
        for child in self.children:
            routes.extend(child.walk())
        return routes


def compile_tree(config: RouteConfig) -> Route:
    """Resolve inheritance over the configured tree (the root gets Alertmanager's defaults)."""
    return _compile(config, route_id="0", parent=None)


def _compile(config: RouteConfig, *, route_id: str, parent: Route | None) -> Route:
    if config.group_by is None:
        group_by = parent.group_by if parent is not None else ()
    elif ALL_LABELS in config.group_by:
        group_by = None
    else:
        group_by = tuple(sorted(set(config.group_by)))
    inherited = parent
    receiver = config.receiver or (inherited.receiver if inherited else "")
    route = Route(
        id=route_id,
        name=config.name or route_id,
        matchers=config.parsed_matchers(),
        receiver=receiver,
        group_by=group_by,
        group_wait=_pick(
            config.group_wait, inherited.group_wait if inherited else None, DEFAULT_GROUP_WAIT
        ),
        group_interval=_pick(
            config.group_interval,
            inherited.group_interval if inherited else None,
            DEFAULT_GROUP_INTERVAL,
        ),
        repeat_interval=_pick(
            config.repeat_interval,
            inherited.repeat_interval if inherited else None,
            DEFAULT_REPEAT_INTERVAL,
        ),
        continue_=config.continue_,
        opens_incident=config.opens_incident,
        children=(),
    )
    children = tuple(
        _compile(child, route_id=f"{route_id}.{i}", parent=route)
        for i, child in enumerate(config.routes)
    )
    return replace(route, children=children)


def _pick(own: timedelta | None, inherited: timedelta | None, default: timedelta) -> timedelta:
    if own is not None:
        return own
    return inherited if inherited is not None else default
