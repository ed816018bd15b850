"""Where the default policy pack lives, whether aigov runs from the repository or a wheel."""

from __future__ import annotations

from pathlib import Path
from typing import Final

_DEFAULT_PACK: Final = Path("policies") / "default"
_MARKER: Final = "pack.yaml"


def default_policy_dir() -> Path:
    """The default pack: packaged next to the code, else `policies/default` in the source tree."""
    package = Path(__file__).resolve().parents[1]
    # A wheel carries the pack inside the package (hatch force-include, see pyproject.toml).
    candidates = [package / _DEFAULT_PACK]
    # From a checkout (uv workspace, editable install): the repository root is an ancestor.
    candidates += [parent / _DEFAULT_PACK for parent in package.parents]
    for candidate in candidates:
        if (candidate / _MARKER).is_file():
            return candidate
    raise FileNotFoundError(
        "the default policy pack was not found; set AIGOV_POLICY_DIR to a policy pack directory"
    )
