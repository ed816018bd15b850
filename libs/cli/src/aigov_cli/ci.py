"""Facts a CI system already knows (run id and URL, commit), so commands need fewer flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any


def current_run(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`{id, url, commit}` of the GitHub Actions or GitLab CI run this is in (empty elsewhere)."""
    env = os.environ if env is None else env
    if env.get("GITHUB_ACTIONS") == "true" and env.get("GITHUB_RUN_ID"):
        run_id = env["GITHUB_RUN_ID"]
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        url = (
            f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{run_id}"
            if env.get("GITHUB_REPOSITORY")
            else None
        )
        return _present(id=run_id, url=url, commit=env.get("GITHUB_SHA"))
    if env.get("GITLAB_CI") == "true" and env.get("CI_PIPELINE_ID"):
        return _present(
            id=env["CI_PIPELINE_ID"],
            url=env.get("CI_PIPELINE_URL"),
            commit=env.get("CI_COMMIT_SHA"),
        )
    return {}


def _present(**fields: str | None) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value}
