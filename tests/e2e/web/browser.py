"""Chromium through Playwright, with every page of the app checked by axe-core and every page
photographed — the browser half of tests/e2e/web/conftest.py.

`CheckedPage` wraps a Playwright `Page`: `goto(path)` and `follow(action)` wait for the page the
browser ends on, then `seen()` it: a full-page screenshot under
`.local/screenshots/<test-name>/NN-<slug>.png`, and, for pages of the app under test (not the
identity provider's), axe-core with the WCAG 2.2 A/AA rules, failing on any violation with a
readable list. A page the browser navigated to but the test never `seen()` fails the test at
teardown, so no page escapes the check.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, Playwright

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / ".local" / "screenshots"
CHROMIUM = "/usr/bin/chromium"  # Debian's chromium: Playwright's own browser downloads are not reachable
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}

_axe = Axe()


def launch_chromium(playwright: Playwright) -> Browser:
    if not Path(CHROMIUM).is_file():
        raise RuntimeError(f"{CHROMIUM} not found: apt-get install -y --no-install-recommends chromium (.ci/run does)")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


class AccessibilityViolations(AssertionError):
    pass


def describe_violations(url: str, violations: list[dict]) -> str:
    lines = [f"axe-core: {len(violations)} WCAG 2.2 A/AA violation(s) on {url}"]
    for v in violations:
        lines.append(f"- {v['id']} ({v.get('impact') or 'n/a'}): {v['help']} — {v['helpUrl']}")
        for node in v["nodes"][:5]:
            target = " ".join(str(t) for t in node.get("target", []))
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    at {target}: {summary[:300]}")
        if len(v["nodes"]) > 5:
            lines.append(f"    … and {len(v['nodes']) - 5} more element(s)")
    return "\n".join(lines)


def _slug(text: str, limit: int = 60) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit] or "page"


class CheckedPage:
    """One test's browser tab. `app_url` is the web service under test: only its pages are
    held to axe-core (the identity provider's own pages are photographed, not judged)."""

    def __init__(self, page: Page, app_url: str, test_name: str) -> None:
        self.page = page
        self.app_url = app_url.rstrip("/")
        self._app_origin = _origin(app_url)
        self.shots = SCREENSHOTS / _slug(test_name, 120)
        shutil.rmtree(self.shots, ignore_errors=True)
        self.shots.mkdir(parents=True, exist_ok=True)
        self._count = 0
        self._navigated: list[str] = []
        self._seen: set[str] = set()
        page.on("framenavigated", lambda frame: frame == page.main_frame and self._navigated.append(frame.url))

    # --------------------------------------------------------------- navigation
    def goto(self, path_or_url: str, slug: str | None = None) -> Page:
        url = path_or_url if "://" in path_or_url else f"{self.app_url}/{path_or_url.lstrip('/')}"
        self.page.goto(url)
        return self.seen(slug)

    def follow(self, action: Callable[[], object], slug: str | None = None) -> Page:
        """Do something that loads a new page (click a link, submit a form), then check it."""
        with self.page.expect_navigation():
            action()
        return self.seen(slug)

    # --------------------------------------------------------------- checks
    def seen(self, slug: str | None = None) -> Page:
        """Screenshot the current page and, if it is the app's, fail on any axe violation."""
        self.page.wait_for_load_state("load")
        url = self.page.url
        self._count += 1
        name = slug or self.page.title() or urlsplit(url).path
        self.page.screenshot(path=str(self.shots / f"{self._count:02d}-{_slug(name)}.png"), full_page=True)
        self._seen.add(url)
        if _origin(url) == self._app_origin:
            violations = _axe.run(self.page, options=AXE_OPTIONS).response["violations"]
            if violations:
                raise AccessibilityViolations(describe_violations(url, violations))
        return self.page

    def unchecked_pages(self) -> list[str]:
        """Pages of the app the browser showed that no check ran on (teardown fails on them)."""
        return [u for u in dict.fromkeys(self._navigated)
                if _origin(u) == self._app_origin and u not in self._seen]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
