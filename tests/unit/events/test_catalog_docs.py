"""Generated catalog docs: the committed files are current, and `--check` catches drift."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aigov_events.catalog import CATALOG, MODELS, EvaluationCompleted, docs, validate_payload

REPO_ROOT = Path(__file__).resolve().parents[3]
DOCS = REPO_ROOT / "docs"


@pytest.fixture
def fresh_docs(tmp_path: Path) -> Path:
    """A docs directory freshly generated into a temporary path."""
    out = tmp_path / "docs"
    docs.write(out)
    return out


class TestCommittedDocs:
    def test_committed_docs_are_current(self) -> None:
        problems = docs.check(DOCS)
        assert problems == [], (
            "docs/events are out of date; run `uv run python -m aigov_events.catalog.docs`:\n"
            + "\n".join(problems)
        )

    def test_check_notices_a_model_changed_without_regenerating(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The guard the test above relies on: a model change must make the committed docs stale.
        monkeypatch.setattr(EvaluationCompleted, "__doc__", "Changed description.")
        schema = DOCS / docs.schema_path(EvaluationCompleted.event_type)
        assert docs.check(DOCS) == [f"stale: {DOCS / docs.PAGE}", f"stale: {schema}"]

    def test_check_notices_a_changed_example(self, monkeypatch: pytest.MonkeyPatch) -> None:
        example = {**EvaluationCompleted.example, "suite": "nightly"}
        monkeypatch.setattr(EvaluationCompleted, "example", example)
        assert len(docs.check(DOCS)) == 2


class TestRender:
    def test_output_is_deterministic(self) -> None:
        assert docs.render() == docs.render()

    def test_one_schema_per_event_type_and_the_page(self) -> None:
        files = docs.render()
        assert files.keys() == {docs.schema_path(t) for t in CATALOG} | {docs.PAGE}

    @pytest.mark.parametrize("model", MODELS, ids=lambda m: m.event_type)
    def test_schema_metadata_and_example(self, model: Any) -> None:
        text = docs.render()[docs.schema_path(model.event_type)]
        assert text.endswith("}\n")
        schema = json.loads(text)
        assert text == json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == f"https://aigov.io/schemas/events/{model.event_type}.schema.json"
        assert schema["title"] == model.__name__
        assert schema["description"] == model.__doc__.strip()
        assert schema["x-aigov-event-type"] == model.event_type
        assert schema["x-aigov-topic"] == model.topic
        assert schema["additionalProperties"] is False
        assert "system_id" in schema["required"]
        [example] = schema["examples"]
        assert validate_payload(model.event_type, example) == model.model_validate(model.example)

    def test_manifest_schema_uses_public_keys_and_allows_extras(self) -> None:
        schema = json.loads(docs.render()[docs.schema_path("io.aigov.system.registered.v1")])
        manifest = schema["$defs"]["AISystemManifest"]
        assert set(manifest["required"]) == {"apiVersion", "kind", "metadata", "spec"}
        assert manifest["additionalProperties"] is True
        assert "annexIII" in schema["$defs"]["UseCase"]["properties"]

    def test_page_lists_every_type_under_its_topic(self) -> None:
        page = docs.render()[docs.PAGE]
        for event_type, model in CATALOG.items():
            heading = f"### `{event_type}`"
            assert heading in page
            section = page.split(heading, 1)[1]
            assert f"]({docs.schema_path(event_type)})" in section.split("###", 1)[0]
            # The type sits under its own topic's heading: the last topic heading before it.
            before = page.split(heading, 1)[0]
            assert before.rsplit("\n## ", 1)[1].startswith(f"`{model.topic}`")


class TestCheckAndWrite:
    def test_fresh_output_is_clean(self, fresh_docs: Path) -> None:
        assert docs.check(fresh_docs) == []
        assert docs.write(fresh_docs) == []  # nothing to rewrite

    def test_reports_stale_missing_and_extra_files(self, fresh_docs: Path) -> None:
        stale = fresh_docs / docs.schema_path("io.aigov.alert.raised.v1")
        stale.write_text(stale.read_text(encoding="utf-8") + " ", encoding="utf-8")
        missing = fresh_docs / docs.PAGE
        missing.unlink()
        extra = fresh_docs / "events" / "io.aigov.system.exploded.v1.schema.json"
        extra.write_text("{}\n", encoding="utf-8")
        assert docs.check(fresh_docs) == [
            f"missing: {missing}",
            f"stale: {stale}",
            f"extra: {extra}",
        ]

    def test_write_repairs_everything(self, fresh_docs: Path) -> None:
        (fresh_docs / docs.PAGE).write_text("edited by hand\n", encoding="utf-8")
        extra = fresh_docs / "events" / "io.aigov.system.exploded.v1.schema.json"
        extra.write_text("{}\n", encoding="utf-8")
        changes = docs.write(fresh_docs)
        assert changes == [f"wrote: {fresh_docs / docs.PAGE}", f"removed: {extra}"]
        assert docs.check(fresh_docs) == []

    def test_empty_directory_reports_every_file_missing(self, tmp_path: Path) -> None:
        problems = docs.check(tmp_path)
        assert len(problems) == len(docs.render())
        assert all(line.startswith("missing: ") for line in problems)


class TestCommandLine:
    def test_check_exits_1_listing_problems_without_writing(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert docs.main(["--check", "--out", str(tmp_path)]) == 1
        out = capsys.readouterr().out
        assert f"missing: {tmp_path / docs.PAGE}" in out
        assert "out of date" in out
        assert list(tmp_path.iterdir()) == []

    def test_write_then_check(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert docs.main(["--out", str(tmp_path)]) == 0
        assert f"wrote: {tmp_path / docs.PAGE}" in capsys.readouterr().out
        assert docs.main(["--check", "--out", str(tmp_path)]) == 0
        assert capsys.readouterr().out == ""

    def test_committed_docs_match_a_fresh_generation(self, fresh_docs: Path) -> None:
        # Byte-for-byte, including files the check would call extra.
        committed = sorted(p.relative_to(DOCS) for p in (DOCS / "events").iterdir())
        generated = sorted(p.relative_to(fresh_docs) for p in (fresh_docs / "events").iterdir())
        assert committed == generated
