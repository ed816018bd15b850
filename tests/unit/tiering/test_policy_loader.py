"""Loading a policy pack: validation errors name file, line and field; the hash tracks meaning."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from aigov_tiering.policy import PolicyError, load_pack
from aigov_tiering.policy.location import default_policy_dir
from aigov_tiering.settings import Settings
from tests.unit.tiering.helpers import DEFAULT_PACK, default_pack


def copy_pack(tmp_path: Path) -> Path:
    target = tmp_path / "pack"
    shutil.copytree(DEFAULT_PACK, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), "utf-8")


def line_of(path: Path, needle: str) -> int:
    return next(
        n for n, line in enumerate(path.read_text("utf-8").splitlines(), 1) if needle in line
    )


class TestDefaultPack:
    def test_loads_with_a_control_library_of_at_least_30(self) -> None:
        pack = default_pack()
        assert pack.ref.name == "default"
        assert re.fullmatch(r"[0-9a-f]{64}", pack.ref.sha256)
        assert len(pack.controls) >= 30
        assert pack.version_label == f"{pack.ref.version}+sha256.{pack.ref.sha256[:12]}"

    def test_every_control_maps_to_all_three_frameworks(self) -> None:
        for compiled in default_pack().controls.values():
            frameworks = compiled.control.frameworks
            assert frameworks.nist_ai_rmf
            assert frameworks.eu_ai_act
            assert frameworks.iso_42001

    def test_is_the_settings_default(self) -> None:
        assert default_policy_dir() == DEFAULT_PACK
        assert Settings.model_construct().policy_directory() == DEFAULT_PACK
        assert Settings(policy_dir=Path("/elsewhere")).policy_directory() == Path("/elsewhere")


class TestHash:
    def test_comments_and_layout_do_not_change_the_hash(self, tmp_path: Path) -> None:
        pack = copy_pack(tmp_path)
        text = (pack / "evaluation.yaml").read_text("utf-8")
        (pack / "evaluation.yaml").write_text("# a new comment\n\n" + text, "utf-8")
        assert load_pack(pack).ref == default_pack().ref

    def test_a_threshold_change_changes_the_hash_not_the_declared_version(
        self, tmp_path: Path
    ) -> None:
        pack = copy_pack(tmp_path)
        edit(pack / "evaluation.yaml", "thresholds: {high: 0.05,", "thresholds: {high: 0.04,")
        loaded = load_pack(pack)
        assert loaded.ref.version == default_pack().ref.version
        assert loaded.ref.sha256 != default_pack().ref.sha256


class TestErrors:
    def test_cel_syntax_error_names_file_line_and_field(self, tmp_path: Path) -> None:
        pack = copy_pack(tmp_path)
        edit(
            pack / "tier-rules.yaml",
            "when: size(spec.useCase.annexIII) > 0",
            "when: size(spec.useCase.annexIII) >",
        )
        with pytest.raises(PolicyError) as raised:
            load_pack(pack)
        [problem] = raised.value.problems
        assert problem.file == "tier-rules.yaml"
        assert problem.line == line_of(
            pack / "tier-rules.yaml", "when: size(spec.useCase.annexIII) >"
        )
        assert problem.field == "rules.1.when"
        assert "invalid CEL expression" in problem.message

    def test_expression_reading_an_unknown_field_fails_at_load(self, tmp_path: Path) -> None:
        pack = copy_pack(tmp_path)
        edit(
            pack / "tier-rules.yaml",
            "when: spec.users.public || spec.users.includesMinors",
            "when: spec.users.everyone",
        )
        with pytest.raises(PolicyError) as raised:
            load_pack(pack)
        assert any(
            p.file == "tier-rules.yaml" and p.field.endswith(".when") and "everyone" in p.message
            for p in raised.value.problems
        ), raised.value

    def test_schema_errors_name_every_field(self, tmp_path: Path) -> None:
        pack = copy_pack(tmp_path)
        edit(pack / "evaluation.yaml", 'op: "<="', 'op: "<"')
        edit(
            pack / "controls.yaml",
            "objective: Users and reviewers",
            "objectiv: Users and reviewers",
        )
        with pytest.raises(PolicyError) as raised:
            load_pack(pack)
        where = {(p.file, p.field) for p in raised.value.problems}
        assert ("evaluation.yaml", "metrics.toxicity_rate.op") in where
        assert ("controls.yaml", "controls.0.objectiv") in where
        assert ("controls.yaml", "controls.0.objective") in where
        message = str(raised.value)
        line = line_of(pack / "evaluation.yaml", 'op: "<"')
        assert f"evaluation.yaml:{line}: metrics.toxicity_rate.op:" in message

    def test_unknown_control_in_a_tier(self, tmp_path: Path) -> None:
        pack = copy_pack(tmp_path)
        edit(pack / "tiers.yaml", "      - governance.ai_literacy", "      - governance.astrology")
        with pytest.raises(PolicyError) as raised:
            load_pack(pack)
        [problem] = raised.value.problems
        assert (problem.file, problem.line) == (
            "tiers.yaml",
            line_of(pack / "tiers.yaml", "astrology"),
        )
        assert "unknown control 'governance.astrology'" in problem.message

    def test_evaluation_control_without_a_tier_threshold(self, tmp_path: Path) -> None:
        pack = copy_pack(tmp_path)
        edit(
            pack / "evaluation.yaml",
            "thresholds: {high: 0.8, medium: 0.7}",
            "thresholds: {high: 0.8}",
        )
        with pytest.raises(PolicyError, match="'groundedness', which has no medium threshold"):
            load_pack(pack)

    def test_reason_placeholder_without_details(self, tmp_path: Path) -> None:
        pack = copy_pack(tmp_path)
        edit(
            pack / "tier-rules.yaml",
            'reason: "available to {who}"',
            'reason: "available to {whom}"',
        )
        with pytest.raises(PolicyError, match=r"reason uses \['whom'\]"):
            load_pack(pack)

    def test_missing_file_and_missing_directory(self, tmp_path: Path) -> None:
        pack = copy_pack(tmp_path)
        (pack / "tiers.yaml").unlink()
        with pytest.raises(PolicyError, match=r"tiers\.yaml: .*unreadable"):
            load_pack(pack)
        with pytest.raises(PolicyError, match="not a directory"):
            load_pack(tmp_path / "nowhere")

    def test_invalid_yaml_names_the_line(self, tmp_path: Path) -> None:
        pack = copy_pack(tmp_path)
        (pack / "pack.yaml").write_text("name: default\nversion: [1.0\n", "utf-8")
        with pytest.raises(PolicyError) as raised:
            load_pack(pack)
        [problem] = raised.value.problems
        assert problem.file == "pack.yaml"
        assert problem.line is not None
        assert "invalid YAML" in problem.message
