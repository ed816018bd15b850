"""YAML request bodies: size-capped, bounded in alias expansion, parsed off the event loop.

One YAML body used to cost seconds of CPU on the event loop (the pure-Python parser, ~10 µs
a byte), freezing every service of the all-in-one process. Here a body is:

- refused over `AIGOV_MAX_YAML_BYTES` (413; the body-limit middleware already refuses larger
  YAML bodies unread, this check covers bodies obtained otherwise);
- composed with libyaml (`yaml.CSafeLoader`; the pure-Python `SafeLoader`, with a warning,
  when PyYAML was built without it) in a worker thread, so the loop keeps serving;
- refused when its node graph, aliases counted once per use, exceeds `AIGOV_MAX_YAML_NODES`
  (413): "billion laughs" documents expand a few hundred bytes into 10^9 values, and every
  consumer of the parsed value (hashing, validation, JSON) would walk the expansion;
- refused when an alias refers to an enclosing node (400: a recursive structure has no JSON
  form);
- answered 400 `malformed YAML: <problem> at line L, column C` when it does not parse.

A plain scalar of exactly 64 hex digits is a string, even when every digit is decimal: such
a value is a SHA-256 digest (a manifest's `sha256`), and YAML 1.1 would otherwise read
`0123…` as an integer (or `12e4…` as a float), which the digest's field then refuses.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, ClassVar, Final

import anyio
import anyio.to_thread
import yaml
from fastapi import FastAPI, Request

from aigov_runtime.errors import ProblemError
from aigov_runtime.settings import DEFAULT_MAX_YAML_BYTES, DEFAULT_MAX_YAML_NODES, ServiceSettings

__all__ = [
    "DEFAULT_MAX_YAML_BYTES",
    "DEFAULT_MAX_YAML_NODES",
    "LOADER",
    "YamlLimits",
    "load_yaml",
    "parse_yaml",
    "read_yaml",
]

logger = logging.getLogger(__name__)

LOADER: Final[type[yaml.SafeLoader] | type[yaml.CSafeLoader]] = (
    yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
)
"""The safe loader bodies are parsed with: libyaml's when PyYAML has it."""

#: A SHA-256 digest written plainly; resolved as a string before int and float are tried.
HEX_DIGEST: Final = re.compile(r"^[0-9a-fA-F]{64}$")
_STR_TAG: Final = "tag:yaml.org,2002:str"


class _BodyLoader(LOADER):  # type: ignore[valid-type,misc]
    """The loader with 64-hex-digit plain scalars resolved as strings (its own resolver table).

    Resolution runs in Python for libyaml's loader too, and the first matching resolver of a
    scalar's first character wins, so ours goes in front of int's and float's. A class of
    our own keeps `yaml.SafeLoader` (and every other user of it) unchanged.
    """

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {
        first: list(resolvers) for first, resolvers in LOADER.yaml_implicit_resolvers.items()
    }


for _first in "0123456789abcdefABCDEF":
    _BodyLoader.yaml_implicit_resolvers.setdefault(_first, []).insert(0, (_STR_TAG, HEX_DIGEST))

# Parses run in threads; a few at a time leave the GIL (and anyio's shared pool) to the rest.
_PARSERS: Final = anyio.CapacityLimiter(2)
_fallback_warned = False


@dataclass(frozen=True, slots=True)
class YamlLimits:
    """How large a YAML body may be, in bytes and in nodes after alias expansion."""

    max_bytes: int = DEFAULT_MAX_YAML_BYTES
    max_nodes: int = DEFAULT_MAX_YAML_NODES

    @classmethod
    def of(cls, app: FastAPI) -> YamlLimits:
        """The limits configured for `app` (its ServiceSettings), else the defaults."""
        settings = getattr(app.state, "settings", None)
        if isinstance(settings, ServiceSettings):
            return cls(max_bytes=settings.max_yaml_bytes, max_nodes=settings.max_yaml_nodes)
        return cls()


def _warn_if_pure_python() -> None:
    global _fallback_warned
    if LOADER is yaml.SafeLoader and not _fallback_warned:
        _fallback_warned = True
        logger.warning(
            "PyYAML has no libyaml: YAML bodies are parsed by the slow pure-Python loader "
            "(install PyYAML with libyaml for yaml.CSafeLoader)"
        )


def _expanded_size(root: yaml.Node, max_nodes: int) -> None:
    """Raise 413 when `root` expands past `max_nodes`, 400 when an alias is recursive.

    Sizes are memoised per node, so this costs one visit per distinct node however often an
    alias repeats it; an explicit stack keeps deep documents off the Python call stack.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            size = 1 + sum(sizes[id(child)] for child in _children(node))
            if size > max_nodes:
                raise ProblemError(
                    413,
                    f"the YAML document expands to more than {max_nodes} nodes (aliases "
                    "repeating large parts?); the limit is AIGOV_MAX_YAML_NODES",
                    max_nodes=max_nodes,
                )
            sizes[key] = size
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise ProblemError(400, "malformed YAML: a recursive alias (a node containing itself)")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _malformed(exc: yaml.YAMLError) -> ProblemError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return ProblemError(400, f"malformed YAML: {exc.problem}{where}")
    # ReaderError and the like: the first line names the offending byte, never the content.
    first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return ProblemError(400, f"malformed YAML: {first_line}")


def load_yaml(raw: bytes, limits: YamlLimits = YamlLimits()) -> Any:
    """One YAML document from `raw`, within `limits`, or a 400/413 ProblemError. Blocking."""
    if len(raw) > limits.max_bytes:
        raise ProblemError(
            413,
            f"YAML request body exceeds the limit of {limits.max_bytes} bytes "
            "(AIGOV_MAX_YAML_BYTES)",
            max_bytes=limits.max_bytes,
        )
    _warn_if_pure_python()
    loader = _BodyLoader(raw)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, limits.max_nodes)
        return loader.construct_document(node)
    except RecursionError:
        raise ProblemError(400, "malformed YAML: nested too deeply") from None
    except yaml.YAMLError as exc:
        raise _malformed(exc) from None
    finally:
        loader.dispose()


async def parse_yaml(raw: bytes, limits: YamlLimits = YamlLimits()) -> Any:
    """`load_yaml` in a worker thread, so the event loop keeps serving meanwhile."""
    if len(raw) > limits.max_bytes:
        # Refuse without a thread hop; load_yaml says the same.
        return load_yaml(raw, limits)
    return await anyio.to_thread.run_sync(load_yaml, raw, limits, limiter=_PARSERS)


async def read_yaml(request: Request) -> Any:
    """The request body as one YAML document, within the app's configured limits."""
    return await parse_yaml(await request.body(), YamlLimits.of(request.app))
