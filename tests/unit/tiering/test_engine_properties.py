"""Property tests: the same input gives a byte-identical decision; more risk never lowers the tier."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aigov_events.catalog.enums import Tier
from aigov_events.catalog.manifest import AISystemManifest
from aigov_tiering.engine import decide
from tests.unit.tiering.helpers import base_document, default_pack, with_changes

SEVERITY = {Tier.LOW: 0, Tier.MEDIUM: 1, Tier.HIGH: 2, Tier.PROHIBITED: 3}
VOCAB = default_pack().vocabulary
DATA_CLASSES = [*VOCAB["data_classes"], "genomic-data"]
SENSITIVE = [c for c in DATA_CLASSES if c not in VOCAB["non_sensitive_data_classes"]]
CAPABILITIES = [*VOCAB["tool_capabilities"], "teleport"]
POPULATIONS = ["internal-staff", "engineers", "enterprise-customers", "consumers", "patients"]


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """Random valid manifests over the policy's vocabulary (and a few unknown terms)."""
    generative = draw(st.booleans())
    corpora = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "id": st.sampled_from(["docs", "cases", "wiki"]),
                    "dataClasses": st.lists(st.sampled_from(DATA_CLASSES), max_size=3, unique=True),
                }
            ),
            max_size=2,
            unique_by=lambda corpus: corpus["id"],
        )
    )
    tools = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "name": st.sampled_from(["search", "email", "pay", "deploy"]),
                    "capabilities": st.lists(
                        st.sampled_from(CAPABILITIES), min_size=1, max_size=3, unique=True
                    ),
                }
            ),
            max_size=3,
        )
    )
    genai: dict[str, Any] = {"generative": generative}
    if generative:
        genai["retrieval"] = {"corpora": corpora}
    return with_changes(
        base_document(),
        {
            "spec.useCase.annexIII": draw(
                st.lists(st.sampled_from(sorted(VOCAB["annex_iii_areas"])), max_size=1)
            ),
            "spec.useCase.prohibitedPractices": draw(
                st.lists(st.sampled_from(sorted(VOCAB["article_5_practices"])), max_size=1)
            ),
            "spec.users.population": draw(
                st.lists(st.sampled_from(POPULATIONS), min_size=1, max_size=3, unique=True)
            ),
            "spec.users.includesMinors": draw(st.booleans()),
            "spec.users.public": draw(st.booleans()),
            "spec.data.classes": draw(
                st.lists(st.sampled_from(DATA_CLASSES), max_size=3, unique=True)
            ),
            "spec.model.type": "llm"
            if generative
            else draw(st.sampled_from(["classifier", "ranking"])),
            "spec.genai": genai,
            "spec.agent.autonomous": draw(st.booleans()),
            "spec.agent.tools": tools,
        },
    )


def tier_of(document: dict[str, Any]) -> Tier:
    return decide(AISystemManifest.model_validate(document), default_pack()).tier


PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


class TestDeterminism:
    @PROPERTY_SETTINGS
    @given(documents())
    def test_same_manifest_same_pack_gives_byte_identical_payload(
        self, document: dict[str, Any]
    ) -> None:
        def payload() -> bytes:
            decision = decide(AISystemManifest.model_validate(document), default_pack())
            tier_assigned = decision.tier_assigned(
                system_id="test-system", revision=3, manifest_sha256="a" * 64, previous_tier=None
            )
            return json.dumps(tier_assigned.model_dump(mode="json", exclude_none=True)).encode()

        assert payload() == payload()

    @PROPERTY_SETTINGS
    @given(documents(), documents())
    def test_a_decision_does_not_depend_on_the_one_before_or_on_the_thread(
        self, document: dict[str, Any], other: dict[str, Any]
    ) -> None:
        # A pack reuses one CEL context per thread, replacing the manifest's variables: no
        # variable or definition of the previous manifest may leak into the next decision.
        pack = default_pack()

        def payload() -> dict[str, Any]:
            decision = decide(AISystemManifest.model_validate(document), pack)
            tier_assigned = decision.tier_assigned(
                system_id="test-system", revision=3, manifest_sha256="a" * 64, previous_tier=None
            )
            return tier_assigned.model_dump(mode="json", exclude_none=True)

        first = payload()
        decide(AISystemManifest.model_validate(other), pack)
        assert payload() == first
        with ThreadPoolExecutor(max_workers=1) as pool:  # a thread of its own: a new context
            assert pool.submit(payload).result() == first

    @PROPERTY_SETTINGS
    @given(documents(), st.randoms(use_true_random=False))
    def test_order_of_list_items_does_not_change_the_decision(
        self, document: dict[str, Any], random: Any
    ) -> None:
        shuffled = with_changes(document, {})
        for values in (
            shuffled["spec"]["data"]["classes"],
            shuffled["spec"]["users"]["population"],
        ):
            random.shuffle(values)
        first = decide(AISystemManifest.model_validate(document), default_pack())
        second = decide(AISystemManifest.model_validate(shuffled), default_pack())
        assert first.tier == second.tier
        assert first.required_controls == second.required_controls
        assert first.warnings == second.warnings


class TestMonotonicity:
    @PROPERTY_SETTINGS
    @given(documents(), st.sampled_from(SENSITIVE))
    def test_adding_a_sensitive_data_class_never_lowers_the_tier(
        self, document: dict[str, Any], data_class: str
    ) -> None:
        classes = sorted({*document["spec"]["data"]["classes"], data_class})
        riskier = with_changes(document, {"spec.data.classes": classes})
        assert SEVERITY[tier_of(riskier)] >= SEVERITY[tier_of(document)]

    @PROPERTY_SETTINGS
    @given(documents(), st.sampled_from(SENSITIVE))
    def test_a_corpus_gaining_a_sensitive_class_never_lowers_the_tier(
        self, document: dict[str, Any], data_class: str
    ) -> None:
        corpora = [*(document["spec"]["genai"].get("retrieval") or {}).get("corpora", [])]
        corpora.append({"id": "new-corpus", "dataClasses": [data_class]})
        riskier = with_changes(
            document, {"spec.genai.generative": True, "spec.genai.retrieval": {"corpora": corpora}}
        )
        made_generative = with_changes(document, {"spec.genai.generative": True})
        assert SEVERITY[tier_of(riskier)] >= SEVERITY[tier_of(made_generative)]

    @PROPERTY_SETTINGS
    @given(documents(), st.sampled_from(["minors", "public"]))
    def test_minors_or_the_public_never_lower_the_tier(
        self, document: dict[str, Any], who: str
    ) -> None:
        field = "spec.users.includesMinors" if who == "minors" else "spec.users.public"
        riskier = with_changes(document, {field: True})
        assert SEVERITY[tier_of(riskier)] >= SEVERITY[tier_of(document)]
        assert SEVERITY[tier_of(riskier)] >= SEVERITY[Tier.MEDIUM]

    @PROPERTY_SETTINGS
    @given(
        documents(),
        st.lists(st.sampled_from(CAPABILITIES), min_size=1, max_size=3, unique=True),
    )
    def test_an_autonomous_tool_never_lowers_the_tier(
        self, document: dict[str, Any], capabilities: list[str]
    ) -> None:
        tools = [
            *document["spec"]["agent"]["tools"],
            {"name": "new-tool", "capabilities": capabilities},
        ]
        riskier = with_changes(document, {"spec.agent.autonomous": True, "spec.agent.tools": tools})
        assert SEVERITY[tier_of(riskier)] >= SEVERITY[tier_of(document)]
        assert SEVERITY[tier_of(riskier)] >= SEVERITY[Tier.MEDIUM]
