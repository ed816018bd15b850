"""The all-in-one's API docs: one heading per concept, whichever service serves the route."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigov_embedded.app import create_app
from aigov_embedded.settings import Settings
from aigov_runtime.tags import Tag
from aigov_runtime.testing import app_client


@pytest.mark.asyncio
async def test_the_merged_document_lists_each_tag_once_in_the_vocabulary_order(
    tmp_path: Path,
) -> None:
    async with app_client(create_app(Settings(data_dir=tmp_path))) as client:
        document = (await client.get("/openapi.json")).json()
    used = {
        operation["tags"][0]
        for operations in document["paths"].values()
        for operation in operations.values()
    }
    # Intake, evidence and tiering all serve "systems" routes; the router "incidents" ones.
    assert {"systems", "releases", "incidents", "routing", "policies"} <= used
    assert [tag["name"] for tag in document["tags"]] == [t.value for t in Tag if t.value in used]
