"""SCENARIO.md steps 6b–13 by clicking and typing in Chromium on the whole stack, after a
prelude that plays steps 1–6a for a fresh child through the APIs (tests/e2e/web/
test_journey_setting.py clicks those):

6b Grace schedules the integrated review with the nursery and completes it; 7 Sam shares the
SLT report (with the keyboard only); 8 Priya records consent C2 on the consent form and
requests the EHC needs assessment; 9 Maria sees the request on "Your work" ("week 6 of 20"),
decides to assess and asks Dr Chen for advice; Dr Chen sees the request and its due date on
"Your work"; 10 (through the APIs: the parent's pages and the family worker's form are another
issue) Ada adds Elm Street Family Hub and Jo offers family support; 11 Ada withdraws C1c
(through the API) and Priya records C1d on the form; 12 Priya plans the move to Oak Lane
Primary; 13 Kit Ward types the child page's and the EHC page's addresses and gets the "Page
not found" a made-up id gets.

At the end, for every practitioner of the cast, the child page shows exactly the entries the
timeline API gives them, each with its reason in words matching the basis, and exactly those
demo/expectations.py says the story allows; Grace no longer sees the SLT report after step 11,
and Dana's view is unchanged by it."""

from __future__ import annotations

import re
import time
import uuid
from datetime import date, timedelta
from uuid import UUID

import pytest
from playwright.sync_api import Page, expect

from demo.cast import ADA, CAST, DANA, GRACE, HALL, JO, KIT, LEE, MARIA, PRIYA, SAM, Person
from demo.client import Api
from demo.expectations import expected_basis
from demo.scenario import ALL_CATEGORIES, Entry, Story, months_before
from tests.e2e.web.browser import CheckedPage
from tests.e2e.web.journeys import BY_KEY, OWN, OWN_REQUEST, shown_entries, sign_in, timeline, wait_for

REASON = "Emerging speech and language delay; advice and assessment requested."


# -- browser helpers ------------------------------------------------------------------------------


def press(pages: CheckedPage, name: str, slug: str) -> Page:
    """Click the button (or a link styled as one) named `name` and check the page it loads."""
    page = pages.page
    target = page.locator(f"button:text-is('{name}'), a.govuk-button:text-is('{name}')").first
    return pages.follow(lambda: target.click(), slug)


def link(pages: CheckedPage, name: str, slug: str, exact: bool = True) -> Page:
    page = pages.page
    return pages.follow(lambda: page.get_by_role("link", name=name, exact=exact).first.click(), slug)


def fill_date(page: Page, day: date, within: str = "body") -> None:
    scope = page.locator(within)
    scope.get_by_role("textbox", name="Day", exact=True).fill(str(day.day))
    scope.get_by_role("textbox", name="Month", exact=True).fill(str(day.month))
    scope.get_by_role("textbox", name="Year", exact=True).fill(str(day.year))


def child_page_ids(pages: CheckedPage, child_id: UUID, slug: str) -> set[str]:
    pages.goto(f"/children/{child_id}", slug)
    return {i for i, _, _ in shown_entries(pages.page)}


# -- steps 1–6a through the APIs (demo/scenario.py's calls, for a child of this test) -----------


def prelude(api: Api, family: str, today: date) -> tuple[UUID, dict[str, UUID]]:
    dob = months_before(today, 26)
    child = api.call(PRIYA, "POST", "referrals", "/children", json={
        "given_name": "Amara", "family_name": family, "date_of_birth": dob.isoformat()})
    cid = UUID(str(child["child_id"]))
    api.children = (cid,)
    consents: dict[str, UUID] = {}

    def grant(label: str, recipients: dict, categories: list[str]) -> None:
        body = {"given_by": {"name": "Ada Okoro", "relationship": "mother", "has_parental_responsibility": True},
                "recipients": recipients, "categories": categories, "purposes": ["referral", "coordination"]}
        answer = api.call(PRIYA, "POST", "consent", f"/children/{cid}/consents", json=body, retry_on=(403, 404, 409))
        consents[label] = UUID(str(answer["consent_id"]))

    grant("C1a", {"agencies": ["area_senco"]}, ["concern", "referral", "progress"])
    grant("C1b", {"organisation_ids": ["riverside-slt"]}, ["concern", "referral", "slt", "progress"])
    grant("C1c", {"agencies": ["health_visiting"]}, ["concern", "health", "progress", "slt"])
    grant("C1s", {"organisation_ids": ["sunflower-nursery"]}, ["referral", "slt", "health", "progress"])
    api.call(PRIYA, "POST", "referrals", f"/children/{cid}/concerns", json={
        "areas_of_need": ["communication_and_interaction"], "summary": "Few words; not yet combining two words.",
        "evidence": "Key person observations over six weeks; parent reports the same at home."})
    for org, agency, person in (("northbridge-inclusion", "area_senco", DANA), ("riverside-slt", "slt_service", SAM)):
        referral = api.call(PRIYA, "POST", "referrals", f"/children/{cid}/referrals", json={
            "to_organisation_id": org, "to_agency": agency, "reason": REASON}, retry_on=(409,))
        api.call(person, "POST", "referrals", f"/referrals/{referral['referral_id']}/accept")
    invitation = api.call(PRIYA, "POST", "referrals", f"/children/{cid}/invitations", json={
        "organisation_id": GRACE.organisation_id, "message": f"Would you join the team? ({family})"})
    api.call(GRACE, "POST", "referrals", f"/invitations/{invitation['invitation_id']}/accept")
    return cid, consents


# -- the story as the parent's timeline tells it (labels as demo/scenario.py's) -------------------


def story_from(parent_view: list[dict], child_id: UUID, today: date, consent_ids: dict[str, UUID]) -> Story:
    story = Story(today=today, child_id=child_id)
    story.consents = dict(consent_ids)
    labels_by_consent = {str(v): k for k, v in consent_ids.items()}
    answers = {"northbridge-inclusion": "area SENCO referral accepted", "riverside-slt": "SLT referral accepted"}
    for e in reversed(parent_view):  # oldest first, as the story was told
        kind = e["type"].split(".")[2]
        d, author = e["data"], BY_KEY.get(e["author"]["practitioner_id"])
        if author is None:
            continue  # the parent's own entries (her withdrawal, her adding the hub): the parent basis
        label, joined = f"{kind} {e['event_id']}", None
        if kind == "consent_granted":
            label = f"consent {labels_by_consent.get(d['consent_id'], d['consent_id'])} granted"
        elif kind == "referral_accepted":
            label = answers[e["author"]["organisation_id"]]
        elif kind == "ehc_assessment_started":
            label = "EHC assessment started"
        elif kind == "team_member_joined":
            joined = d["organisation_id"]
        story.entries.append(Entry(label, UUID(e["event_id"]), author, e["category"], joined_organisation_id=joined))
    return story


# -- the journey ----------------------------------------------------------------------------------


def test_the_casework_journey_steps_6b_to_13(web_stack, pages: CheckedPage):
    page = pages.page
    family = f"Okoro-{uuid.uuid4().hex[:6]}"
    full_name = f"Amara {family}"
    today = date.today()
    received = today - timedelta(weeks=5, days=2)
    decided = received + timedelta(weeks=5)
    advice_due = decided + timedelta(weeks=6)
    api = Api(web_stack.api_urls)
    try:
        child_id, consents = prelude(api, family, today)
        child_url = f"/children/{child_id}"
        # Grace's joining (the last of the prelude) has reached the timeline.
        wait_for(lambda: any(e["type"].endswith("team_member_joined.v1") and e["data"]["organisation_id"] == "northbridge-hv"
                             for e in timeline(api, ADA, child_id)), "Grace's joining on the timeline")

        # 6b. Grace schedules the integrated review with the nursery, then completes it.
        sign_in(pages, GRACE)
        expect(page.locator("#casework")).to_contain_text("Integrated reviews due and scheduled")
        pages.goto(child_url, "grace-child-page")
        press(pages, "Schedule the integrated review", "schedule-review")
        press(pages, "Schedule the review", "schedule-review-errors")  # nothing filled in: the error summary
        summary = page.locator(".govuk-error-summary")
        expect(summary.get_by_role("link", name="Enter the date the review is planned for")).to_have_attribute(
            "href", "#scheduled-for-day")
        expect(page).to_have_title(re.compile("^Error: Schedule the integrated review"))
        fill_date(page, today)
        page.get_by_role("radio", name="Sunflower Nursery", exact=True).check()
        press(pages, "Schedule the review", "review-scheduled")
        expect(page).to_have_url(re.compile(f"{child_url}$"))
        pages.goto("/", "grace-your-work")
        link(pages, f"{full_name}: complete the integrated review", "complete-review")
        for area, outcome in (("Communication and language", "Emerging"), ("Physical development", "Expected"),
                              ("Personal, social and emotional development", "Expected")):
            page.get_by_role("group", name=area).get_by_role("radio", name=outcome, exact=True).check()
        press(pages, "Save the outcome", "review-completed")
        expect(page).to_have_url(re.compile(f"{child_url}$"))

        # 7. Sam shares the SLT report, with the keyboard alone.
        sign_in(pages, SAM)
        pages.goto(child_url, "sam-child-page")
        page.get_by_text("Share a speech and language therapy report", exact=True).focus()
        pages.follow(lambda: page.keyboard.press("Enter"), "slt-form")
        for _ in range(40):
            if page.evaluate("document.activeElement && document.activeElement.id") == "assessment-summary":
                break
            page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "assessment-summary"
        page.keyboard.type("Expressive language delay; understanding within the expected range.")
        page.keyboard.press("Tab")
        page.keyboard.type("Daily shared-book and modelling programme for nursery and home, reviewed in 8 weeks.")
        page.keyboard.press("Tab")
        page.keyboard.type("Model two-word phrases\nReduce questions, increase comments")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent.trim()") == "Continue"
        pages.follow(lambda: page.keyboard.press("Enter"), "slt-check")
        expect(page.get_by_role("heading", level=1)).to_have_text("Check your answers")
        expect(page.locator(".govuk-summary-list")).to_contain_text("Reduce questions, increase comments")
        for _ in range(40):
            if page.evaluate("document.activeElement && document.activeElement.textContent.trim()") == "Share the report":
                break
            page.keyboard.press("Tab")
        pages.follow(lambda: page.keyboard.press("Enter"), "slt-shared")
        expect(page).to_have_url(re.compile(f"{child_url}$"))

        # 8. Priya records consent C2 on the consent form, then requests the EHC needs assessment.
        sign_in(pages, PRIYA)
        pages.goto(child_url, "priya-child-page")
        record_consent(pages, ["Any local authority SEN team on the team", "Any educational psychology service on the team"],
                       None, ["Assessment (for example, an EHC needs assessment)"], "C2")
        request_ehc(pages, child_url, received)

        # 9. Maria sees the request on "Your work", decides to assess in week 5 and asks Dr Chen.
        sign_in(pages, MARIA)
        link(pages, f"{full_name}: EHC needs assessment", "ehc-page")
        expect(page.locator("#ehc-clock")).to_have_text("Week 6 of 20")
        ehc_url = page.url
        expect(page.locator("table")).to_contain_text((received + timedelta(weeks=20)).strftime("%-d %B %Y"))
        link(pages, "Decide whether to assess", "ehc-decision")
        page.get_by_role("radio", name="Yes, assess").check()
        fill_date(page, decided)
        press(pages, "Save the decision", "ehc-started")
        expect(page.locator(".govuk-summary-list")).to_contain_text("Being assessed")
        link(pages, "Ask for advice and information", "advice-request")
        page.get_by_role("radio", name="Northbridge EP Service").check()
        fill_date(page, decided)
        press(pages, "Ask for advice", "advice-requested")
        expect(page.locator("table")).to_contain_text("Advice from Northbridge EP Service")
        expect(page.locator("table")).to_contain_text(advice_due.strftime("%-d %B %Y"))
        request_id = ehc_url.rstrip("/").split("/")[-1]

        # Dr Chen sees the advice request, with its due date, on "Your work".
        sign_in(pages, LEE)
        mine = page.locator("#casework li", has_text=full_name)
        expect(mine).to_contain_text("give EHC advice and information")
        expect(mine).to_contain_text(f"Due by {advice_due.day} {advice_due:%B %Y}")

        # 10. Through the APIs: Ada adds Elm Street Family Hub; Jo offers family support.
        api.call(ADA, "POST", "referrals", f"/children/{child_id}/team", json={"organisation_id": JO.organisation_id})
        api.call(JO, "POST", "referrals", f"/children/{child_id}/family-support", json={
            "summary": "Stay-and-play sessions and a parenting group offered to the family."}, retry_on=(403, 404))
        slt = wait_for(lambda: next((e for e in timeline(api, ADA, child_id)
                                     if e["type"].endswith("slt_report_shared.v1")), None), "the SLT report")
        sign_in(pages, GRACE)
        grace_before = wait_for(lambda: (ids := child_page_ids(pages, child_id, "grace-before-11")) and
                                slt["event_id"] in ids and ids, "the SLT report on Grace's page")
        sign_in(pages, DANA)
        dana_before = child_page_ids(pages, child_id, "dana-before-11")

        # 11. Ada withdraws C1c (the parent's pages are another issue: through the API); Priya records C1d.
        api.call(ADA, "POST", "consent", f"/children/{child_id}/consents/{consents['C1c']}/withdrawal", json={})
        sign_in(pages, PRIYA)
        pages.goto(child_url, "priya-before-c1d")
        record_consent(pages, ["Any health visiting service on the team"], ["Concerns", "Health", "Progress"],
                       ["Referral to other services", "Coordinating the team around the child"], "C1d")

        # 12. Priya plans the move to Oak Lane Primary (the September after the fourth birthday).
        press(pages, "Plan the move to school", "transition-form")
        page.get_by_role("radio", name="Oak Lane Primary").check()
        expect(page.get_by_role("textbox", name="Year", exact=True)).not_to_have_value("")
        page.get_by_label("The plan").fill("Visits in the summer term; SLT programme handed over; staggered start.")
        press(pages, "Continue", "transition-check")
        expect(page.locator(".govuk-summary-list")).to_contain_text("Oak Lane Primary")
        press(pages, "Save the plan", "transition-planned")
        expect(page).to_have_url(re.compile(f"{child_url}$"))

        # 13. Kit Ward types the addresses: the same "Page not found" as for made-up ids.
        sign_in(pages, KIT)
        made_up = UUID(int=child_id.int ^ 0xFFFF)
        seen = []
        for path in (child_url, f"/children/{made_up}", f"/ehc-requests/{request_id}", f"/ehc-requests/{made_up}"):
            response = page.goto(f"{web_stack.web_url}{path}")
            pages.seen(f"kit-{path.split('/')[1]}")
            seen.append((response.status, page.title(), page.locator("main").inner_text()))
        assert seen[0] == seen[1] == seen[2] == seen[3], seen
        assert seen[0][0] == 404 and seen[0][1].startswith("Page not found")

        # What each practitioner sees, on screen, against the timeline API and the story.
        consents["C2"] = consent_id_of(api, child_id, ["la_sen_team", "ep_service"])
        consents["C1d"] = consent_id_of(api, child_id, ["health_visiting"], after=consents["C1c"])
        parent_view = wait_for(lambda: (v := timeline(api, ADA, child_id)) and any(
            e["type"].endswith("team_member_joined.v1") and e["data"]["organisation_id"] == HALL.organisation_id
            for e in v) and v, "the school's joining on the timeline")
        story = story_from(parent_view, child_id, today, consents)
        gaps: list[tuple] = []  # where the screen (= the timeline API) differs from the story
        for person in CAST:
            if person is ADA:
                continue
            sign_in(pages, person)
            response = page.goto(f"{web_stack.web_url}{child_url}")
            pages.seen(f"child-page-seen-by-{person.key}")
            from_api = timeline(api, person, child_id)
            if person is KIT:
                assert response.status == 404 and from_api == []
                continue
            on_screen = shown_entries(page)
            assert [i for i, _, _ in on_screen] == [e["event_id"] for e in from_api], person.key
            assert [b for _, b, _ in on_screen] == [e["basis"] for e in from_api], person.key
            for _, basis, why in on_screen:
                assert reason_matches(person, basis, why), (person.key, basis, why)
            shown = {UUID(i): b for i, b, _ in on_screen}
            for entry in story.entries:
                expected = expected_basis(person, entry, story)
                if shown.get(entry.event_id) != expected:
                    gaps.append((person.key, entry.label, shown.get(entry.event_id), expected))
            if person is GRACE:
                assert UUID(slt["event_id"]) not in shown
                assert slt["event_id"] in grace_before
            if person is DANA:
                assert dana_before <= {str(i) for i in shown}
        assert not gaps, gaps
    finally:
        api.close()


def reason_words(person: Person, basis: str) -> str | re.Pattern:
    """The reason the child page must give for `basis`: the setting reads the consent list, so
    it names the giver and the dates; others are told it is a parent's consent."""
    if basis == "own":
        return OWN
    if basis == "own_request":
        return OWN_REQUEST
    if basis.startswith("consent:") and person.organisation_id == "sunflower-nursery":
        return re.compile(r"Consent given by Ada Okoro \(mother\) on \d{1,2} \w+ \d{4}, until \d{1,2} \w+ \d{4}")
    if basis.startswith("consent:"):
        return "A parent’s consent"
    raise AssertionError(f"unexpected basis {basis} for {person.key}")


def reason_matches(person: Person, basis: str, why: str) -> bool:
    expected = reason_words(person, basis)
    return bool(expected.fullmatch(why)) if isinstance(expected, re.Pattern) else why == expected


def consent_id_of(api: Api, child_id: UUID, agencies: list[str], after: UUID | None = None) -> UUID:
    listed = api.call(PRIYA, "GET", "consent", f"/children/{child_id}/consents")["consents"]
    found = [c for c in listed if sorted((c.get("recipients") or {}).get("agencies") or []) == sorted(agencies)
             and str(c["consent_id"]) != str(after)]
    assert len(found) == 1, found
    return UUID(str(found[0]["consent_id"]))


# -- forms of other engineers' pages, and retries while a service catches up ----------------------


def record_consent(pages: CheckedPage, agencies: list[str], categories: list[str] | None, purposes: list[str],
                   label: str) -> None:
    """Priya records a consent Ada gave on paper, on the consent form (views/consent.py)."""
    page = pages.page
    press(pages, "Record a parent’s consent", f"consent-form-{label}")
    page.get_by_label("Full name").fill("Ada Okoro")
    page.get_by_role("radio", name="Mother", exact=True).check()
    page.locator("#pr").check()  # Yes
    for name in agencies + purposes:
        page.get_by_role("checkbox", name=name, exact=True).check()
    if categories is None:
        for box in page.locator("input[name=category]").all():
            box.check()
        assert page.locator("input[name=category]:checked").count() == len(ALL_CATEGORIES)
    else:
        for name in categories:
            page.get_by_role("checkbox", name=name, exact=True).check()
    press(pages, "Continue", f"consent-check-{label}")
    expect(page.get_by_text("Ada Okoro (mother)")).to_be_visible()
    deadline = time.monotonic() + 30
    while True:
        press(pages, "Record consent", f"consent-recorded-{label}")
        if "still setting up" not in page.content() or time.monotonic() > deadline:
            break
        time.sleep(1)
        pages.follow(lambda: page.go_back(), f"consent-check-{label}-again")
    expect(page.locator(".govuk-panel")).to_contain_text("Consent recorded")
    link(pages, "Back to ", f"child-page-after-{label}", exact=False)


def request_ehc(pages: CheckedPage, child_url: str, received: date) -> None:
    """Priya requests the assessment through the check-your-answers page; while the referrals
    service has not yet consumed consent C2 the API answers 409 ("This could not be done"):
    start again from the child page."""
    page = pages.page
    deadline = time.monotonic() + 45
    attempt = 0
    while True:
        attempt += 1
        pages.goto(child_url, f"priya-child-page-ehc-{attempt}")
        press(pages, "Request an EHC needs assessment", f"ehc-form-{attempt}")
        page.get_by_role("radio", name="Northbridge SEN Team").check()
        fill_date(page, received)
        press(pages, "Continue", f"ehc-check-{attempt}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Check your answers")
        expect(page.locator(".govuk-summary-list")).to_contain_text((received + timedelta(weeks=6)).strftime("%-d %B %Y"))
        press(pages, "Send the request", f"ehc-requested-{attempt}")
        if page.url.endswith(child_url):
            return
        assert "This could not be done" in page.content() and time.monotonic() < deadline, page.url
        time.sleep(1)
