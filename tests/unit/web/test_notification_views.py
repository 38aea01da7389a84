"""The inbox, opening a notification, and the link every message carries, as people use them."""

from __future__ import annotations

import uuid

from services.web.api_clients import ServiceUnavailable
from services.web.bootstrap import SESSION_COOKIE

AMARA = str(uuid.uuid4())
OTHER_CHILD = str(uuid.uuid4())
CONCERN = str(uuid.uuid4())


def notification(child_id: str = AMARA, *, read: bool = False, organisation: str | None = "Sunflower Nursery") -> dict:
    """An inbox item as the notifications API gives it, with the e-mail's own words in `text`."""
    nid, event = str(uuid.uuid4()), str(uuid.uuid4())
    return {
        "notification_id": nid, "title": "A concern was raised",
        "text": f"A new entry is on the TAC timeline of child {child_id}.\nOpen it in TAC to read it: "
                f"https://tac.example.org/children/{child_id}/timeline#{event}",
        "link": f"https://tac.example.org/children/{child_id}/timeline#{event}",
        "child_id": child_id, "about": "tac.referrals.v1.ConcernRaised", "about_event_id": event,
        "organisation_id": "sunflower-nursery" if organisation else None, "organisation_name": organisation,
        "created_at": "2026-12-02T09:30:00+00:00", "read_at": "2026-12-02T10:00:00+00:00" if read else None,
    }


def test_the_inbox_names_the_child_and_the_organisation_and_links_to_each_notification(web):
    unread, read = notification(), notification(read=True, organisation=None)
    web.apis.notifications.items = [unread, read]
    web.apis.referrals.children = [{"child_id": AMARA, "given_name": "Amara", "family_name": "Okoro"}]
    web.sign_in_as("dana-hughes")
    page = web.client.get("/notifications")
    assert page.status_code == 200
    text = page.text
    assert f'href="/notifications/{unread["notification_id"]}"' in text
    assert f'href="/notifications/{read["notification_id"]}"' in text
    assert "About Amara Okoro, from Sunflower Nursery" in text
    assert text.count("Unread</strong>") == 1
    # The e-mail's words are not the page's: no child id, no address to copy.
    assert AMARA not in text.replace(f'/notifications/{unread["notification_id"]}', "")
    assert "tac.example.org" not in text and "Open it in TAC" not in text


def test_a_reminder_says_its_due_day_and_a_safeguarding_grant_its_end_in_words(web):
    reminder = {**notification(organisation=None), "title": "The final EHC plan is due", "due_on": "2027-03-15"}
    grant = {**notification(), "title": "Safeguarding access to the child's record was granted",
             "until": "2026-12-05T14:00:00+00:00"}
    web.apis.notifications.items = [reminder, grant, notification()]
    web.sign_in_as("dana-hughes")
    text = web.client.get("/notifications").text
    assert "Due on 15 March 2027" in text and "Access until 5 December 2026 at 14:00" in text
    assert text.count("Due on") == 1 and text.count("Access until") == 1


def test_older_notifications_are_a_page_further_by_the_apis_cursor(web):
    web.apis.notifications.items = [notification()]
    web.apis.notifications.next_before = "2026-12-01T08:00:00.000001+00:00"
    web.sign_in_as("dana-hughes")
    first = web.client.get("/notifications").text
    assert 'href="/notifications?before=2026-12-01T08%3A00%3A00.000001%2B00%3A00"' in first
    assert "Older notifications" in first and "Newest" not in first
    older = web.client.get("/notifications", params={"before": "2026-12-01T08:00:00.000001+00:00"})
    assert older.status_code == 200 and "Newest" in older.text
    asked = [params for name, params in web.apis.notifications.calls if name == "inbox"][-1]
    assert asked["before"].isoformat() == "2026-12-01T08:00:00.000001+00:00"
    for malformed in ("yesterday", "2026-12-01T08:00:00"):  # the API takes a time with its offset only
        assert web.client.get("/notifications", params={"before": malformed}).status_code == 400, malformed


def test_a_child_the_person_may_not_see_named_is_a_child_never_an_id(web):
    hidden = notification(OTHER_CHILD)
    web.apis.notifications.items = [hidden, notification()]
    web.apis.referrals.children = [{"child_id": OTHER_CHILD, "details_hidden": True}]
    web.sign_in_as("dana-hughes")
    text = web.client.get("/notifications").text
    assert text.count("About a child, from Sunflower Nursery") == 2
    assert OTHER_CHILD not in text and AMARA not in text


def test_the_inbox_shows_without_names_when_the_referrals_api_is_down(web):
    web.apis.notifications.items = [notification()]
    web.apis.referrals.fail_with = ServiceUnavailable("referrals", "could not connect")
    web.sign_in_as("dana-hughes")
    page = web.client.get("/notifications")
    assert page.status_code == 200 and "About a child, from Sunflower Nursery" in page.text


def test_opening_a_notification_marks_it_read_and_lands_on_its_entry_on_the_child_page(web):
    item = notification()
    web.apis.notifications.items = [item]
    web.sign_in_as("dana-hughes")
    opened = web.client.get(f"/notifications/{item['notification_id']}", follow_redirects=False)
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/children/{AMARA}#{item['about_event_id']}"
    assert ("mark_read", uuid.UUID(item["notification_id"])) in web.apis.notifications.calls
    assert item["read_at"]


def test_a_parent_opening_a_notification_lands_on_her_childs_page(web):
    item = notification()
    web.apis.notifications.items = [item]
    web.sign_in_as("ada-okoro")
    opened = web.client.get(f"/notifications/{item['notification_id']}", follow_redirects=False)
    assert opened.headers["location"] == f"/your-child/{AMARA}#{item['about_event_id']}"


def test_a_notification_that_is_not_yours_is_page_not_found(web):
    web.sign_in_as("dana-hughes")
    page = web.client.get(f"/notifications/{uuid.uuid4()}")
    assert page.status_code == 404 and "Page not found" in page.text
    assert web.client.get("/notifications/not-an-id").status_code == 404


def test_a_messages_link_opens_the_child_page_as_the_person_sees_it(web):
    web.sign_in_as("dana-hughes")
    link = web.client.get(f"/children/{AMARA}/timeline", follow_redirects=False)
    assert (link.status_code, link.headers["location"]) == (303, f"/children/{AMARA}")
    web.client.post("/sign-out", data={"csrf_token": web.csrf("/notifications")})
    web.sign_in_as("ada-okoro")
    link = web.client.get(f"/children/{AMARA}/timeline", follow_redirects=False)
    assert (link.status_code, link.headers["location"]) == (303, f"/your-child/{AMARA}")


def test_a_link_followed_before_signing_in_is_where_signing_in_arrives(web):
    asked = web.client.get(f"/children/{AMARA}/timeline", follow_redirects=False)
    assert asked.headers["location"] == "/sign-in"
    signed_in = web.client.post("/sign-in", data={"person": "dana-hughes", "csrf_token": web.csrf()},
                                follow_redirects=False)
    assert signed_in.headers["location"] == f"/children/{AMARA}/timeline"
    # Once: the next sign-in goes home.
    web.client.post("/sign-out", data={"csrf_token": web.csrf("/notifications")})
    again = web.client.post("/sign-in", data={"person": "dana-hughes", "csrf_token": web.csrf()},
                            follow_redirects=False)
    assert again.headers["location"] == "/"


def test_the_path_asked_for_is_remembered_without_its_query_and_a_post_not_at_all(web):
    """A query may hold a name typed into a search: it is not kept in the session cookie."""
    web.client.get("/children?name=Amara", follow_redirects=False)
    web.client.post("/notifications/email", data={"email": "x@example.org"}, follow_redirects=False)
    signed_in = web.client.post("/sign-in", data={"person": "dana-hughes", "csrf_token": web.csrf()},
                                follow_redirects=False)
    assert signed_in.headers["location"] == "/children"


def test_a_parent_who_asked_for_the_home_page_signs_in_to_her_own(web):
    web.client.get("/", follow_redirects=False)
    signed_in = web.client.post("/sign-in", data={"person": "ada-okoro", "csrf_token": web.csrf()},
                                follow_redirects=False)
    assert signed_in.headers["location"] == "/your-child"


def test_a_page_asked_for_long_ago_or_too_long_a_path_is_not_where_sign_in_goes(web):
    web.client.get(f"/children/{AMARA}/timeline", follow_redirects=False)
    web.clock.now += 601  # whoever signs in next on this browser, eleven minutes on
    late = web.client.post("/sign-in", data={"person": "dana-hughes", "csrf_token": web.csrf()},
                           follow_redirects=False)
    assert late.headers["location"] == "/"
    web.client.post("/sign-out", data={"csrf_token": web.csrf("/notifications")})
    web.client.get("/children/" + "a" * 600, follow_redirects=False)
    assert len(web.client.cookies.get(SESSION_COOKIE) or "") < 1000
    long = web.client.post("/sign-in", data={"person": "dana-hughes", "csrf_token": web.csrf()},
                           follow_redirects=False)
    assert long.headers["location"] == "/"


def test_a_cursor_outside_what_utc_can_hold_is_the_400_page(web):
    web.sign_in_as("dana-hughes")
    for cursor in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"):
        assert web.client.get("/notifications", params={"before": cursor}).status_code == 400, cursor
