"""The one error the CLI reports to people: what went wrong and what to do about it (exit 2)."""

from __future__ import annotations

from typing import Final

import click

#: Exit codes are a contract with CI: 0 success/allow, 1 deny, 2 anything else.
EXIT_OK: Final = 0
EXIT_DENY: Final = 1
EXIT_ERROR: Final = 2


class CliError(click.ClickException):
    """A failure the user can fix (bad input, configuration, server refusal); exits with 2."""

    exit_code = EXIT_ERROR
