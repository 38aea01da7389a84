"""A parent's pages on a 360×740 phone screen (issue 13): no horizontal scrolling on any of
them (`document.documentElement.scrollWidth <= 360`), axe-core on each, screenshots under
.local/screenshots/parent-mobile/. The whole story is played for a fresh child first, so the
pages carry real-length sentences."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.web.parent_helpers import Browsers, give_parent_children, play_story, sign_in_ada

WIDTH, HEIGHT = 360, 740


@pytest.fixture
def phone(browser, web_stack, request):
    opened = Browsers(browser, web_stack.web_url, request.node.name)
    yield opened.open("ada", width=WIDTH, height=HEIGHT, folder="parent-mobile")
    unchecked = opened.close()
    if unchecked and not getattr(getattr(request.node, "rep_call", None), "failed", False):
        pytest.fail("pages shown but never checked: " + ", ".join(unchecked))


def no_sideways_scroll(page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    wide = [] if width <= WIDTH else page.evaluate(
        "() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > %d)"
        ".slice(0, 5).map(e => e.tagName + '.' + e.className + ': ' + (e.textContent || '').trim().slice(0, 80))" % WIDTH)
    assert width <= WIDTH, f"{page.url} is {width}px wide on a {WIDTH}px screen: {wide}"


def test_the_parents_pages_fit_a_360px_phone(web_stack, phone):
    _, story = play_story(web_stack.api_urls)
    cid = story.child_id
    give_parent_children(web_stack.stack.parent_children_file, cid)
    page = sign_in_ada(phone)
    no_sideways_scroll(page)
    b = f"/your-child/{cid}"
    for path, slug in ((b, "my-child"), (f"{b}?category=slt", "my-child-filtered"), (f"{b}/who-can-see", "who-can-see"),
                       (f"{b}/consents/new", "consent-new"), (f"{b}/team", "team"), (f"{b}/team/add", "team-add"),
                       (f"{b}/team/riverside-slt/remove", "team-remove"), (f"{b}/who-has-looked", "who-has-looked"),
                       (f"{b}/at-home", "at-home"), (f"{b}/ehc/{story.ehc_request_id}/views", "ehc-views"),
                       ("/notifications", "notifications"), ("/notifications/email", "notifications-email")):
        phone.goto(path, slug)
        no_sideways_scroll(page)
    # the withdraw confirmation and check-your-answers, reached as a parent would
    phone.goto(f"{b}/who-can-see", "who-can-see-again")
    phone.follow(lambda: page.get_by_role("link", name="Withdraw consent 1").click(), "withdraw-confirm")
    expect(page.get_by_role("heading", level=1)).to_have_text("Are you sure you want to withdraw this consent?")
    no_sideways_scroll(page)
    phone.goto(f"{b}/consents/new", "consent-new-again")
    page.get_by_role("radio", name="Mother").check()
    page.locator("#pr").check()
    page.get_by_role("checkbox", name="Any health visiting service on the team").check()
    page.get_by_role("checkbox", name="Health", exact=True).check()
    page.get_by_role("checkbox", name="Coordinating the team around the child").check()
    phone.follow(lambda: page.get_by_role("button", name="Continue").click(), "consent-check")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your consent before you give it")
    no_sideways_scroll(page)
    # on a phone the matrix is a list, one organisation at a time; the wide grid is not shown
    phone.goto(f"{b}/who-can-see", "who-can-see-matrix")
    expect(page.locator(".tac-matrix-list")).to_be_visible()
    expect(page.locator(".tac-matrix-grid")).to_be_hidden()
    expect(page.locator(".tac-matrix-list").get_by_text("Riverside Speech and Language Therapy")).to_be_visible()
    no_sideways_scroll(page)
