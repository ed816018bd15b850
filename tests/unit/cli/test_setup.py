"""`aigov completion` and the top-level help."""

from __future__ import annotations

import pytest

from tests.unit.cli.conftest import Aigov


class TestCompletion:
    @pytest.mark.parametrize(
        ("shell", "marker"),
        [
            ("bash", "complete -o nosort -F"),
            ("zsh", "#compdef aigov"),
            ("fish", "complete --no-files --command aigov"),
        ],
    )
    def test_scripts(self, shell: str, marker: str) -> None:
        result = Aigov()("completion", shell, token=None)
        assert result.exit_code == 0, result.output
        assert marker in result.stdout
        assert "_AIGOV_COMPLETE" in result.stdout

    def test_an_unknown_shell(self) -> None:
        result = Aigov()("completion", "tcsh", token=None)
        assert result.exit_code == 2
        assert "'tcsh' is not one of 'bash', 'zsh', 'fish'" in result.stderr

    def test_completion_lists_subcommands(self) -> None:
        result = Aigov()(
            token=None, _aigov_complete="bash_complete", comp_words="aigov wa", comp_cword="1"
        )
        # `waiver` (the older spelling) still works but is hidden: one completion, not two.
        assert result.stdout.splitlines() == ["plain,waivers"]


class TestHelp:
    def test_help_needs_no_configuration(self) -> None:
        result = Aigov()("--help", token=None, aigov_url="not a url")
        assert result.exit_code == 0
        text = " ".join(result.stdout.split())
        assert 'Exit codes: 0 success (gate: allow), 1 a "no" answer (gate deny, ledger' in text
        assert "2 any error." in text

    def test_the_cli_version(self) -> None:
        result = Aigov()("--version", token=None)
        assert (result.exit_code, result.stdout) == (0, "aigov, version 0.1.0\n")

    def test_an_unknown_command_exits_2(self) -> None:
        result = Aigov()("deploy", token=None)
        assert result.exit_code == 2
        assert "No such command 'deploy'" in result.stderr
