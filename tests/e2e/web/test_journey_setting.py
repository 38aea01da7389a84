"""SCENARIO.md steps 1–6a played by clicking and typing in Chromium on the whole stack: Priya
registers a child, records Ada's consents C1a, C1b, C1c and C1s through the check-your-answers
page, raises the concern (with the keyboard only), refers to the area SENCO team and to
Riverside SLT; Dana and Sam accept from "Your work"; Priya sees both answers ("answers your
organisation's request"); Priya invites Northbridge Health Visiting and Grace accepts from
"Your work". Then, for Priya, Dana, Sam and Grace, the entries shown on the child page are
exactly the timeline API's answer for that person, each with its reason in words, and exactly
those demo/expectations.py says the story allows at this point.

The web stack is shared by the browser tests: this test makes its own child (a unique family
name per run) and picks its own rows on "Your work" by that name or its own message."""

from __future__ import annotations

import re
import time
import uuid
from datetime import date
from uuid import UUID

from playwright.sync_api import Page, expect

from demo.cast import ADA, DANA, GRACE, PRIYA, SAM, Person
from demo.client import Api
from demo.expectations import CONSENT_BEFORE_WITHDRAWAL, CONSENTS_IN_FORCE, _basis
from demo.scenario import Entry, Story, months_before
from tests.e2e.web.browser import CheckedPage
from tests.e2e.web.journeys import BY_KEY, OWN, OWN_REQUEST, shown_entries, sign_in, timeline, wait_for

# The consents in force at step 6 of the story: C1a, C1b, C1c (not yet withdrawn) and C1s.
CONSENTS_AT_STEP_6 = {**{k: v for k, v in CONSENTS_IN_FORCE.items() if k in ("C1a", "C1b", "C1s")},
                      **CONSENT_BEFORE_WITHDRAWAL}


# -- browser helpers ----------------------------------------------------------------------------


def click(pages: CheckedPage, role: str, name: str, slug: str | None = None, exact: bool = True) -> Page:
    page = pages.page
    return pages.follow(lambda: page.get_by_role(role, name=name, exact=exact).first.click(), slug)


def submit_until(pages: CheckedPage, button: str, retry_while: str, slug: str, within_s: float = 30) -> Page:
    """Submit; while the page says `retry_while` (a service still catching up on an event another
    published a moment ago), go back to the form and submit again."""
    page = pages.page
    deadline = time.monotonic() + within_s
    while True:
        pages.follow(lambda: page.get_by_role("button", name=button, exact=True).click(), slug)
        if retry_while not in page.content() or time.monotonic() > deadline:
            return page
        time.sleep(1)
        if page.get_by_role("button", name=button, exact=True).count() == 0:
            pages.follow(lambda: page.go_back(), slug + "-again")


# -- the story as the APIs tell it --------------------------------------------------------------


def story_from(parent_view: list[dict], child_id: UUID, today: date) -> Story:
    """The story's entries, labelled as demo/scenario.py labels them, from the parent's timeline
    (the parent sees every entry); entries the story does not name (the review window notice)
    are left out."""
    story = Story(today=today, child_id=child_id)
    consent_labels = {("agencies", "area_senco"): "C1a", ("organisation_ids", "riverside-slt"): "C1b",
                      ("agencies", "health_visiting"): "C1c", ("organisation_ids", "sunflower-nursery"): "C1s"}
    teams = {"northbridge-inclusion": "area SENCO", "riverside-slt": "SLT"}
    for e in reversed(parent_view):  # oldest first, as the story was told
        kind = e["type"].split(".")[2]
        d, author = e["data"], BY_KEY.get(e["author"]["practitioner_id"])
        label = joined = None
        if kind == "child_registered":
            label = "Amara registered"
        elif kind == "consent_granted":
            rec = d["recipients"]
            key = next((k, v) for k in ("agencies", "organisation_ids") for v in rec.get(k) or ())
            label = f"consent {consent_labels[key]} granted"
            story.consents[consent_labels[key]] = UUID(d["consent_id"])
        elif kind == "concern_raised":
            label = "concern raised"
        elif kind == "referral_made":
            label = f"referral to {teams[d['to_organisation_id']]}"
        elif kind == "referral_accepted":
            label = f"{teams[e['author']['organisation_id']]} referral accepted"
        elif kind == "invitation_sent":
            label = "health visiting invited"
        elif kind == "team_member_joined":
            joined = d["organisation_id"]
            label = f"{joined} joined the team"
        if label and author is not None:
            story.entries.append(Entry(label, UUID(e["event_id"]), author, e["category"], joined_organisation_id=joined))
    return story


def expected_at_step_6(person: Person, entry: Entry, story: Story) -> str | None:
    team = {"sunflower-nursery"} | {e.joined_organisation_id for e in story.entries if e.joined_organisation_id}
    return _basis(person, entry, story, CONSENTS_AT_STEP_6, team)


# -- the journey --------------------------------------------------------------------------------


def test_the_setting_journey_steps_1_to_6a(web_stack, pages: CheckedPage):
    page = pages.page
    family = f"Okoro-{uuid.uuid4().hex[:6]}"
    full_name = f"Amara {family}"
    today = date.today()
    dob = months_before(today, 26)

    # 1. Priya registers the child (first with a missing first name: the error summary).
    sign_in(pages, PRIYA)
    click(pages, "link", "Find a child", "find-a-child")
    click(pages, "link", "Register a child", "register-a-child")
    page.get_by_label("Last name").fill(family)
    page.get_by_label("Day").fill(str(dob.day))
    page.get_by_label("Month").fill(str(dob.month))
    page.get_by_label("Year").fill(str(dob.year))
    click(pages, "button", "Register child", "register-error")
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("link", name="Enter the child’s first name")).to_have_attribute("href", "#given-name")
    expect(page).to_have_title(re.compile("^Error: Register a child"))
    summary.get_by_role("link", name="Enter the child’s first name").click()
    expect(page.locator("#given-name")).to_be_focused()
    page.locator("#given-name").fill("Amara")
    click(pages, "button", "Register child", "child-page-new")
    expect(page.get_by_role("heading", level=1)).to_have_text(full_name)
    child_id = UUID(page.url.rstrip("/").split("/")[-1])
    expect(page.get_by_text("26 months old")).to_be_visible()

    # She finds Amara again by name: the search is posted, so the name is never in the address.
    click(pages, "link", "Find a child", "find-a-child-again")
    page.get_by_label("Child’s name").fill(family)
    click(pages, "button", "Search", "found-by-name")
    assert family not in page.url
    click(pages, "link", full_name, "child-page-found")
    expect(page.get_by_role("heading", level=1)).to_have_text(full_name)

    # 2. Priya records Ada's consents, each through the check-your-answers page.
    consents = [
        ("C1a", [], ["Any area SENCO team on the team"], ["Concerns", "Referrals and the team", "Progress"]),
        ("C1b", ["Riverside Speech and Language Therapy"], [],
         ["Concerns", "Referrals and the team", "Speech and language therapy", "Progress"]),
        ("C1c", [], ["Any health visiting service on the team"], ["Concerns", "Health", "Progress", "Speech and language therapy"]),
        ("C1s", ["Sunflower Nursery"], [], ["Referrals and the team", "Speech and language therapy", "Health", "Progress"]),
    ]
    click(pages, "button", "Record a parent’s consent", "consent-form")
    for label, organisations, agencies, categories in consents:
        page.get_by_label("Full name").fill("Ada Okoro")
        page.get_by_role("radio", name="Mother", exact=True).check()
        page.locator("#pr").check()  # Yes
        for name in organisations + agencies + categories:
            page.get_by_role("checkbox", name=name, exact=True).check()
        for name in ("Referral to other services", "Coordinating the team around the child"):
            page.get_by_role("checkbox", name=name, exact=True).check()
        click(pages, "button", "Continue", f"check-{label}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Check the consent before recording it")
        expect(page.get_by_text("Ada Okoro (mother)")).to_be_visible()
        submit_until(pages, "Record consent", "still setting up", f"recorded-{label}")
        expect(page.locator(".govuk-panel")).to_contain_text("Consent recorded")
        if label != "C1s":
            click(pages, "link", "Record another consent", f"consent-form-after-{label}")
    click(pages, "link", f"Back to {full_name}", "child-page-consented")

    # 3. Priya raises the concern with the keyboard only.
    page.get_by_role("button", name="Raise a concern").focus()
    pages.follow(lambda: page.keyboard.press("Enter"), "concern-form")
    for _ in range(60):
        if page.evaluate("document.activeElement && document.activeElement.id") == "areas":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "areas"  # Communication and interaction
    page.keyboard.press("Space")
    for _ in range(4):
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "summary"
    page.keyboard.type("Few words; not yet combining two words.")
    page.keyboard.press("Tab")
    page.keyboard.type("Key person observations over six weeks; parent reports the same at home.")
    page.keyboard.press("Tab")
    pages.follow(lambda: page.keyboard.press("Enter"), "child-page-concern")
    expect(page.get_by_role("heading", level=1)).to_have_text(full_name)

    # 4. Priya refers to the area SENCO team and to Riverside SLT.
    for service in ("Northbridge Early Years Inclusion (area SENCO team)",
                    "Riverside Speech and Language Therapy (speech and language therapy service)"):
        click(pages, "button", "Refer to another service", "referral-form")
        page.get_by_label("Service", exact=True).select_option(label=service)
        page.get_by_label("Why are you referring?").fill("Emerging speech and language delay; advice and assessment requested.")
        submit_until(pages, "Send referral", "This could not be done", "child-page-referred")
        expect(page.get_by_role("heading", level=1)).to_have_text(full_name)

    # 5. Dana accepts; Sam accepts — each from "Your work".
    for person in (DANA, SAM):
        sign_in(pages, person)
        row = page.get_by_role("link", name=re.compile(re.escape(full_name) + r"\W+referral to answer"))
        pages.follow(lambda: row.click(), f"referral-{person.key}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Referral from Sunflower Nursery")
        click(pages, "button", "Accept referral", f"accepted-{person.key}")
        expect(page.locator(".govuk-panel")).to_contain_text("Referral accepted")

    # Priya's child page shows both answers, answering her organisation's requests.
    sign_in(pages, PRIYA)
    def both_answers():
        pages.goto(f"/children/{child_id}", "child-page-answers")
        answers = [e for e in shown_entries(page) if e[1] == "own_request"]
        return answers if len(answers) == 2 else None
    answers = wait_for(both_answers, "both answers on Priya's page")
    assert [why for _, _, why in answers] == [OWN_REQUEST, OWN_REQUEST]
    expect(page.locator("li.tac-timeline__entry", has_text="accepted the referral from Sunflower Nursery")).to_have_count(2)

    # 6. Priya invites Northbridge Health Visiting; Grace accepts from "Your work".
    # The form asks for no personal details in the message (it travels to the organisation
    # invited): this run's own row is found by a reference, not by the child's name.
    reference = f"ref {family.rsplit('-', 1)[1]}"
    message = f"Would you join the team for the integrated review at two? ({reference})"
    click(pages, "button", "Invite an organisation to the team", "invite-form")
    page.get_by_label("Organisation", exact=True).select_option(label="Northbridge Health Visiting (health visiting service)")
    page.get_by_label("Message (optional)").fill(message)
    click(pages, "button", "Send invitation", "child-page-invited")
    sign_in(pages, GRACE)
    mine = page.locator("#invitations li", has_text=reference)
    pages.follow(lambda: mine.get_by_role("link").click(), "invitation")
    click(pages, "button", "Accept invitation", "child-page-grace")
    expect(page).to_have_url(re.compile(f"/children/{child_id}$"))

    # What each person sees, on screen, against the timeline API and the story.
    api = Api(web_stack.api_urls, children=(child_id,))
    try:
        parent_view = wait_for(lambda: (v := timeline(api, ADA, child_id)) and
                               any(e["type"].endswith("team_member_joined.v1") and
                                   e["data"]["organisation_id"] == "northbridge-hv" for e in v) and v,
                               "Grace's joining on the timeline")
        story = story_from(parent_view, child_id, today)
        assert len(story.entries) == 14, [e.label for e in story.entries]
        for person in (PRIYA, DANA, SAM, GRACE):
            sign_in(pages, person)
            pages.goto(f"/children/{child_id}", f"child-page-seen-by-{person.key}")
            from_api = timeline(api, person, child_id)
            on_screen = shown_entries(page)
            assert [i for i, _, _ in on_screen] == [e["event_id"] for e in from_api], person.key
            assert [b for _, b, _ in on_screen] == [e["basis"] for e in from_api], person.key
            for _, basis, why in on_screen:
                if basis == "own":
                    assert why == OWN
                elif basis == "own_request":
                    assert why == OWN_REQUEST
                elif person is PRIYA:  # the setting reads the consent list: the giver and the dates
                    assert re.fullmatch(r"Consent given by Ada Okoro \(mother\) on \d{1,2} \w+ \d{4}, until \d{1,2} \w+ \d{4}",
                                        why), why
                else:
                    assert basis.startswith("consent:") and why == "A parent’s consent", (basis, why)
            shown = {UUID(i): b for i, b, _ in on_screen}
            for entry in story.entries:
                expected = expected_at_step_6(person, entry, story)
                assert shown.get(entry.event_id) == expected, (person.key, entry.label, shown.get(entry.event_id), expected)
    finally:
        api.close()
