"""A parent's pages against fake APIs: My child (key person, whole timeline in words, filter),
who can see (consents as sentences, matrix, withdraw with what changes, give a new one with
check your answers), the team (why in words, add, remove with a reason), who has looked
(sentences, bases in words, paging), the two-way entries, and the guards (a practitioner gets
"Page not found"; a child the API will not show is "Page not found" as for a made-up id)."""

from __future__ import annotations

import base64

import copy
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest

from services.web.api_clients import ApiValidationError, NotFound, ServiceUnavailable
from services.web.config import WebSettings
from services.web.views.parent.common import DONE_KEY, take_done
from tests.unit.web.conftest import make_web

CHILD_ID = "7c9e6679-7425-40de-944b-e07fc1f66afe"
OTHER_ID = "11111111-2222-4333-8444-555555555555"
C1B = "cccccccc-dddd-4eee-8fff-000000000001"
C1C = "cccccccc-dddd-4eee-8fff-000000000002"
C_OLD = "cccccccc-dddd-4eee-8fff-000000000003"
REQUEST_ID = "dddddddd-eeee-4fff-8000-111111111111"
B = f"/your-child/{CHILD_ID}"

TEAM = [
    {"organisation_id": "sunflower-nursery", "organisation_name": "Sunflower Nursery", "agency": "setting",
     "role": "setting", "since": "2026-01-05", "joined_through": "registered", "invited_by": None},
    {"organisation_id": "riverside-slt", "organisation_name": "Riverside Speech and Language Therapy",
     "agency": "slt_service", "role": "slt_service", "since": "2026-01-07", "joined_through": "referral_accepted",
     "invited_by": None},
    {"organisation_id": "northbridge-hv", "organisation_name": "Northbridge Health Visiting",
     "agency": "health_visiting", "role": "health_visiting", "since": "2026-01-08", "joined_through": "invitation",
     "invited_by_organisation_id": "sunflower-nursery", "invited_by": "Sunflower Nursery"},
    {"organisation_id": "elm-street-hub", "organisation_name": "Elm Street Family Hub", "agency": "childrens_centre",
     "role": "childrens_centre", "since": "2026-01-09", "joined_through": "parent", "invited_by": None},
]
CHILD = {"child_id": CHILD_ID, "setting_organisation_id": "sunflower-nursery",
         "setting_organisation_name": "Sunflower Nursery", "team": TEAM, "details_hidden": False,
         "given_name": "Amara", "family_name": "Okoro", "age_months": 26,
         "key_person": {"id": "tom-reed", "name": "Tom Reed"}, "buddy": None}

PRIYA = {"practitioner_id": "priya-shah", "organisation_id": "sunflower-nursery", "agency": "setting", "role": "senco"}


def consent(cid: str, recipients: dict, categories: list[str], status: str = "active", **extra) -> dict:
    return {"consent_id": cid, "child_id": CHILD_ID, "status": status,
            "given_by": {"name": "Ada Okoro", "relationship": "mother", "has_parental_responsibility": True},
            "recorded_on_behalf": True, "recorded_by": PRIYA, "recorded_at": "2026-12-01T10:00:00+00:00",
            "recipients": {"organisation_ids": [], "agencies": [], **recipients}, "categories": categories,
            "purposes": ["referral", "coordination"], "valid_from": "2026-12-01T10:00:00+00:00",
            "expires_at": "2027-12-01T10:00:00+00:00", "withdrawal": None, **extra}


CONSENTS = [
    consent(C1B, {"organisation_ids": ["riverside-slt"]}, ["concern", "referral", "slt", "progress"]),
    consent(C1C, {"agencies": ["health_visiting"]}, ["concern", "health", "progress", "slt"]),
    consent(C_OLD, {"agencies": ["area_senco"]}, ["concern"], status="withdrawn",
            withdrawal={"withdrawn_at": "2026-12-02T09:00:00+00:00"}),
]


def entry(eid: str, kind: str, category: str, data: dict, author: dict, at: str) -> dict:
    return {"event_id": eid, "type": f"tac.referrals.{kind}.v1", "category": category, "occurred_at": at,
            "author": author, "summary": f"raw {kind}", "data": data, "basis": "parent"}


SAM = {"practitioner_id": "sam-okafor", "organisation_id": "riverside-slt", "agency": "slt_service", "role": "slt"}
ADA = {"practitioner_id": "ada-okoro", "organisation_id": None, "agency": "parent", "role": "parent"}
ENTRIES = [
    entry("e1", "concern_raised", "concern", {"areas_of_need": ["communication_and_interaction"],
                                              "summary": "Few words."}, PRIYA, "2026-12-01T10:05:00+00:00"),
    entry("e3", "ehc_assessment_requested", "ehc", {"request_id": REQUEST_ID, "la_organisation_id": "northbridge-sen"},
          PRIYA, "2026-12-03T11:00:00+00:00"),
    entry("e2", "slt_report_shared", "slt", {"assessment_summary": "Expressive language delay.",
                                             "programme": "Daily shared books."}, SAM, "2026-12-02T16:30:00+00:00"),
    entry("e4", "parent_observation_shared", "progress", {"observation_id": "o1", "text": "Says “more” at tea.",
                                                           "seen_on": "2026-12-03"}, ADA, "2026-12-04T08:00:00+00:00"),
]

VIEWS = [
    {"view_id": "v1", "viewer": {"practitioner_id": "dana-hughes", "organisation_id": "northbridge-inclusion",
                                 "agency": "area_senco", "role": "area_senco"},
     "viewed_at": "2026-12-01T13:34:00+00:00", "entries_shown": 14, "bases": {f"consent:{C1B}": 12, "own": 2}},
    {"view_id": "v2", "viewer": {"practitioner_id": "grace-mensah", "organisation_id": "northbridge-hv",
                                 "agency": "health_visiting", "role": "health_visitor"},
     "viewed_at": "2026-12-02T09:00:00+00:00", "entries_shown": 1, "bases": {"own": 1}},
]


class World:
    """The fake APIs' answers for one parent's child; every call recorded in `calls`."""

    def __init__(self, web) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.known = {CHILD_ID}
        self.child = copy.deepcopy(CHILD)
        self.team = copy.deepcopy(TEAM)
        self.consents = copy.deepcopy(CONSENTS)
        self.entries = copy.deepcopy(ENTRIES)
        self.views = copy.deepcopy(VIEWS)
        self.fail: dict[str, Exception] = {}
        r, c, t = web.apis.referrals, web.apis.consent, web.apis.timeline
        r.children = [{"child_id": CHILD_ID, "given_name": "Amara", "family_name": "Okoro", "details_hidden": False}]
        r.child = self._f("child", lambda cid: self.child)
        r.team = self._f("team", lambda cid: {"child_id": cid, "members": self.team})
        r.add_team_member = self._f("add_team_member", lambda cid, body: {
            "organisation_id": body["organisation_id"], "organisation_name": "Oak Lane Primary", "event_id": "x"})
        r.remove_team_member = self._f("remove_team_member", lambda cid, org, body: {"event_id": "y"})
        r.share_parent_observation = self._f("share_parent_observation", lambda cid, body: {"event_id": "z"})
        r.give_parent_views = self._f("give_parent_views", lambda rid, body: {"event_id": "w"})
        c.consents = self._f("consents", lambda cid: {"child_id": cid, "consents": self.consents})
        c.withdraw_consent = self._f("withdraw_consent", lambda cid, consent_id, body=None: {"event_id": "u"})
        c.grant_consent = self._f("grant_consent", lambda cid, body: {"consent_id": "new", "expires_at": body["expires_at"]})
        t.timeline = self._f("timeline", lambda cid, **p: {"child_id": cid, "entries": self.entries})
        t.access_log = self._f("access_log", lambda cid, **p: {"child_id": cid, "views": self.views})

    def _f(self, name, answer):
        async def call(*args, **kwargs):
            self.calls.append((name, args[1:] if len(args) > 1 else args))
            if name in self.fail:
                raise self.fail[name]
            cid = str(args[0]) if args else ""
            if name in ("child", "team", "consents", "timeline", "access_log", "withdraw_consent", "add_team_member",
                        "remove_team_member", "share_parent_observation") and cid not in self.known:
                raise NotFound("")
            return answer(*args, **kwargs)
        return call

    def called(self, name: str) -> list:
        return [args for n, args in self.calls if n == name]


@pytest.fixture
def world(web):
    return World(web)


@pytest.fixture
def ada(web, world):
    web.sign_in_as("ada-okoro")
    return web


def session_of(web) -> str:
    """The session cookie's contents as anyone holding the cookie can read them (Starlette signs
    it; it does not encrypt it)."""
    payload = web.client.cookies.get("session", "").split(".")[0]
    return base64.b64decode(payload + "=" * (-len(payload) % 4)).decode()


def post(web, path: str, **data):
    data.setdefault("csrf_token", web.csrf(path))
    return web.client.post(path, data=data, follow_redirects=False)


# -- sign-in and guards ------------------------------------------------------------------------


def test_the_dev_parent_children_file_is_read_at_each_sign_in(tmp_path):
    children = tmp_path / "dev-parent-children"
    web = make_web(WebSettings(environment="development", dev_parent_children_file=children))
    with web.client:
        import jwt

        web.sign_in_as("ada-okoro")  # no file yet: no children
        web.client.get("/notifications")
        assert jwt.decode(web.apis.notifications.token, options={"verify_signature": False}).get("children", []) == []
        children.write_text(f"{CHILD_ID}\nnot-an-id\n\n{OTHER_ID}\n", encoding="utf-8")
        web.client.post("/sign-out", data={"csrf_token": web.csrf("/notifications")})
        web.sign_in_as("ada-okoro")
        web.client.get("/notifications")
        claims = jwt.decode(web.apis.notifications.token, options={"verify_signature": False})
        assert sorted(claims["children"]) == sorted([CHILD_ID, OTHER_ID])


def test_one_child_goes_straight_to_their_page_and_a_practitioner_gets_page_not_found(web, world):
    web.sign_in_as("ada-okoro")
    response = web.client.get("/your-child", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == B
    web.client.post("/sign-out", data={"csrf_token": web.csrf(B)})
    web.sign_in_as("priya-shah")
    for path in (B, f"{B}/who-can-see", f"{B}/team", f"{B}/who-has-looked", f"{B}/at-home"):
        page = web.client.get(path)
        assert page.status_code == 404 and "Page not found" in page.text, path


def test_another_childs_pages_are_page_not_found_like_a_made_up_id(ada, world):
    world.known = set()  # the API will not show this parent the child
    made_up = ada.client.get("/your-child/00000000-0000-4000-8000-000000000000")
    for path in (B, f"{B}/who-can-see", f"{B}/team", f"{B}/who-has-looked", f"{B}/consents/new",
                 f"{B}/consents/{C1B}/withdraw", f"{B}/team/riverside-slt/remove"):
        page = ada.client.get(path)
        assert page.status_code == 404 == made_up.status_code, path
        assert page.text == made_up.text.replace("00000000-0000-4000-8000-000000000000", CHILD_ID) or \
            "Page not found" in page.text


# -- My child ------------------------------------------------------------------------------------


def test_my_child_names_the_key_person_and_tells_the_whole_timeline_newest_first(ada, world):
    page = ada.client.get(B)
    assert page.status_code == 200
    text = page.text
    assert "<title>Amara Okoro – TAC</title>" in text
    assert "Your first contact is <strong>Tom Reed</strong>, Amara’s key person at Sunflower Nursery" in text
    assert "4 entries" in text
    order = [text.index(s) for s in ("What we see at home", "EHC needs assessment requested from Northbridge SEN Team",
                                     "Speech and language therapy report shared", "Concern raised")]
    assert order == sorted(order)
    assert "Sam Okafor, Riverside Speech and Language Therapy" in text and "Priya Shah, Sunflower Nursery" in text
    assert "2 December 2026 at 16:30" in text
    assert "You ·" in text  # her own entry
    assert f"{B}/ehc/{REQUEST_ID}/views" in text  # asked for her views
    assert "e2" in text and "tac.referrals" not in text


def test_the_timeline_can_be_filtered_by_kind(ada, world):
    page = ada.client.get(B, params={"category": "slt"})
    assert "Showing 1 of 4" in page.text
    assert "Speech and language therapy report shared" in page.text and "Concern raised" not in page.text


# -- Who can see ---------------------------------------------------------------------------------


def test_who_can_see_tells_each_consent_as_a_sentence(ada, world):
    page = ada.client.get(f"{B}/who-can-see")
    assert page.status_code == 200
    text = page.text
    assert ("Riverside Speech and Language Therapy can see concerns, referrals and the team, speech and language "
            "reports and progress, for referral and coordination, until 1 December 2027 — recorded by Priya Shah "
            "at Sunflower Nursery on your behalf on 1 December 2026") in text
    assert "Any health visiting service on Amara’s team (now Northbridge Health Visiting) can see" in text
    assert "Withdrawn on 2 December 2026" in text
    assert f"{B}/consents/{C1B}/withdraw" in text and f"{B}/consents/{C_OLD}/withdraw" not in text


def test_the_matrix_ticks_what_each_team_organisation_can_see(ada, world):
    text = ada.client.get(f"{B}/who-can-see").text
    table = text[text.index("<table"):text.index("</table>")]
    rows = {r.split("</th>")[0].split(">")[-1]: r for r in table.split('<tr class="govuk-table__row">')[2:]}
    assert rows["Riverside Speech and Language Therapy"].count("Can see") == 4
    assert rows["Northbridge Health Visiting"].count("Can see") == 4
    assert rows["Elm Street Family Hub"].count("Can see") == 0  # no consent names it
    assert 'class="tac-table-scroll tac-matrix-grid" role="region"' in text and 'tabindex="0"' in text
    # the same answer as a list, for a phone
    listed = text[text.index('tac-matrix-list'):text.index('</dl>')]
    rows = {r.split("</dt>")[0].split(">")[-1]: r for r in listed.split('<div class="govuk-summary-list__row">')[1:]}
    assert rows["Riverside Speech and Language Therapy"].count("<li>") == 4
    assert "<li>Speech and language therapy</li>" in rows["Riverside Speech and Language Therapy"]
    assert "Nothing from your consents" in rows["Elm Street Family Hub"]


def test_withdrawing_says_what_changes_at_once_then_withdraws(ada, world):
    path = f"{B}/consents/{C1C}/withdraw"
    page = ada.client.get(path)
    text = page.text
    assert "Are you sure you want to withdraw this consent?" in text
    assert "Northbridge Health Visiting will no longer see concerns, health records, progress and speech and " \
           "language reports shared by others." in text
    assert "Records an organisation wrote itself stay theirs" in text
    assert not world.called("withdraw_consent")
    response = post(ada, path)
    assert response.status_code == 303 and response.headers["location"] == f"{B}/consents/withdrawn"
    assert [str(a[0]) for a in world.called("withdraw_consent")] == [C1C]
    assert "Amara" not in session_of(ada) and "Northbridge" not in session_of(ada)  # the words are made when shown
    done = ada.client.get(f"{B}/consents/withdrawn")
    assert "Consent withdrawn" in done.text and "govuk-panel" in done.text
    assert "You withdrew: Any health visiting service on Amara’s team (now Northbridge Health Visiting) can see" in done.text
    again = ada.client.get(f"{B}/consents/withdrawn", follow_redirects=False)  # said once
    assert again.status_code == 303 and again.headers["location"] == f"{B}/who-can-see"


def test_a_confirmation_the_page_could_not_show_is_shown_on_the_next_try(ada, world):
    post(ada, f"{B}/consents/{C1C}/withdraw")
    world.fail["consents"] = ServiceUnavailable("consent", "could not connect")
    assert ada.client.get(f"{B}/consents/withdrawn").status_code == 503
    del world.fail["consents"]
    again = ada.client.get(f"{B}/consents/withdrawn", follow_redirects=False)
    assert again.status_code == 200 and "You withdrew:" in again.text


def test_a_confirmation_kept_without_what_the_page_needs_is_not_said():
    class Page:  # a session written by the page's earlier version: the sentence, no consent id
        request = SimpleNamespace(session={DONE_KEY: {"child_id": CHILD_ID, "kind": "withdrawn", "sentence": "…"}})

    assert take_done(Page(), UUID(CHILD_ID), "withdrawn", needs=("consent_id",)) is None  # type: ignore[arg-type]
    assert take_done(Page(), UUID(CHILD_ID), "withdrawn") is not None  # type: ignore[arg-type]


def test_withdrawing_tells_what_another_consent_still_covers(ada, world):
    world.consents.append(consent("cccccccc-dddd-4eee-8fff-000000000009", {"organisation_ids": ["northbridge-hv"]},
                                  ["health"]))
    text = ada.client.get(f"{B}/consents/{C1C}/withdraw").text
    assert "will no longer see concerns, progress and speech and language reports shared by others " \
           "(another consent still lets it see health records)" in text


def test_giving_a_consent_goes_through_check_your_answers(ada, world):
    form = f"{B}/consents/new"
    page = ada.client.get(form)
    assert 'value="Ada Okoro"' in page.text and "Do you have parental responsibility for Amara?" in page.text
    bad = post(ada, form, given_by_name="Ada Okoro")
    assert bad.status_code == 400 and "Select at least one kind of information" in bad.text
    assert 'href="#categories"' in bad.text
    response = post(ada, form, given_by_name="Ada Okoro", relationship="mother", pr="yes",
                    agency=["health_visiting"], category=["concern", "health"], purpose=["coordination"], period="6")
    assert response.status_code == 303 and response.headers["location"] == f"{B}/consents/check"
    check = ada.client.get(f"{B}/consents/check")
    assert "Check your consent before you give it" in check.text and "Any health visiting service on the team" in check.text
    assert not world.called("grant_consent")
    given = post(ada, f"{B}/consents/check")
    assert given.status_code == 303 and given.headers["location"] == f"{B}/consents/given"
    body = world.called("grant_consent")[0][0]
    assert body["recipients"] == {"organisation_ids": [], "agencies": ["health_visiting"]}
    assert body["categories"] == ["concern", "health"] and body["given_by"]["relationship"] == "mother"
    assert "Consent given" in ada.client.get(f"{B}/consents/given").text


# -- the team ------------------------------------------------------------------------------------


def test_the_team_says_who_since_when_and_why(ada, world):
    text = ada.client.get(f"{B}/team").text
    assert "Accepted a referral" in text and "Invited by Sunflower Nursery" in text and "Added by you" in text
    assert "7 January 2026" in text
    assert f"{B}/team/riverside-slt/remove" in text and f"{B}/team/sunflower-nursery/remove" not in text


def test_adding_an_organisation_from_the_directory(ada, world):
    form = ada.client.get(f"{B}/team/add").text
    assert "Oak Lane Primary" in form and 'value="riverside-slt"' not in form  # already on the team
    assert "Area SENCO team" in form and "Area senco team" not in form  # the kind of service as it is written
    assert post(ada, f"{B}/team/add").status_code == 400
    response = post(ada, f"{B}/team/add", organisation="oak-lane-primary")
    assert response.status_code == 303 and response.headers["location"] == f"{B}/team"
    assert world.called("add_team_member")[0][0] == {"organisation_id": "oak-lane-primary"}
    assert "Amara" not in session_of(ada)  # the child's name is put in the words when they are shown
    assert "Oak Lane Primary is now on Amara’s team" in ada.client.get(f"{B}/team").text
    assert "is now on" not in ada.client.get(f"{B}/team").text  # said once, not at every visit after


def test_removing_an_organisation_asks_for_a_reason_and_says_what_changes(ada, world):
    path = f"{B}/team/riverside-slt/remove"
    page = ada.client.get(path)
    assert "What it wrote itself stays its own record" in page.text
    missing = post(ada, path)
    assert missing.status_code == 400 and "Enter why you are removing them" in missing.text
    assert not world.called("remove_team_member")
    response = post(ada, path, reason="We have moved to another service.")
    assert response.status_code == 303
    assert world.called("remove_team_member")[0] == ("riverside-slt", {"reason": "We have moved to another service."})
    assert "Riverside Speech and Language Therapy is no longer on Amara’s team" in ada.client.get(f"{B}/team").text
    assert ada.client.get(f"{B}/team/sunflower-nursery/remove").status_code == 404  # the setting stays


# -- who has looked ------------------------------------------------------------------------------


def test_who_has_looked_in_sentences_newest_first_with_the_reason_in_words(ada, world):
    text = ada.client.get(f"{B}/who-has-looked").text
    assert "Grace Mensah, Northbridge Health Visiting, looked at 1 entry on 2 December 2026 at 09:00" in text
    assert ("Dana Hughes, Northbridge Early Years Inclusion, looked at 14 entries on 1 December 2026 at 13:34 — "
            "12 entries because of the consent you gave on 1 December 2026 and 2 entries their organisation wrote") in text
    assert text.index("Grace Mensah") < text.index("Dana Hughes")


def test_who_has_looked_is_paged(ada, world):
    world.views = [dict(VIEWS[1], view_id=f"v{i}", viewed_at=f"2026-12-02T09:{i:02d}:00+00:00") for i in range(45)]
    first = ada.client.get(f"{B}/who-has-looked").text
    assert first.count("looked at 1 entry") == 20 and "09:44" in first and "govuk-pagination" in first
    third = ada.client.get(f"{B}/who-has-looked", params={"page": 3}).text
    assert third.count("looked at 1 entry") == 5 and "09:00" in third


# -- two-way -------------------------------------------------------------------------------------


def test_a_parent_shares_what_they_see_at_home(ada, world):
    path = f"{B}/at-home"
    assert post(ada, path).status_code == 400
    bad_date = post(ada, path, text="Says more.", seen_day="31", seen_month="2", seen_year="2026")
    assert bad_date.status_code == 400 and "Enter a real date" in bad_date.text
    huge_day = post(ada, path, text="Says more.", seen_day="9" * 20, seen_month="2", seen_year="2026")
    assert huge_day.status_code == 400 and "Enter a real date" in huge_day.text  # not a crash
    response = post(ada, path, text="Points at the cat and says “cat”.", seen_day="3", seen_month="12", seen_year="2025")
    assert response.status_code == 303 and response.headers["location"] == f"{B}/at-home/shared"
    assert world.called("share_parent_observation")[0][0] == {"text": "Points at the cat and says “cat”.",
                                                              "seen_on": "2025-12-03"}
    assert "Shared with the team" in ada.client.get(f"{B}/at-home/shared").text


def test_a_parent_gives_their_views_and_their_childs_for_the_ehc_assessment(ada, world):
    path = f"{B}/ehc/{REQUEST_ID}/views"
    page = ada.client.get(path)
    assert "Your views for the EHC needs assessment" in page.text and "Amara’s views" in page.text
    assert post(ada, path, child_views="Likes the slide.").status_code == 400
    response = post(ada, path, parent_views="We want Amara to talk with her friends.", child_views="Likes the slide.")
    assert response.status_code == 303
    assert world.called("give_parent_views")[0][0] == {"parent_views": "We want Amara to talk with her friends.",
                                                        "child_views": "Likes the slide."}
    assert ada.client.get(f"{B}/ehc/{OTHER_ID}/views").status_code == 404  # not a request on her child's timeline


def test_the_api_422_on_views_is_shown_against_the_field(ada, world):
    world.fail["give_parent_views"] = ApiValidationError({"parent_views": "is too long"})
    response = post(ada, f"{B}/ehc/{REQUEST_ID}/views", parent_views="x")
    assert response.status_code == 400 and 'href="#parent-views"' in response.text


def test_notifications_are_the_parents_too_with_email(ada, world):
    ada.apis.notifications.unread = 2
    page = ada.client.get(B)
    assert "Notifications (2 unread)" in page.text and "/notifications/email" in page.text
    assert ada.client.get("/notifications").status_code == 200
    assert ada.client.get("/notifications/email").status_code == 200
