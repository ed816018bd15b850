"""`GET /v1/oscal/catalog` and `GET /v1/oscal/profiles/{tier}`: the active pack in NIST OSCAL 1.1.3.

The catalog is the control library; a profile is one tier's required controls, importing the
catalog by href. Both are built once per loaded pack (they depend on nothing else), and their
`last-modified` is the newest modification time of the pack's files, so a restart serves the
same bytes. See docs/oscal.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Path

from aigov_events.catalog.enums import Tier
from aigov_oscal.catalog import build_catalog
from aigov_oscal.documents import MEDIA_TYPE, CatalogDocument, ProfileDocument
from aigov_oscal.profile import build_profile
from aigov_runtime.auth import Role, require_roles
from aigov_runtime.errors import ProblemError, problem_responses
from aigov_runtime.ratelimit import limited_principal
from aigov_runtime.tags import Tag
from aigov_tiering.api.deps import ActivePack
from aigov_tiering.policy import PolicyPack
from aigov_tiering.policy.pack import SEVERITY

CATALOG_PATH: Final = "/v1/oscal/catalog"
"""Where the catalog is served; profiles import it by this href."""

router = APIRouter(
    prefix="/v1/oscal",
    tags=[Tag.POLICIES],
    dependencies=[Depends(require_roles(Role.READER)), Depends(limited_principal)],
    responses=problem_responses(401, 403, 429),
)


def pack_modified(pack: PolicyPack) -> datetime:
    """The newest modification time of the pack's files (when its content last changed)."""
    times = [
        (pack.directory / name).stat().st_mtime
        for name in pack.documents
        if (pack.directory / name).is_file()
    ]
    # A pack always has files; without them (never on disk), the epoch says "unknown".
    return datetime.fromtimestamp(max(times, default=0), UTC)


def catalog_document(pack: PolicyPack) -> dict[str, Any]:
    """The pack's control library as an OSCAL catalog (built once per pack)."""
    key = ("oscal", "catalog")
    if key not in pack.memo:
        pack.memo[key] = build_catalog(
            [compiled.control for compiled in pack.controls.values()],
            policy=pack.ref,
            policy_version=pack.version_label,
            required_by={
                cid: [tier.value for tier in SEVERITY if cid in pack.tiers[tier].controls]
                for cid in pack.controls
            },
            last_modified=pack_modified(pack),
        )
    document: dict[str, Any] = pack.memo[key]
    return document


def profile_document(pack: PolicyPack, tier: Tier) -> dict[str, Any]:
    """One tier's requirements as an OSCAL profile (built once per pack and tier)."""
    key = ("oscal", "profile", tier)
    if key not in pack.memo:
        requirements = pack.tiers[tier]
        pack.memo[key] = build_profile(
            tier=tier.value,
            control_ids=requirements.controls,
            catalog_control_ids=list(pack.controls),
            catalog_href=CATALOG_PATH,
            policy=pack.ref,
            policy_version=pack.version_label,
            approvals=requirements.approvals,
            last_modified=pack_modified(pack),
        )
    document: dict[str, Any] = pack.memo[key]
    return document


_TIERS: Final = ", ".join(tier.value for tier in SEVERITY)


@router.get(
    "/catalog",
    summary="The control library as an OSCAL catalog",
    response_model=CatalogDocument,
    description="NIST OSCAL 1.1.3 catalog (JSON, `application/json`) of the active policy "
    "pack's control library: one group per control family; each control has its objective as "
    "the `statement` part, one `evidence` part per evidence rule, and its NIST AI RMF, EU AI "
    "Act and ISO/IEC 42001 mappings and the tiers requiring it as props (namespace "
    "`https://aigov.dev/ns/oscal`). The same pack always gives the same document.",
    responses={200: {"content": {MEDIA_TYPE: {}}}},
)
async def get_catalog(pack: ActivePack) -> CatalogDocument:
    """The active pack's control library as an OSCAL catalog."""
    return CatalogDocument.model_validate(catalog_document(pack))


@router.get(
    "/profiles/{tier}",
    summary="A tier's required controls as an OSCAL profile",
    response_model=ProfileDocument,
    description="NIST OSCAL 1.1.3 profile (JSON, `application/json`) of one tier: it imports "
    f"the catalog (`{CATALOG_PATH}`) and includes exactly the controls the tier requires; the "
    "tier's required approvals are metadata props. A tier requiring nothing (prohibited) "
    f"excludes every control. Tiers: {_TIERS}; any other is 404.",
    responses={200: {"content": {MEDIA_TYPE: {}}}, **problem_responses(404, 422)},
)
async def get_profile(
    pack: ActivePack,
    tier: Annotated[str, Path(min_length=1, max_length=32, examples=["high"])],
) -> ProfileDocument:
    """One tier's required controls as an OSCAL profile; 404 for a tier the policy lacks."""
    try:
        known = Tier(tier)
    except ValueError:
        raise ProblemError(
            404, f"no tier {tier!r} in policy {pack.version_label}; tiers: {_TIERS}"
        ) from None
    return ProfileDocument.model_validate(profile_document(pack, known))
