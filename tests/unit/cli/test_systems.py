"""`aigov systems register` against the real intake."""

from __future__ import annotations

import json
from pathlib import Path

from aigov_events.topics import LIFECYCLE
from tests.unit.cli.conftest import EXAMPLES, Aigov, Intake, manifest, new_system
from tests.unit.cli.servers import READER


class TestRegister:
    def test_a_yaml_manifest_registers_the_system(
        self, aigov: Aigov, intake: Intake, tmp_path: Path
    ) -> None:
        system = new_system()
        result = aigov("systems", "register", "-f", str(manifest(tmp_path, system)))
        assert result.exit_code == 0, result.output
        assert f"{system}: registered, revision 1" in result.stdout
        (event,) = intake.events(LIFECYCLE, system=system)
        assert event.event_type == "io.aigov.system.registered.v1"
        assert event.data["manifest"]["metadata"]["id"] == system
        state = json.loads((tmp_path / "emitted.json").read_text())
        assert [(e["event_id"], e["system"], e["version"]) for e in state["events"]] == [
            (event.event_id, system, None)
        ]

    def test_the_public_example_files_are_accepted_unchanged(
        self, aigov: Aigov, intake: Intake
    ) -> None:
        # The shared examples register their own ids; a repeat is "unchanged", not an error.
        for path in sorted((EXAMPLES / "systems").glob("*.yaml")):
            result = aigov("systems", "register", "-f", str(path), "--json")
            assert result.exit_code == 0, result.output
            assert json.loads(result.stdout)["system_id"] == path.stem

    def test_a_json_manifest_and_a_revision(
        self, aigov: Aigov, intake: Intake, tmp_path: Path
    ) -> None:
        import yaml

        system = new_system()
        document = yaml.safe_load(manifest(tmp_path, system).read_text())
        as_json = tmp_path / "m.json"
        as_json.write_text(json.dumps(document))
        assert aigov("systems", "register", "-f", str(as_json)).exit_code == 0
        unchanged = aigov("systems", "register", "-f", str(as_json))
        assert "unchanged, still revision 1; nothing sent" in unchanged.stdout
        document["spec"]["deployment"]["regions"] = ["EU"]
        as_json.write_text(json.dumps(document))
        updated = aigov("systems", "register", "-f", str(as_json))
        assert updated.exit_code == 0, updated.output
        assert "updated, revision 2" in updated.stdout
        types = [e.event_type for e in intake.events(LIFECYCLE, system=system, count=2)]
        assert types == ["io.aigov.system.registered.v1", "io.aigov.system.updated.v1"]

    def test_a_retry_with_the_same_key_is_not_published_twice(
        self, aigov: Aigov, intake: Intake, tmp_path: Path
    ) -> None:
        system = new_system()
        path = str(manifest(tmp_path, system))
        key = f"{system}-register"
        assert aigov("systems", "register", "-f", path, "--idempotency-key", key).exit_code == 0
        again = aigov("systems", "register", "-f", path, "--idempotency-key", key)
        assert again.exit_code == 0
        assert len(intake.events(LIFECYCLE, system=system)) == 1


class TestRegisterErrors:
    def test_malformed_yaml_names_the_line(self, aigov: Aigov, tmp_path: Path) -> None:
        path = tmp_path / "broken.yaml"
        path.write_text("apiVersion: aigov.io/v1\nmetadata:\n  id: x\n  owner: [a, b\n")
        result = aigov("systems", "register", "-f", str(path))
        assert result.exit_code == 2
        assert f"{path}:5:1: invalid YAML" in result.stderr

    def test_a_file_that_is_not_a_manifest(self, aigov: Aigov, tmp_path: Path) -> None:
        path = tmp_path / "list.yaml"
        path.write_text("- a\n- b\n")
        result = aigov("systems", "register", "-f", str(path))
        assert result.exit_code == 2
        assert "not an AI system manifest: no metadata.id" in result.stderr

    def test_a_missing_file(self, aigov: Aigov, tmp_path: Path) -> None:
        result = aigov("systems", "register", "-f", str(tmp_path / "nope.yaml"))
        assert (result.exit_code, result.stderr.strip()) == (
            2,
            f"Error: {tmp_path / 'nope.yaml'}: no such file",
        )

    def test_field_errors_are_listed(self, aigov: Aigov, tmp_path: Path) -> None:
        path = manifest(tmp_path, new_system())
        path.write_text(path.read_text().replace("owner: ", "owner_typo: ", 1))
        result = aigov("systems", "register", "-f", str(path))
        assert result.exit_code == 2
        assert "intake refused POST" in result.stderr
        assert ": 422 " in result.stderr
        assert "  - metadata.owner: Field required" in result.stderr

    def test_a_token_without_the_role(self, aigov: Aigov, tmp_path: Path) -> None:
        result = aigov(
            "systems", "register", "-f", str(manifest(tmp_path, new_system())), token=READER
        )
        assert result.exit_code == 2
        assert ": 403 " in result.stderr
        assert "lacks the role" in result.stderr
