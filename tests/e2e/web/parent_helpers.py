"""Shared by the parent's browser tests (test_journey_parent.py, test_parent_mobile.py): the
story played for a fresh child, people signed in in their own browser contexts, the keyboard."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from uuid import UUID

from playwright.sync_api import Browser, Page

from demo.cast import ADA, Person
from demo import scenario
from demo.client import Api, StoryError
from demo.scenario import Story, play
from tests.e2e.web import journeys
from tests.e2e.web.browser import CheckedPage


def play_story(api_urls: dict[str, str], *, through_step: int = 13) -> tuple[Api, Story]:
    """The story for a fresh child, whole or through `through_step` (demo.scenario.play). Step
    13 (Kit, a stranger) is the demo's own check and not the parent's pages': a refusal it finds
    wrong is kept in `story.stranger_refusals` (and printed) instead of stopping the journey."""
    api = Api(dict(api_urls))
    strict = scenario.stranger_attempts

    def lenient(api_: Api, cid: UUID) -> list[str]:
        try:
            return strict(api_, cid)
        except StoryError as e:
            print(f"demo step 13 found: {e}")
            return [str(e)]

    scenario.stranger_attempts = lenient
    try:
        story = play(api, date.today(), through_step=through_step)
    finally:
        scenario.stranger_attempts = strict
    return api, story


def give_parent_children(file: Path, *children: UUID) -> None:
    """What the web's development sign-in gives Ada's token at her next sign-in."""
    file.write_text("".join(f"{c}\n" for c in children), encoding="utf-8")


class Browsers:
    """Browser contexts of one test, each a person, each photographed in its own folder."""

    def __init__(self, browser: Browser, app_url: str, test_name: str) -> None:
        self.browser, self.app_url, self.test_name = browser, app_url, test_name
        self.opened: list[tuple[object, CheckedPage]] = []

    def open(self, who: str, *, width: int = 1280, height: int = 900, folder: str | None = None) -> CheckedPage:
        context = self.browser.new_context(viewport={"width": width, "height": height}, locale="en-GB")
        checked = CheckedPage(context.new_page(), self.app_url, folder or f"{self.test_name}-{who}")
        self.opened.append((context, checked))
        return checked

    def close(self) -> list[str]:
        unchecked = [u for _, c in self.opened for u in c.unchecked_pages()]
        for context, _ in self.opened:
            context.close()
        return unchecked


def sign_in(pages: CheckedPage, person: Person) -> Page:
    """Sign in in a fresh browser context; the page it lands on is checked as signed-in-<key>."""
    return journeys.sign_in(pages, person, slug=f"signed-in-{person.key}", title=None)


def sign_in_ada(pages: CheckedPage) -> Page:
    return sign_in(pages, ADA)


def tab_to(page: Page, matches: str, most: int = 300) -> None:
    """Press Tab until the focused element satisfies the JS predicate `matches` (given `el`)."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return !!el && ({matches}); }}"):
            return
    raise AssertionError(f"Tab never reached an element where {matches}")
