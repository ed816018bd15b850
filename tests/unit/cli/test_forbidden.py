"""403 refusals: the server's reason is printed, and the role hint only when a role is missing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.cli.conftest import Aigov, manifest, new_system
from tests.unit.cli.servers import APPROVER, MANAGER, READER, SCOPED

ROLE_HINT = "lacks the role this needs"


class TestForbidden:
    def test_a_missing_role_gets_the_role_hint(self, aigov: Aigov, tmp_path: Path) -> None:
        path = str(manifest(tmp_path, new_system()))
        result = aigov("systems", "register", "-f", path, token=READER)
        assert result.exit_code == 2
        assert (
            "403 principal 'dashboard' may not send io.aigov.system.registered.v1" in result.stderr
        )
        assert ROLE_HINT in result.stderr

    def test_separation_of_duties_prints_the_reason_not_the_role_hint(self, aigov: Aigov) -> None:
        requested = aigov(
            "waiver", "request", "--system", new_system(), "--version", "1.0.0",
            "--control", "governance.vendor_assessment", "--justification", "j",
            "--expires", "30d", "--json", token=MANAGER,
        )  # fmt: skip
        assert requested.exit_code == 0, requested.output
        waiver_id = json.loads(requested.stdout)["waiver_id"]
        result = aigov("waivers", "grant", waiver_id, "--rationale", "mine", token=MANAGER)
        assert result.exit_code == 2
        assert f"403 'release-manager' requested waiver {waiver_id} and may not decide it" in (
            result.stderr
        )
        assert "Separation of duties: another principal must do this" in result.stderr
        assert ROLE_HINT not in result.stderr

    def test_a_scoped_token_is_told_about_its_scope(self, aigov: Aigov, tmp_path: Path) -> None:
        path = str(manifest(tmp_path, new_system(), "code-assistant.yaml"))
        result = aigov("systems", "register", "-f", path, token=SCOPED)
        assert result.exit_code == 2
        assert "'team-bot' may act only for its scope (teams: no-such-team)" in result.stderr
        assert "The token is scoped to other teams or systems" in result.stderr
        assert ROLE_HINT not in result.stderr

    def test_an_approval_capacity_the_token_lacks(self, aigov: Aigov) -> None:
        result = aigov(
            "approve", "--system", new_system(), "--version", "1.0.0", "--rationale", "ok",
            "--role", "legal", token=APPROVER,
        )  # fmt: skip
        assert result.exit_code == 2
        assert "may approve as: approver; not legal" in result.stderr
        assert "Pass --role as one of the capacities named above" in result.stderr
        assert ROLE_HINT not in result.stderr
