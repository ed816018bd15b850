"""The hash chain: canonical hashes, and that any change to a chain is detectable."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from aigov_evidence.chain import (
    GENESIS_HASH,
    canonical_json,
    event_hash,
    link_hash,
    reference_canonical_json,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
payloads = st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=5)
ascii_text = st.text(st.characters(max_codepoint=127), max_size=20)
#: Documents that take the fast path unless a number (or a string) looks like one Python
#: prints differently from JCS: the path most recorded events take.
ascii_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.from_regex(r"[0-9a-f.e+-]{0,24}", fullmatch=True)
    | ascii_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(ascii_text, children, max_size=4)
    ),
    max_leaves=12,
)


def chain(payloads: list[dict[str, Any]]) -> list[str]:
    hashes, prev = [], GENESIS_HASH
    for sequence, payload in enumerate(payloads, start=1):
        prev = link_hash(prev, sequence, event_hash({"id": str(sequence)}, payload))
        hashes.append(prev)
    return hashes


class TestCanonicalJson:
    def test_rfc8785_orders_keys_and_normalises_numbers(self) -> None:
        assert canonical_json({"b": 1.0, "a": [2.50, "é"]}) == '{"a":[2.5,"é"],"b":1}'.encode()

    @given(json_values)
    def test_the_fast_path_agrees_with_the_reference_implementation(self, value: Any) -> None:
        assert canonical_json(value) == reference_canonical_json(value)

    @given(ascii_values)
    def test_the_unwalked_ascii_path_agrees_with_the_reference(self, value: Any) -> None:
        assert canonical_json(value) == reference_canonical_json(value)

    def test_strings_that_look_like_numbers_are_printed_as_they_are(self) -> None:
        # They send the document down the careful path, which leaves strings alone.
        document = {"digest": "1e+16", "version": "1.0", "n": "12345678901234567"}
        assert canonical_json(document) == reference_canonical_json(document)

    def test_numbers_in_ecmascript_form(self) -> None:
        for number, text in [(1e-5, "0.00001"), (1e21, "1e+21"), (1e-7, "1e-7"), (-0.0, "0")]:
            assert canonical_json([number]) == f"[{text}]".encode()

    def test_integral_doubles_beyond_two_to_the_53_print_as_ecmascript_does(self) -> None:
        # Found by the property test: the fast path printed 9007199254740992.0.
        assert canonical_json([9007199254740992.0]) == b"[9007199254740992]"

    def test_integers_beyond_doubles_hash_as_doubles(self) -> None:
        assert canonical_json({"n": 2**60}) == canonical_json({"n": float(2**60)})

    @given(payloads)
    def test_the_hash_ignores_key_order(self, payload: dict[str, Any]) -> None:
        reordered = dict(reversed(list(payload.items())))
        assert event_hash({"id": "1"}, payload) == event_hash({"id": "1"}, reordered)


class TestChain:
    @given(st.lists(payloads, min_size=1, max_size=6), st.data())
    def test_changing_any_record_changes_every_later_link(
        self, history: list[dict[str, Any]], data: st.DataObject
    ) -> None:
        index = data.draw(st.integers(0, len(history) - 1))
        altered = [dict(p) for p in history]
        altered[index] = {**altered[index], "tampered": True}
        original, changed = chain(history), chain(altered)
        assert original[:index] == changed[:index]
        assert all(a != b for a, b in zip(original[index:], changed[index:], strict=True))

    def test_links_commit_to_position(self) -> None:
        digest = event_hash({"id": "x"}, {"a": 1})
        assert link_hash(GENESIS_HASH, 1, digest) != link_hash(GENESIS_HASH, 2, digest)
