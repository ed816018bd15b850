"""A plain 64-hex-digit scalar is a string, even when all its digits are decimal.

YAML 1.1 reads `0123…` (64 digits) as an integer; a manifest's `sha256` written so was
refused as "not a string". The one YAML parser (`aigov_runtime.yaml_body`) resolves such
scalars as strings, with libyaml's loader as with the pure-Python one.
"""

from __future__ import annotations

import re

import pytest
import yaml

from aigov_events.catalog.manifest import AISystemManifest
from aigov_runtime.yaml_body import LOADER, load_yaml
from tests.fixtures import SYSTEMS

ALL_DIGITS = "1234567890" * 6 + "1234"
LEADING_ZERO = "0" + "9876543210" * 6 + "987"
DIGITS_AND_ONE_E = "1" * 30 + "e" + "2" * 33  # a float to YAML 1.1, a digest to us


def manifest_with_sha256(digest: str) -> bytes:
    """The support-summarizer example manifest with its prompt template's sha256 replaced."""
    text = (SYSTEMS / "support-summarizer.yaml").read_text()
    replaced, count = re.subn(r"(sha256: )[0-9a-f]{64}", rf"\g<1>{digest}", text)
    assert count == 1
    return replaced.encode()


def test_libyaml_is_the_loader_under_test() -> None:
    assert LOADER is yaml.CSafeLoader


@pytest.mark.parametrize("digest", [ALL_DIGITS, LEADING_ZERO, DIGITS_AND_ONE_E])
def test_an_all_digit_sha256_is_the_string_written(digest: str) -> None:
    assert len(digest) == 64
    # Without the resolver YAML reads it as a number, which the manifest refuses.
    assert not isinstance(yaml.load(manifest_with_sha256(digest), Loader=LOADER), str)
    document = load_yaml(manifest_with_sha256(digest))
    template = document["spec"]["genai"]["promptTemplates"][0]
    assert template["sha256"] == digest
    manifest = AISystemManifest.model_validate(document)
    assert manifest.spec.genai is not None
    assert manifest.spec.genai.prompt_templates[0].sha256 == digest


def test_other_scalars_resolve_as_before() -> None:
    document = load_yaml(
        b"count: 12\nlong: " + b"1" * 63 + b"\nhex: 0x1f\nflag: true\nratio: 0.5\n"
        b"digest: " + b"ab" * 32 + b"\nquoted: '" + b"1" * 64 + b"'\n"
    )
    assert document == {
        "count": 12,
        "long": int("1" * 63),
        "hex": 31,
        "flag": True,
        "ratio": 0.5,
        "digest": "ab" * 32,
        "quoted": "1" * 64,
    }


def test_yaml_safe_loader_itself_is_unchanged() -> None:
    assert yaml.safe_load("a: " + ALL_DIGITS) == {"a": int(ALL_DIGITS)}
