"""A loaded policy pack: validated files, compiled expressions and its reference (name, version, hash)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigov_events.catalog.decisions import PolicyRef
from aigov_events.catalog.enums import Tier
from aigov_tiering.policy.context import ManifestScopes
from aigov_tiering.policy.expressions import Expression
from aigov_tiering.policy.schema import (
    Control,
    EvaluationFile,
    MaterialRule,
    PackFile,
    TierRequirements,
    TierRule,
    VocabularyCheck,
)

#: Tiers from most to least severe: rules are tried in this order, the first tier with a match wins.
SEVERITY: tuple[Tier, ...] = (Tier.PROHIBITED, Tier.HIGH, Tier.MEDIUM, Tier.LOW)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A tier rule with its condition and reason details compiled."""

    rule: TierRule
    when: Expression
    details: tuple[tuple[str, Expression], ...]


@dataclass(frozen=True, slots=True)
class CompiledControl:
    """A library control with its applicability condition compiled."""

    control: Control
    applies_when: Expression | None


@dataclass(frozen=True, slots=True)
class PolicyPack:
    """Everything a decision needs, compiled once when the pack is loaded."""

    directory: Path
    ref: PolicyRef
    info: PackFile
    vocabulary: dict[str, Any]
    vocabulary_checks: tuple[tuple[VocabularyCheck, Expression], ...]
    definitions: tuple[tuple[str, Expression], ...]
    rules: tuple[CompiledRule, ...]
    controls: dict[str, CompiledControl]
    tiers: dict[Tier, TierRequirements]
    evaluation: EvaluationFile
    material_rules: tuple[MaterialRule, ...]
    documents: dict[str, Any]
    """The parsed files (file name -> content), as hashed: what `GET /v1/policies` shows."""
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    """Values derived from the pack alone (e.g. a control's requirements per tier), built once."""

    @property
    def scopes(self) -> ManifestScopes:
        """The CEL contexts this pack evaluates manifests in (its vocabulary converted once)."""
        scopes = self.memo.get(ManifestScopes)
        if not isinstance(scopes, ManifestScopes):
            scopes = self.memo[ManifestScopes] = ManifestScopes(self.vocabulary, self.definitions)
        return scopes

    @property
    def version_label(self) -> str:
        """`<declared version>+sha256.<first 12 hex digits>`: changes whenever the content does."""
        return f"{self.ref.version}+sha256.{self.ref.sha256[:12]}"

    def rules_for(self, tier: Tier) -> tuple[CompiledRule, ...]:
        """The rules that assign `tier`, in file order."""
        return tuple(rule for rule in self.rules if rule.rule.tier == tier)
