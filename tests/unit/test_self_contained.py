"""A clone of the repository is all it takes: nothing reads data from outside the checkout.

The test data once lived in a folder beside the repository, which a user who clones it does
not have; it is vendored now (`tests/fixtures/corpus/`, `examples/`), and these tests keep it
that way and keep the vendored corpus byte for byte what its SOURCES.md says was published.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path
from typing import Final

import pytest

from aigov_intake.api import typed_examples
from tests.fixtures import CORPUS, EXAMPLES, REPO_ROOT

# Spelled in pieces so that this file does not match what it searches for.
_SIBLING: Final = "shared"
OUTSIDE_READS: Final = re.compile(
    rb"|".join(
        (
            rb"\.\./" + _SIBLING.encode(),  # the folder beside the repository
            rb"/work/" + _SIBLING.encode(),  # the same folder, by absolute path
            rb"""/\s*["']""" + _SIBLING.encode() + rb"""["']""",  # `.parent / "<it>"`
        )
    )
)
#: Not part of a checkout: what the .gitignore keeps out (used when there is no .git).
UNTRACKED_DIRS: Final = frozenset(
    {
        ".git",
        ".venv",
        ".local",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".hypothesis",
        ".aigov",
        "target",
        ".scratch",
        "htmlcov",
    }
)


def repository_files() -> list[Path]:
    """Every file a commit of this tree would hold: git's view, or the tree minus ignored dirs."""
    git = shutil.which("git")
    if git is not None and (REPO_ROOT / ".git").exists():
        listed = subprocess.run(
            [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO_ROOT,
            check=True,
            capture_output=True,
        ).stdout
        paths = [REPO_ROOT / name for name in listed.decode().split("\0") if name]
        return [path for path in paths if path.is_file()]  # listed, but deleted in the tree
    # A copy without git metadata (a source archive, a plain copy of the tree).
    return [
        path
        for path in REPO_ROOT.rglob("*")
        if path.is_file() and not UNTRACKED_DIRS.intersection(path.relative_to(REPO_ROOT).parts)
    ]


class TestNothingOutsideTheCheckout:
    def test_the_file_list_is_the_repository(self) -> None:
        files = {path.relative_to(REPO_ROOT).as_posix() for path in repository_files()}
        assert {"pyproject.toml", "examples/README.md", "tests/fixtures/corpus/SOURCES.md"} <= files

    def test_no_file_refers_to_the_folder_beside_the_repository(self) -> None:
        offenders = [
            f"{path.relative_to(REPO_ROOT)}:{line}"
            for path in repository_files()
            for line, text in enumerate(path.read_bytes().splitlines(), start=1)
            if OUTSIDE_READS.search(text)
        ]
        assert offenders == [], "these lines read data from outside the repository"


class TestExamplesLocation:
    def test_the_code_reads_the_repository_examples(self) -> None:
        assert typed_examples.examples_dir() == EXAMPLES

    def test_there_is_one_copy_of_the_examples(self) -> None:
        copies = [
            path.parent
            for path in repository_files()
            if path.name == "waiver-request.json" and path.parent.name == "requests"
        ]
        assert copies == [EXAMPLES / "requests"]


def integrity_table() -> dict[str, tuple[int, str]]:
    """SOURCES.md's integrity table: corpus path -> (size in bytes, sha256)."""
    text = (CORPUS / "SOURCES.md").read_text("utf-8")
    rows = re.findall(r"^\| ([\w/.-]+\.json) \| (\d+) \| \w+ \| ([0-9a-f]{64}) \|$", text, re.M)
    return {path: (int(size), digest) for path, size, digest in rows}


class TestVendoredCorpus:
    def test_every_listed_payload_is_there(self) -> None:
        present = {path.relative_to(CORPUS).as_posix() for path in CORPUS.rglob("*.json")}
        folders = {relative.split("/")[0] for relative in present}
        assert folders == {
            "alertmanager",
            "cdevents",
            "cloudevents",
            "github",
            "mlflow",
            "openlineage",
        }
        assert set(integrity_table()) == present

    @pytest.mark.parametrize(
        "relative", sorted(integrity_table()), ids=lambda relative: str(relative)
    )
    def test_bytes_are_the_published_ones(self, relative: str) -> None:
        size, digest = integrity_table()[relative]
        raw = (CORPUS / relative).read_bytes()
        assert (len(raw), hashlib.sha256(raw).hexdigest()) == (size, digest)
