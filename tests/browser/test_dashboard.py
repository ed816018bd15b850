"""A real browser uses the dashboard of a running all-in-one aigov with the demo loaded.

The all-in-one runs as `python -m aigov_embedded` with `AIGOV_DEMO=true` on a free loopback
port; Debian's headless Chromium (`/usr/bin/chromium`, installed by `.ci/run`; never a
downloaded browser) is driven by Playwright with every host but 127.0.0.1 unresolvable, so the
pages only look right if aigov served every asset itself. A signed-out visitor lands on the
sign-in page, signs in with the dev reader token, filters the register, opens a system's
control matrix, the work queues and the KPI page. Full-page screenshots go to
`.local/screenshots/dashboard-*.png` and to the test's tmp dir.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Final

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright

from tests.browser.allinone import chromium, running_aigov
from tests.fixtures import REPO_ROOT

pytestmark = pytest.mark.browser

READER: Final = "dev-reader-token-please-change"
DEMO_SYSTEMS: Final = {"code-assistant", "support-summarizer", "hr-policy-assistant"}
SCREENSHOTS: Final = REPO_ROOT / ".local" / "screenshots"
ARGS: Final = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def _demo_loaded(url: str) -> bool:
    """Whether the demo's three systems are in the inventory with their gate decisions."""
    try:
        response = httpx.get(
            f"{url}/v1/systems", headers={"Authorization": f"Bearer {READER}"}, timeout=2
        )
    except httpx.HTTPError:
        return False
    if response.status_code != 200:
        return False
    items = {item["id"]: item for item in response.json()["items"]}
    return (
        set(items) >= DEMO_SYSTEMS
        and (items["code-assistant"].get("last_gate") or {}).get("decision") == "allow"
        and (items["support-summarizer"].get("last_gate") or {}).get("decision") == "deny"
    )


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running all-in-one aigov with the demo loaded, stopped after the module's tests."""
    tmp = tmp_path_factory.mktemp("dashboard")
    with running_aigov(
        tmp,
        ready=_demo_loaded,
        within=90,
        what="the demo did not load",
        env={"AIGOV_DEMO": "true"},
    ) as url:
        yield url


def _screenshot(page: Page, name: str, tmp_path: Path) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for folder in (SCREENSHOTS, tmp_path):
        page.screenshot(path=str(folder / f"dashboard-{name}.png"), full_page=True)


def _register_ids(page: Page) -> set[str]:
    return set(
        page.locator("tr[data-system]").evaluate_all("rows => rows.map(r => r.dataset.system)")
    )


def test_a_person_signs_in_and_uses_the_dashboard(demo_url: str, tmp_path: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            failed: list[str] = []
            page.on("requestfailed", lambda request: failed.append(request.url))
            page.set_default_timeout(15_000)

            # Signed out: the register sends the visitor to the sign-in page.
            page.goto(f"{demo_url}/dashboard")
            assert page.url.startswith(f"{demo_url}/dashboard/sign-in")
            assert page.locator("input[name=token]").is_visible()
            _screenshot(page, "sign-in", tmp_path)

            # A wrong token is refused with a message, no session.
            page.fill("input[name=token]", "not-a-token-at-all-0123")
            page.click("button[type=submit]")
            assert "not valid" in page.locator("[role=alert]").inner_text()

            page.fill("input[name=token]", READER)
            page.click("button[type=submit]")
            page.wait_for_url(f"{demo_url}/dashboard")
            assert _register_ids(page) == DEMO_SYSTEMS
            # The stylesheet came from aigov itself (every other host is unresolvable).
            assert page.evaluate("document.styleSheets.length") == 1
            assert (
                page.evaluate("getComputedStyle(document.querySelector('table')).borderCollapse")
                == "collapse"
            )
            _screenshot(page, "register", tmp_path)

            # A filter narrows the register.
            page.select_option("select[name=tier]", "high")
            page.click("form.filters button[type=submit]")
            page.wait_for_url("**/dashboard?*tier=high*")
            assert _register_ids(page) == {"support-summarizer"}
            _screenshot(page, "register-high", tmp_path)

            # The system page shows its control matrix.
            page.click("a[href='/dashboard/systems/support-summarizer']")
            page.wait_for_url("**/dashboard/systems/support-summarizer")
            states = page.locator("table.matrix tr[data-control]").evaluate_all(
                "rows => rows.map(r => r.className)"
            )
            assert states
            assert "state-missing" in states  # the demo's support-summarizer is denied
            assert page.locator("h2", has_text="Tier and why").is_visible()
            _screenshot(page, "system", tmp_path)

            page.goto(f"{demo_url}/dashboard/queues")
            assert page.locator("h2", has_text="Releases waiting for approval").is_visible()
            assert page.locator("p.definition").is_visible()
            _screenshot(page, "queues", tmp_path)

            page.goto(f"{demo_url}/dashboard/kpis")
            assert page.locator("svg.chart").count() >= 10
            _screenshot(page, "kpis", tmp_path)

            # Signing out ends the session.
            page.click("form.signout button[type=submit]")
            page.wait_for_url("**/dashboard/sign-in")
            page.goto(f"{demo_url}/dashboard/queues")
            assert "/dashboard/sign-in" in page.url
            assert not [url for url in failed if not url.startswith(demo_url)], failed
        finally:
            browser.close()
