"""Shared by the browser journeys (test_journey_setting.py, test_journey_casework.py,
test_journey_parent.py and parent_helpers.py): signing in as a person of the cast, the
timeline entries a child page shows, a person's timeline through the API, and waiting for the
services to catch up on an event."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from uuid import UUID

from playwright.sync_api import Page, expect

from demo.cast import CAST, Person
from demo.client import Api
from tests.e2e.web.browser import CheckedPage

OWN = "Your organisation’s record"
OWN_REQUEST = "Answers your organisation’s request"
BY_KEY = {p.key: p for p in CAST}


def sign_in(pages: CheckedPage, person: Person, *, slug: str | None = None,
            title: str | None = "^Your work") -> Page:
    """Sign in as `person` with the development sign-in, signing out first whoever is signed in
    on this page. The page it lands on is checked as `slug` (your-work-<key> unless given) and,
    unless `title` is None, its title must match `title`."""
    page = pages.page
    if page.get_by_role("button", name=re.compile("^Sign out")).count():
        pages.follow(lambda: page.get_by_role("button", name=re.compile("^Sign out")).click(), "signed-out")
    pages.goto("/sign-in")
    first_name = person.name.split(" (")[0]
    page.get_by_role("radio", name=re.compile("^" + re.escape(first_name) + ",")).check()
    pages.follow(lambda: page.get_by_role("button", name="Sign in").click(), slug or f"your-work-{person.key}")
    if title is not None:
        expect(page).to_have_title(re.compile(title))
    return page


def shown_entries(page: Page) -> list[tuple[str, str, str]]:
    """(event id, basis, reason in words) of each timeline entry on the child page, in order."""
    return [(li.get_attribute("data-event-id"), li.get_attribute("data-basis"),
             li.locator(".tac-why").inner_text().strip()) for li in page.locator("li.tac-timeline__entry").all()]


def wait_for(condition: Callable[[], object], what: str, within_s: float = 45):
    """The first truthy answer of `condition`, asked every half second for up to `within_s`."""
    deadline = time.monotonic() + within_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def timeline(api: Api, person: Person, child_id: UUID) -> list[dict]:
    return api.call(person, "GET", "timeline", f"/children/{child_id}/timeline", params={"limit": 1000})["entries"]
