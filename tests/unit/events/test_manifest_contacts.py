"""A manifest's contacts are single recipients (issue 12, item 5): the router mails them."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from aigov_events.catalog import AISystemManifest, SystemRegistered


def document(**metadata: Any) -> dict[str, Any]:
    """The catalog's example manifest with metadata changes."""
    doc = copy.deepcopy(dict(SystemRegistered.example["manifest"]))
    doc["metadata"].update(metadata)
    return doc


def error_locations(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Where validating `doc` fails."""
    with pytest.raises(ValidationError) as caught:
        AISystemManifest.model_validate(doc)
    return [tuple(e["loc"]) for e in caught.value.errors()]


class TestOwner:
    @pytest.mark.parametrize(
        "owner",
        [
            "victim@x, attacker@evil",
            "victim@x,attacker@evil",
            "victim@x; attacker@evil",
            "dana.kim@example.com\r\nBcc: attacker@evil",
            "dana.kim@example.com\n",
            "Dana Kim <dana.kim@example.com>",
            '"dana kim"@example.com',
            "dana kim@example.com",
            "dana.kim",
            "@example.com",
            "dana..kim@example.com",
            "a" * 190 + "@example.com",
        ],
    )
    def test_anything_but_one_address_is_refused(self, owner: str) -> None:
        assert error_locations(document(owner=owner)) == [("metadata", "owner")]

    @pytest.mark.parametrize(
        "owner",
        ["dana.kim@example.com", "ops+ai@sub.example.co.uk", "lead@localhost", "victim@x"],
    )
    def test_one_address_is_accepted(self, owner: str) -> None:
        assert AISystemManifest.model_validate(document(owner=owner)).metadata.owner == owner

    def test_the_message_says_what_is_expected(self) -> None:
        with pytest.raises(ValidationError) as caught:
            AISystemManifest.model_validate(document(owner="victim@x, attacker@evil"))
        assert "one e-mail address" in caught.value.errors()[0]["msg"]


class TestOnCall:
    @pytest.mark.parametrize(
        "oncall",
        [
            "support-oncall\r\nBcc: attacker@evil",
            "oncall@example.com, attacker@evil",
            "team a oncall",
            "Support <oncall@example.com>",
            "-leading-dash",
            "",
        ],
    )
    def test_anything_but_one_rotation_or_address_is_refused(self, oncall: str) -> None:
        assert error_locations(document(oncall=oncall)) == [("metadata", "oncall")]

    @pytest.mark.parametrize(
        "oncall", ["support-ml-oncall", "talent_oncall.primary", "oncall@example.com"]
    )
    def test_a_rotation_name_or_an_address_is_accepted(self, oncall: str) -> None:
        assert AISystemManifest.model_validate(document(oncall=oncall)).metadata.oncall == oncall

    def test_oncall_stays_optional(self) -> None:
        doc = document()
        del doc["metadata"]["oncall"]
        assert AISystemManifest.model_validate(doc).metadata.oncall is None

    def test_the_json_schema_documents_both_forms(self) -> None:
        properties = AISystemManifest.model_json_schema()["$defs"]["SystemMetadata"]["properties"]
        assert "pattern" in properties["owner"]
        assert len(properties["oncall"]["anyOf"][0]["anyOf"]) == 2
