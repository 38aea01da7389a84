"""Ada's journey in Chromium against the real stack (issue 13's acceptance): the story of
SCENARIO.md is played through the APIs for a fresh child up to step 9 (demo/scenario.py), then
Ada takes steps 10 and 11 herself in the browser: she sees every entry; she withdraws C1c from
"Who can see" with the keyboard only and, in the same test, Grace's child page (a second browser
context) no longer shows the SLT report on its next load while Dana's is unchanged; she gives a
narrower consent (C1d) through her own consent form; she adds Elm Street Family Hub from the
team page and Jo can then act (his family-support offer, refused as for an unknown child before,
is accepted); she removes Riverside SLT and its next read shows only its own records; "Who has
looked" tells each practitioner's read with the reason in words. A parent of another child
typing Amara's URLs gets the same "Page not found" as for a made-up id."""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest
from playwright.sync_api import expect

from demo.cast import ADA, DANA, GRACE, JO, MARIA, PRIYA, SAM
from tests.e2e.web.parent_helpers import (
    Browsers, give_parent_children, play_story, sign_in, sign_in_ada, tab_to,
)
from tests.e2e.web.journeys import timeline, wait_for

SLT_ORG = "riverside-slt"


@pytest.fixture
def browsers(browser, web_stack, request):
    opened = Browsers(browser, web_stack.web_url, request.node.name)
    yield opened
    unchecked = opened.close()
    if unchecked and not getattr(getattr(request.node, "rep_call", None), "failed", False):
        pytest.fail("pages shown but never checked: " + ", ".join(unchecked))


def ids_on(page) -> set[str]:
    return {li.get_attribute("data-event-id") for li in page.locator("[data-event-id]").all()}


def test_ada_sees_everything_and_decides_who_sees_what(web_stack, browsers):
    api, story = play_story(web_stack.api_urls, through_step=9)  # steps 10 and 11 are Ada's, below
    cid = story.child_id
    slt_report = str(next(e.event_id for e in story.entries if e.label == "SLT report shared"))
    c1c = str(story.consents["C1c"])  # health visiting may see concerns, health, progress and SLT
    in_story = {str(e.event_id) for e in story.entries}
    wait_for(lambda: in_story <= {e["event_id"] for e in timeline(api, ADA, cid)}, "Ada's timeline to hold the story")
    wait_for(lambda: any(e["event_id"] == slt_report for e in timeline(api, GRACE, cid)), "Grace to see the SLT report")
    give_parent_children(web_stack.stack.parent_children_file, cid)

    # -- as Ada: every entry -----------------------------------------------------------------
    ada = browsers.open("ada")
    page = sign_in_ada(ada)
    assert page.url.endswith(f"/your-child/{cid}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Amara Okoro")
    everything = {e["event_id"] for e in timeline(api, ADA, cid)}
    shown = ids_on(page)
    assert in_story <= shown
    assert shown == everything
    assert "tac.referrals" not in page.content()

    # -- Grace and Dana before -----------------------------------------------------------------
    grace = browsers.open("grace")
    sign_in(grace, GRACE)
    grace.goto(f"/children/{cid}", "grace-child-before")
    assert slt_report in ids_on(grace.page)
    dana = browsers.open("dana")
    sign_in(dana, DANA)
    dana.goto(f"/children/{cid}", "dana-child-before")
    dana_before = ids_on(dana.page)
    assert dana_before

    # -- Ada withdraws C1c (step 11), keyboard only ---------------------------------------------
    ada.goto(f"/your-child/{cid}/who-can-see", "who-can-see")
    text = page.locator("main").inner_text()
    assert "Riverside Speech and Language Therapy can see concerns, referrals and the team, speech and language " \
           "reports and progress, for referral and coordination, until" in text
    assert "recorded by Priya Shah at Sunflower Nursery on your behalf" in text
    tab_to(page, f"(el.getAttribute('href') || '').endsWith('/consents/{c1c}/withdraw')")
    ada.follow(lambda: page.keyboard.press("Enter"), "withdraw-confirm")
    expect(page.get_by_role("heading", level=1)).to_have_text("Are you sure you want to withdraw this consent?")
    assert "Northbridge Health Visiting will no longer see" in page.locator("main").inner_text()
    assert "Records an organisation wrote itself stay theirs" in page.locator("main").inner_text()
    tab_to(page, "el.textContent.trim() === 'Withdraw consent'")
    ada.follow(lambda: page.keyboard.press("Enter"), "withdrawn")
    expect(page.get_by_role("heading", level=1)).to_have_text("Consent withdrawn")

    # -- Grace's next load no longer shows the SLT report; Dana's is unchanged ------------------
    loads = 0

    def grace_without_report():
        nonlocal loads
        loads += 1
        grace.goto(f"/children/{cid}", f"grace-child-after-{loads}")
        return slt_report not in ids_on(grace.page)

    wait_for(grace_without_report, "Grace's page without the SLT report", within_s=20)
    print(f"Grace's child page without the SLT report on load {loads} after the withdrawal")
    assert loads <= 3, "the withdrawal took more than a moment to reach the timeline"
    dana.goto(f"/children/{cid}", "dana-child-after")
    assert ids_on(dana.page) == dana_before

    # -- a narrower consent (C1d) ----------------------------------------------------------------
    ada.goto(f"/your-child/{cid}/who-can-see", "who-can-see-2")
    ada.follow(lambda: page.get_by_role("button", name="Give a new consent").click(), "consent-new")
    page.get_by_role("radio", name="Mother").check()
    page.locator("#pr").check()
    page.get_by_role("checkbox", name="Any health visiting service on the team").check()
    for name in ("Concerns", "Health", "Progress"):
        page.get_by_role("checkbox", name=name, exact=True).check()
    page.get_by_role("checkbox", name="Coordinating the team around the child").check()
    ada.follow(lambda: page.get_by_role("button", name="Continue").click(), "consent-check")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your consent before you give it")
    ada.follow(lambda: page.get_by_role("button", name="Give consent").click(), "consent-given")
    expect(page.get_by_role("heading", level=1)).to_have_text("Consent given")
    consents = api.call(ADA, "GET", "consent", f"/children/{cid}/consents")["consents"]
    mine = [c for c in consents if c["status"] == "active" and c["recorded_by"]["agency"] == "parent"]
    assert [(c["recipients"]["agencies"], sorted(c["categories"])) for c in mine] == \
        [(["health_visiting"], ["concern", "health", "progress"])]

    # -- Ada adds Elm Street Family Hub (step 10): Jo can then act ------------------------------
    support = {"summary": "Stay-and-play sessions and a parenting group offered to the family."}
    status, body = api.raw(JO, "POST", "referrals", f"/children/{cid}/family-support", json=support)
    assert status == 404, (status, body)  # not on the team: the answer for an unknown child
    ada.goto(f"/your-child/{cid}/team", "team")
    expect(page.get_by_role("link", name="Remove Elm Street Family Hub")).to_have_count(0)
    ada.follow(lambda: page.get_by_role("button", name="Add an organisation").click(), "team-add")
    page.get_by_role("radio", name="Elm Street Family Hub").check()
    ada.follow(lambda: page.get_by_role("button", name="Add to the team").click(), "team-added")
    expect(page.get_by_text("Elm Street Family Hub is now on Amara’s team")).to_be_visible()
    status, body = api.raw(JO, "POST", "referrals", f"/children/{cid}/family-support", json=support)
    assert status == 201 and body["event_id"], (status, body)

    # -- remove Riverside SLT: its next read shows only its own records -------------------------
    ada.goto(f"/your-child/{cid}/team", "team-2")
    assert "Added by you" in page.locator("main").inner_text()  # Elm Street, just now
    ada.follow(lambda: page.get_by_role("link", name="Remove Riverside Speech and Language Therapy").click(), "remove")
    page.get_by_label("Why are you removing them?").fill("We are seeing a private therapist instead.")
    ada.follow(lambda: page.get_by_role("button", name="Remove from the team").click(), "removed")
    expect(page.get_by_text("Riverside Speech and Language Therapy is no longer on Amara’s team")).to_be_visible()

    def sam_reads_only_own():
        status, body = api.raw(SAM, "GET", "timeline", f"/children/{cid}/timeline")
        if status != 200:
            return (status, body)
        others = [e for e in body["entries"] if e["author"]["organisation_id"] != SLT_ORG]
        return None if others else (status, body)

    status, body = wait_for(sam_reads_only_own, "Riverside's read to show only its own records", within_s=20)
    assert status == 200 and body["entries"] and all(e["basis"] == "own" for e in body["entries"]), body

    # -- who has looked: each practitioner's read, with the reason in words ---------------------
    ada.goto(f"/your-child/{cid}/who-has-looked", "who-has-looked")
    rows = [li.inner_text() for li in page.locator(".tac-access-log li").all()]
    while (following := page.locator(".govuk-pagination__next a")).count():  # every page, newest first
        ada.follow(lambda: following.first.click(), f"who-has-looked-{len(rows)}")
        rows += [li.inner_text() for li in page.locator(".tac-access-log li").all()]
    consented = "because of the consent you gave on"
    for who, why in (("Grace Mensah, Northbridge Health Visiting, looked at", consented),
                     ("Dana Hughes, Northbridge Early Years Inclusion, looked at", consented),
                     ("Sam Okafor, Riverside Speech and Language Therapy, looked at", "their organisation wrote")):
        assert any(r.startswith(who) and why in r for r in rows), (who, why, rows)

    # -- two-way: what we see at home, and her views for the EHC needs assessment ---------------
    ada.goto(f"/your-child/{cid}/at-home", "at-home")
    page.get_by_label("What you see at home").fill("Says “more” and “car” at home; points to ask.")
    ada.follow(lambda: page.get_by_role("button", name="Share with the team").click(), "at-home-shared")
    expect(page.get_by_role("heading", level=1)).to_have_text("Shared with the team")
    ada.goto(f"/your-child/{cid}", "child-with-ehc-banner")
    ada.follow(lambda: page.get_by_role("link", name="Give your views and Amara’s").click(), "ehc-views")
    page.get_by_label("Your views, wishes and feelings").fill("We hope Amara can talk and play with her friends.")
    page.get_by_label("Amara’s views, wishes and feelings (optional)").fill("She loves the slide and picture books.")
    ada.follow(lambda: page.get_by_role("button", name="Send your views").click(), "ehc-views-sent")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your views have been sent")

    def own_entries(person):
        return [e for e in timeline(api, person, cid) if e["author"]["agency"] == "parent"
                and e["type"].rsplit(".", 1)[0].endswith(("parent_observation_shared", "ehc_parent_views_given"))]

    # Priya under C1s (progress, not ehc): the observation; Maria under C2 (every category): both.
    priya = wait_for(lambda: own_entries(PRIYA), "Priya to see Ada's observation")
    assert [e["category"] for e in priya] == ["progress"]
    maria = wait_for(lambda: len(own_entries(MARIA)) == 2 and own_entries(MARIA), "Maria to see Ada's entries")
    assert sorted(e["category"] for e in maria) == ["ehc", "progress"]
    assert all(e["basis"].startswith("consent:") for e in priya + maria)
    assert own_entries(JO) == []  # no consent names the family hub
    request = api.call(MARIA, "GET", "referrals", f"/ehc-requests/{story.ehc_request_id}")
    assert [v["parent_views"] for v in request["parent_views"]] == ["We hope Amara can talk and play with her friends."]
    ada.goto(f"/your-child/{cid}", "child-after-two-way")
    text = page.locator("main").inner_text()
    assert "What we see at home: Says “more” and “car” at home" in text and "Views for the EHC needs assessment" in text


def test_a_parent_of_another_child_gets_page_not_found_for_amaras_pages(web_stack, browsers):
    from demo.client import Api

    api = Api(dict(web_stack.api_urls))
    children = []
    for given in ("Amara", "Ben"):
        child = api.call(PRIYA, "POST", "referrals", "/children", json={
            "given_name": given, "family_name": "Okoro" if given == "Amara" else "Ward",
            "date_of_birth": date(date.today().year - 2, 1, 15).isoformat()})
        children.append(child["child_id"])
    amara, ben = children
    give_parent_children(web_stack.stack.parent_children_file, ben)  # a parent token with Ben only
    other = browsers.open("other-parent")
    sign_in_ada(other)
    made_up = str(uuid.uuid4())
    for tail in ("", "/who-can-see", "/team", "/who-has-looked", "/consents/new", "/at-home"):
        other.goto(f"/your-child/{made_up}{tail}", f"made-up{tail.replace('/', '-')}")
        expected = other.page.locator("main").inner_text()
        other.goto(f"/your-child/{amara}{tail}", f"amara{tail.replace('/', '-')}")
        assert other.page.title().startswith("Page not found")
        assert other.page.locator("main").inner_text() == expected, tail


def test_ada_opens_a_notification_at_its_entry_and_it_is_read(web_stack, browsers):
    """The inbox names Amara, never her id; opening a notification lands on its entry on Ada's
    page and reads it; the e-mail's link of the same message lands on the same entry. (The
    header's count is not compared: the story's later notifications may still be arriving.)"""
    api, story = play_story(web_stack.api_urls, through_step=9)
    cid = str(story.child_id)
    give_parent_children(web_stack.stack.parent_children_file, story.child_id)

    def amaras_unread() -> list[dict]:
        items = api.call(ADA, "GET", "notifications", "/inbox", params={"limit": 200})["items"]
        return [i for i in items if i["child_id"] == cid and not i["read_at"]]

    item = wait_for(amaras_unread, "Ada's inbox to hold an unread notification about Amara")[0]
    entry = item["about_event_id"]

    ada = browsers.open("ada")
    page = sign_in_ada(ada)
    ada.goto("/notifications", "inbox")
    expect(page.get_by_role("link", name=re.compile(r"^Notifications \(\d+ unread\)"))).to_be_visible()
    mine = page.locator("#notifications li").filter(has=page.locator(f'a[href="/notifications/{item["notification_id"]}"]'))
    expect(mine).to_have_attribute("data-unread", "true")
    expect(mine).to_contain_text("About Amara Okoro")
    assert cid not in page.locator("main").inner_text()

    ada.follow(lambda: mine.get_by_role("link").click(), "notification-opened")
    assert page.url == f"{web_stack.web_url}/your-child/{cid}#{entry}"
    expect(page.locator(f'[id="{entry}"]')).to_be_in_viewport()

    ada.goto("/notifications", "inbox-after")
    expect(mine).to_have_attribute("data-unread", "false")
    assert not [i for i in amaras_unread() if i["notification_id"] == item["notification_id"]]

    ada.goto(item["link"], "e-mail-link")  # the message's link, as the e-mail gives it
    assert page.url == f"{web_stack.web_url}/your-child/{cid}#{entry}"
