"""One `/metrics` for the four services: their registries merged into one exposition.

Each service app keeps its own registry (its HTTP metrics plus the process-wide default
registry). Merged, the process-wide families would appear four times; samples are kept
once per (name, labels). Services never serve the same route and method, so their HTTP
samples never collide.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector


class MergedCollector(Collector):
    """Collects the families of several registries, each sample once."""

    def __init__(self, registries: Sequence[CollectorRegistry]) -> None:
        self._registries = list(registries)

    def collect(self) -> Iterable[Metric]:
        """Every family of every registry, merged by name, duplicate samples dropped."""
        families: dict[str, Metric] = {}
        seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
        for registry in self._registries:
            for family in registry.collect():
                merged = families.get(family.name)
                if merged is None:
                    merged = families[family.name] = Metric(
                        family.name, family.documentation, family.type, family.unit
                    )
                for sample in family.samples:
                    key = (sample.name, tuple(sorted(sample.labels.items())))
                    if key not in seen:
                        seen.add(key)
                        merged.samples.append(sample)
        return list(families.values())


def merged_registry(registries: Sequence[CollectorRegistry]) -> CollectorRegistry:
    """A registry exposing the merge of `registries`."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MergedCollector(registries))
    return registry
