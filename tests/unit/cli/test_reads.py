"""The read commands against the real intake, tiering and evidence, on data the CLI sent itself.

One low-tier release is set up once per module through the CLI's own write commands
(register, a model card, a recorded gate, a pending waiver request); `gate --wait` makes sure
evidence recorded all of it before anything is read. Reads use the reader token, as a
dashboard or a person would.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result

from tests.unit.cli.conftest import Aigov, Platform, manifest, new_system
from tests.unit.cli.servers import APPROVER, READER

VERSION = "2026.12.0"
MODEL_CARD = ["intended_use=Review hints", "limitations=Misses context", "evaluation=See run 1"]


@dataclass(frozen=True)
class Release:
    """The module's release: its system, the waiver requested for it, and a CLI for it."""

    system: str
    waiver_id: str
    aigov: Aigov

    def read(self, *args: str) -> Result:
        """Run a read command with the reader token."""
        return self.aigov(*args, token=READER)


def cli_for(platform: Platform, tmp: Path) -> Aigov:
    """The CLI with one URL per service, a private state file and no user config."""
    return Aigov(
        env={
            "AIGOV_INTAKE_URL": platform.urls["intake"],
            "AIGOV_TIERING_URL": platform.urls["tiering"],
            "AIGOV_EVIDENCE_URL": platform.urls["evidence"],
            "AIGOV_STATE_FILE": str(tmp / "emitted.json"),
            "XDG_CONFIG_HOME": str(tmp / "xdg"),
        }
    )


def ok(result: Result) -> Result:
    """`result`, asserted to have exited 0."""
    assert result.exit_code == 0, result.output
    return result


def submit_model_card(aigov: Aigov, system: str) -> None:
    """Attach the model card the low tier requires."""
    flags = [arg for section in MODEL_CARD for arg in ("--section", section)]
    ok(
        aigov(
            "emit", "artifact", "--system", system, "--version", VERSION, "--kind", "model_card",
            "--title", "Model card", "--uri", "https://docs.example.com/card", "--sha256", "ab" * 32,
            *flags,
        )
    )  # fmt: skip


def request_waiver(aigov: Aigov, system: str, control: str, expires: str = "30d") -> str:
    """Request a waiver of `control` for the release; return its id."""
    result = ok(
        aigov(
            "waiver", "request", "--system", system, "--version", VERSION, "--control", control,
            "--justification", "Self-hosted model.", "--expires", expires, "--json",
        )
    )  # fmt: skip
    waiver_id: str = json.loads(result.stdout)["waiver_id"]
    return waiver_id


def gate(aigov: Aigov, system: str, *extra: str) -> Result:
    """Ask the (recording) gate once evidence has recorded this pipeline's events."""
    result = aigov("gate", "--system", system, "--version", VERSION, "--wait", "90s", *extra)
    assert result.exit_code in (0, 1), result.output
    return result


@pytest.fixture(scope="module")
def release(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Release:
    """A registered low-tier system with a model card, a deny recorded and a pending waiver."""
    tmp = tmp_path_factory.mktemp("reads")
    aigov = cli_for(platform, tmp)
    system = new_system()
    ok(aigov("systems", "register", "-f", str(manifest(tmp, system, "code-assistant.yaml"))))
    submit_model_card(aigov, system)
    waiver_id = request_waiver(aigov, system, "governance.vendor_assessment")
    assert gate(aigov, system).exit_code == 1
    return Release(system=system, waiver_id=waiver_id, aigov=aigov)


def row(output: str, first_cell: str) -> list[str]:
    """The cells (split on runs of spaces) of the table row starting with `first_cell`."""
    for line in output.splitlines():
        cells = [c for c in line.strip().split("  ") if c.strip()]
        if cells and cells[0].strip() == first_cell:
            return [c.strip() for c in cells]
    raise AssertionError(f"no row {first_cell!r} in:\n{output}")


class TestSystems:
    def test_list_shows_the_system_with_its_tier_and_last_gate(self, release: Release) -> None:
        result = ok(release.read("systems", "list", "--tier", "low", "--gate", "deny"))
        assert result.stdout.splitlines()[0].split() == [
            "SYSTEM", "NAME", "TIER", "TEAM", "OWNER", "STATUS", "LATEST", "LAST", "GATE",
        ]  # fmt: skip
        cells = row(result.stdout, release.system)
        assert cells[2:] == [
            "low", "developer-productivity", cells[4], "active", VERSION, f"deny {VERSION}",
        ]  # fmt: skip
        assert "AI system(s)." in result.stdout

    def test_filters_exclude(self, release: Release) -> None:
        result = ok(release.read("systems", "list", "--tier", "high"))
        assert release.system not in result.stdout

    def test_pages_follow_the_cursor(self, release: Release, tmp_path: Path) -> None:
        other = new_system()
        path = manifest(tmp_path, other, "code-assistant.yaml")
        ok(release.aigov("systems", "register", "-f", str(path)))
        gate(release.aigov, other, "--no-record")  # evidence has recorded it: two systems at least
        first = ok(release.read("systems", "list", "--limit", "1", "-o", "json"))
        page = json.loads(first.stdout)
        assert len(page["items"]) == 1
        assert page["next"]
        text = ok(release.read("systems", "list", "--limit", "1"))
        assert f"1 AI system(s); more: repeat with --cursor {page['next']}" in text.stdout
        second = json.loads(
            ok(
                release.read(
                    "systems", "list", "--limit", "1", "--cursor", page["next"], "-o", "json"
                )
            ).stdout
        )
        assert second["items"][0]["id"] > page["items"][0]["id"]

    def test_json_is_the_servers_answer(self, release: Release, platform: Platform) -> None:
        import httpx

        result = ok(release.read("systems", "show", release.system, "-o", "json"))
        direct = httpx.get(
            f"{platform.urls['evidence']}/v1/systems/{release.system}",
            headers={"Authorization": f"Bearer {READER}"},
        ).json()
        assert json.loads(result.stdout) == direct

    def test_show(self, release: Release) -> None:
        result = ok(release.read("systems", "show", release.system))
        lines = result.stdout.splitlines()
        assert lines[0].startswith(f"AI system {release.system} (")
        assert row(result.stdout, "tier") == ["tier", "low"]
        assert row(result.stdout, "team") == ["team", "developer-productivity"]
        assert row(result.stdout, "latest version") == ["latest version", VERSION]
        assert row(result.stdout, "manifest revision") == ["manifest revision", "1"]
        assert row(result.stdout, "last gate")[1].startswith(f"deny {VERSION} at ")

    def test_an_unknown_system_is_a_404_without_a_url_hint(self, release: Release) -> None:
        result = release.read("systems", "show", "no-such-system")
        assert result.exit_code == 2
        assert "404 no AI system 'no-such-system' in the inventory" in result.stderr
        assert "Not found at this URL" not in result.stderr

    def test_reads_need_the_reader_role(self, release: Release) -> None:
        result = release.aigov("systems", "show", release.system)  # the publisher token
        assert result.exit_code == 2
        assert "403 principal 'ci-bot' lacks a required role (one of: reader)" in result.stderr
        assert "lacks the role this needs" in result.stderr


class TestReleases:
    def test_show_lists_submitters_and_evidence(self, release: Release) -> None:
        result = ok(release.read("releases", "show", release.system, VERSION))
        assert result.stdout.splitlines()[0] == f"Release {release.system} {VERSION}"
        assert row(result.stdout, "submitters") == ["submitters", "ci-bot"]
        assert row(result.stdout, "deployment") == ["deployment", "not deployed"]
        assert "Deployments" not in result.stdout
        assert "Evidence (" in result.stdout
        types = {
            line.split()[2] for line in result.stdout.split("Evidence (", 1)[1].splitlines()[2:]
            if line.strip() and not line.startswith("Waiver")
        }  # fmt: skip
        assert {"artifact.submitted", "waiver.requested"} <= types

    def test_json_and_an_unknown_release(self, release: Release) -> None:
        answer = json.loads(
            ok(release.read("releases", "show", release.system, VERSION, "-o", "json")).stdout
        )
        assert answer["submitters"] == ["ci-bot"]
        missing = release.read("releases", "show", release.system, "9.9.9")
        assert missing.exit_code == 2
        assert f"404 no event names release '9.9.9' of '{release.system}'" in missing.stderr


class TestControls:
    def test_the_latest_release_by_default(self, release: Release) -> None:
        result = ok(release.read("controls", release.system))
        lines = result.stdout.splitlines()
        assert lines[0].startswith(f"Controls of {release.system} {VERSION}: tier low, policy ")
        assert lines[1] == "1 satisfied, 0 waived, 1 missing"
        assert row(result.stdout, "artifact.model_card")[:3] == [
            "artifact.model_card",
            "satisfied",
            "1",
        ]
        missing = row(result.stdout, "governance.vendor_assessment")
        assert missing[:2] == ["governance.vendor_assessment", "missing"]
        assert "Submitted by ci-bot: none of them may approve it." in result.stdout

    def test_an_explicit_version_and_json(self, release: Release) -> None:
        result = ok(release.read("controls", release.system, "--version", VERSION, "-o", "json"))
        answer = json.loads(result.stdout)
        states = {c["control_id"]: c["state"] for c in answer["controls"]}
        assert states == {
            "artifact.model_card": "satisfied",
            "governance.vendor_assessment": "missing",
        }

    def test_a_system_without_releases(self, release: Release, tmp_path: Path) -> None:
        system = new_system()
        ok(
            release.aigov(
                "systems", "register", "-f", str(manifest(tmp_path, system, "code-assistant.yaml"))
            )
        )
        gate(release.aigov, system, "--no-record")  # evidence has recorded the registration
        result = release.read("controls", system)
        assert result.exit_code == 2
        assert f"{system} has no release in the inventory yet: pass --version" in result.stderr


class TestWaivers:
    def test_list_by_system(self, release: Release) -> None:
        result = ok(release.read("waivers", "list", "--system", release.system))
        assert result.stdout.splitlines()[0].split() == [
            "WAIVER", "SYSTEM", "VERSION", "STATUS", "EXPIRES", "REQUESTED", "BY", "DECIDED", "BY",
            "CONTROLS",
        ]  # fmt: skip
        cells = row(result.stdout, release.waiver_id)
        assert cells[1:4] == [release.system, VERSION, "requested"]
        assert cells[5:] == ["ci-bot", "-", "governance.vendor_assessment"]
        assert "1 waiver(s)." in result.stdout

    def test_the_singular_spelling_is_the_same_command(self, release: Release) -> None:
        plural = ok(release.read("waivers", "list", "--system", release.system, "-o", "json"))
        singular = ok(release.read("waiver", "list", "--system", release.system, "-o", "json"))
        assert json.loads(singular.stdout) == json.loads(plural.stdout)
        assert [w["waiver_id"] for w in json.loads(plural.stdout)["items"]] == [release.waiver_id]

    def test_expiring_uses_the_servers_whole_day_filter(
        self, platform: Platform, tmp_path: Path
    ) -> None:
        aigov = cli_for(platform, tmp_path)
        system = new_system()
        ok(
            aigov(
                "systems", "register", "-f", str(manifest(tmp_path, system, "code-assistant.yaml"))
            )
        )
        soon = request_waiver(aigov, system, "governance.vendor_assessment", expires="3d")
        later = request_waiver(aigov, system, "artifact.model_card", expires="20d")
        for waiver_id in (soon, later):
            ok(aigov("waivers", "grant", waiver_id, "--rationale", "Compensated.", token=APPROVER))
        gate(aigov, system)  # waits until evidence recorded the grants
        week = ok(aigov("waivers", "list", "--system", system, "--expiring", "7d", token=READER))
        assert row(week.stdout, soon)[3] == "granted"
        assert later not in week.stdout
        assert "Granted waivers expiring within 7 day(s)." in week.stdout
        month = ok(aigov("waivers", "list", "--system", system, "--expiring", "30d", token=READER))
        assert soon in month.stdout
        assert later in month.stdout
        requested = ok(
            aigov("waivers", "list", "--system", system, "--status", "requested", token=READER)
        )
        assert "No waivers match." in requested.stdout

    def test_expiring_in_part_days_is_refused(self, release: Release) -> None:
        result = release.read("waivers", "list", "--expiring", "36h")
        assert result.exit_code == 2
        assert "--expiring: the server counts whole days: use e.g. 7d" in result.stderr


class TestEvidence:
    def test_filtered_by_type(self, release: Release) -> None:
        result = ok(
            release.read("evidence", release.system, "--type", "io.aigov.artifact.submitted.v1")
        )
        assert result.stdout.splitlines()[0].split() == [
            "SEQ",
            "TIME",
            "TYPE",
            "VERSION",
            "ACTOR",
            "EVENT",
        ]
        records = [line.split() for line in result.stdout.splitlines()[1:] if line.strip()][:-1]
        assert [(r[2], r[3], r[4]) for r in records] == [("artifact.submitted", VERSION, "ci-bot")]
        assert "1 record(s)." in result.stdout

    def test_pages_and_json(self, release: Release) -> None:
        page = json.loads(
            ok(release.read("evidence", release.system, "--limit", "1", "-o", "json")).stdout
        )
        assert [r["sequence"] for r in page["items"]] == [1]
        # Which record comes first depends on which topic the ledger consumer read first
        # (system.registered and tier.assigned travel on different topics): compare with the
        # whole listing rather than pin a type.
        whole = json.loads(ok(release.read("evidence", release.system, "-o", "json")).stdout)
        after = json.loads(
            ok(
                release.read(
                    "evidence",
                    release.system,
                    "--limit",
                    "1",
                    "--cursor",
                    page["next"],
                    "-o",
                    "json",
                )
            ).stdout
        )
        assert [r["sequence"] for r in after["items"]] == [2]
        assert [r["event_id"] for r in page["items"] + after["items"]] == [
            r["event_id"] for r in whole["items"][:2]
        ]

    def test_an_unknown_type_names_it(self, release: Release) -> None:
        result = release.read("evidence", release.system, "--type", "evaluation.completed")
        assert result.exit_code == 2
        assert "422 type: unknown event type 'evaluation.completed'" in result.stderr


class TestLedgerVerify:
    def test_an_intact_ledger_exits_0(self, release: Release) -> None:
        result = ok(release.read("ledger", "verify", release.system))
        lines = result.stdout.splitlines()
        assert lines[0] == f"Ledger of {release.system}: INTACT"
        assert "record(s) recomputed; head sequence" in lines[1]
        answer = json.loads(
            ok(release.read("ledger", "verify", release.system, "-o", "json")).stdout
        )
        assert answer["ok"] is True
        assert answer["problems"] == []

    def test_an_altered_record_exits_1_naming_the_check(
        self, platform: Platform, tmp_path: Path
    ) -> None:
        aigov = cli_for(platform, tmp_path)
        system = new_system()
        ok(
            aigov(
                "systems", "register", "-f", str(manifest(tmp_path, system, "code-assistant.yaml"))
            )
        )
        submit_model_card(aigov, system)
        gate(aigov, system, "--no-record")
        # What an attacker with database access would do: lift the append-only guard, edit.
        database = sqlite3.connect(platform.bus_path.parent / "evidence.sqlite3")
        with database:
            (trigger,) = database.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'ledger_no_update'"
            ).fetchone()
            database.execute("DROP TRIGGER ledger_no_update")
            database.execute(
                "UPDATE ledger SET actor = 'mallory' WHERE system_id = ? AND sequence = 2",
                (system,),
            )
            database.execute(trigger)
        database.close()
        result = aigov("ledger", "verify", system, token=READER)
        assert result.exit_code == 1, result.output
        assert result.stdout.splitlines()[0] == f"Ledger of {system}: FAILED at sequence 2"
        assert row(result.stdout, "altered")[:2] == ["altered", "2"]
        as_json = aigov("ledger", "verify", system, "-o", "json", token=READER)
        assert as_json.exit_code == 1
        assert json.loads(as_json.stdout)["problems"][0]["kind"] == "altered"

    def test_an_unknown_system(self, release: Release) -> None:
        result = release.read("ledger", "verify", "no-such-system")
        assert result.exit_code == 2
        assert "404 no ledger records for AI system 'no-such-system'" in result.stderr


class TestGatePendingWaivers:
    def test_the_gate_shows_the_waiting_request(self, release: Release) -> None:
        # Needs evidence's `pending_waivers` (the gate answer's newer field).
        result = gate(release.aigov, release.system, "--no-record")
        assert "Waiver requests awaiting an approver (1)" in result.stdout
        cells = row(result.stdout, release.waiver_id)
        assert cells[1:3] == ["governance.vendor_assessment", "ci-bot"]
