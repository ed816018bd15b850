"""The CLI installs alone on a CI runner: small dependencies, no service or event-catalog code."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

CLI = Path(__file__).resolve().parents[3] / "libs" / "cli"
ALLOWED = {"click", "httpx", "pyyaml", "defusedxml"}


def test_dependencies_are_few_and_small() -> None:
    project = tomllib.loads((CLI / "pyproject.toml").read_text())["project"]
    names = {
        dep.split(">")[0].split("=")[0].split("[")[0].strip().lower()
        for dep in project["dependencies"]
    }
    assert names == ALLOWED
    assert project["scripts"] == {"aigov": "aigov_cli.main:main"}


def test_the_source_imports_only_its_dependencies_and_the_stdlib() -> None:
    allowed_roots = {"aigov_cli", "click", "httpx", "yaml", "defusedxml"} | set(
        sys.stdlib_module_names
    )
    imported: set[str] = set()
    for path in (CLI / "src" / "aigov_cli").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    assert imported - allowed_roots == set()
    assert "click" in imported
