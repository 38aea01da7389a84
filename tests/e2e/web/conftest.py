"""Fixtures for browser tests of the web interface (UI.md "How it is tested").

Session-wide, started once:
* `idp`       -> tests.idp.Idp: the local Keycloak (`scripts/idp.sh up`), with its issuer, JWKS
                 URL, tokens by direct grant and `set_children(parent, ids)`.
* `browser`   -> playwright Browser: Debian's Chromium (/usr/bin/chromium), headless.
* `web_stack` -> stacks.WebStack: the four APIs and `python -m services.web` in development
                 mode (sign-in as the people of SCENARIO.md), on ports 28000 (web) and
                 28001–28004; `.web_url`, `.api_urls`, `.stack` (logs under its workdir).

Per test:
* `pages`     -> browser.CheckedPage on a fresh browser context (no cookies shared between
                 tests) against `web_stack`: `pages.goto("/")`, `pages.follow(lambda: ...click())`,
                 `pages.page` for Playwright itself. Each page is screenshotted under
                 .local/screenshots/<test>/ and the app's pages are checked by axe-core.
* `checked_page_for(app_url)` -> the same against another running web service (e.g. one in
                 OIDC mode, tests/e2e/web/test_oidc_sign_in.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.e2e.web.browser import CheckedPage, launch_chromium
from tests.e2e.web.stacks import WebStack, running_stack
from tests.idp import Idp, ensure_idp_up

# Another base port lets two people run browser tests on one machine at once (web on it, APIs +1..+4).
WEB_STACK_BASE_PORT = int(os.environ.get("TAC_E2E_WEB_BASE_PORT", "28000"))


@pytest.fixture(scope="session")
def idp() -> Idp:
    try:
        return ensure_idp_up()
    except Exception as exc:  # noqa: BLE001 - fail clearly: nothing is skipped
        pytest.fail(f"Keycloak did not come up (make idp-up): {exc}")


@pytest.fixture(scope="session")
def browser(kafka_bootstrap) -> Iterator[Browser]:
    # Playwright's sync API keeps an asyncio loop running on this thread while the browser is
    # open, after which asyncio.run() (kafka_bootstrap's broker check) cannot be called: so the
    # asyncio-using session fixtures are resolved first. Async tests must not run in between.
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def web_stack(kafka_bootstrap, tmp_path_factory) -> Iterator[WebStack]:
    with running_stack(tmp_path_factory.mktemp("e2e-web-stack"), kafka_bootstrap, WEB_STACK_BASE_PORT) as stack:
        yield stack


@pytest.fixture
def checked_page_for(browser: Browser, request) -> Iterator[Callable[[str], CheckedPage]]:
    opened: list[tuple[object, CheckedPage]] = []

    def open_page(app_url: str) -> CheckedPage:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
        checked = CheckedPage(context.new_page(), app_url, request.node.name)
        opened.append((context, checked))
        return checked

    yield open_page
    unchecked = [u for _, checked in opened for u in checked.unchecked_pages()]
    for context, _ in opened:
        context.close()
    if unchecked and not _failed(request):
        pytest.fail("pages shown but never checked (use pages.goto/follow/seen): " + ", ".join(unchecked))


@pytest.fixture
def pages(web_stack: WebStack, checked_page_for) -> CheckedPage:
    return checked_page_for(web_stack.web_url)


def _failed(request) -> bool:
    report = getattr(request.node, "rep_call", None)
    return report is not None and report.failed


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
