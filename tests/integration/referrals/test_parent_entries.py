"""Two-way, not a window (issue 13): a parent adds their own entries — "what we see at home"
(ParentObservationShared, `progress`) and, while an EHC needs assessment request is open, their
views and the child's (EHCParentViewsGiven, `ehc`; SEND Regulations 2014 reg. 6(1)(a), 7).
Only a parent of the child writes them: a practitioner who knows the child gets 403, anyone
else (a parent of another child, an organisation not on the team) exactly the 404 of an unknown
id. The EHC request lists the parent's views as advice received, to whom the decision lets see
them. SQLite and PostgreSQL; the real broker for the events."""

from __future__ import annotations

import re
from datetime import timedelta
from uuid import UUID, uuid4

from schemas.vocabulary import Agency, Category
from tests.integration.referrals.conftest import auth

T = "tac.referrals."
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


async def _ok(response, status=(200, 201)) -> dict:
    assert response.status_code in status, response.text
    return response.json()


def _same_as_unknown(real, unknown) -> tuple:
    """Status and words of two answers, ids blanked: what must be identical."""
    return tuple((r.status_code, re.sub(UUID_RE, "<id>", r.text)) for r in (real, unknown))


async def _child_with_ehc(s, *, start: bool = True) -> tuple[UUID, str]:
    """Amara, registered by the setting, with an EHC request to the LA (consent covers the LA
    for `ehc`), the assessment started by default."""
    child = await s.register(given_name="Amara", family_name="Okoro", date_of_birth="2023-04-02")
    s.grant_consent(child, agencies=[Agency.LA_SEN_TEAM], categories=[Category.EHC])
    ehc = await _ok(await s.client.post(f"/children/{child}/ehc-requests", headers=auth("setting"),
                                        json={"la_organisation_id": "la-sen-team"}))
    if start:
        await _ok(await s.client.post(f"/ehc-requests/{ehc['request_id']}/start", headers=auth("la")))
    return child, ehc["request_id"]


# --- "what we see at home" ----------------------------------------------------------------------


async def test_a_parent_shares_what_they_see_at_home_as_their_own_entry(service):
    s = service
    child = await s.register(given_name="Amara", family_name="Okoro", date_of_birth="2023-04-02")
    parent = auth("parent", children=[child])

    shared = await _ok(await s.client.post(f"/children/{child}/parent-observations", headers=parent, json={
        "text": "  She says 'bir' for bird and points at the window.  ", "seen_on": "2025-06-01"}), status=(201,))
    assert shared["child_id"] == str(child) and shared["seen_on"] == "2025-06-01"
    UUID(shared["observation_id"]), UUID(shared["event_id"])

    [event] = s.outbox(child, kind="parent_observation_shared")
    assert (event.id, event.category) == (UUID(shared["event_id"]), "progress")
    assert (event.actor.agency, event.actor.organisation_id, event.actor.practitioner_id) == (
        Agency.PARENT, None, "parent-kim")  # authored by the parent, for no organisation
    assert (event.data.observation_id, event.data.text, str(event.data.seen_on)) == (
        UUID(shared["observation_id"]), "She says 'bir' for bird and points at the window.", "2025-06-01")
    # Without a date: it is optional.
    await _ok(await s.client.post(f"/children/{child}/parent-observations", headers=parent, json={"text": "Sings"}))
    assert [e.data.seen_on for e in s.outbox(child, kind="parent_observation_shared")] == [event.data.seen_on, None]


async def test_only_a_parent_of_the_child_shares_what_they_see_at_home(service):
    s = service
    child, _ = await _child_with_ehc(s)
    other = await s.register(given_name="Other")
    body = {"text": "Words from someone who is not Amara's parent"}
    path = "/children/{}/parent-observations"

    # A parent of another child, and an organisation not on the team: the 404 of an unknown child.
    for who in (auth("parent", children=[other]), auth("stranger")):
        real = await s.client.post(path.format(child), headers=who, json=body)
        unknown = await s.client.post(path.format(uuid4()), headers=who, json=body)
        answers = _same_as_unknown(real, unknown)
        assert answers[0] == answers[1] and answers[0][0] == 404, answers
    # A practitioner who knows the child (the setting, the LA on the team) cannot post as a parent: 403, in words.
    for who in ("setting", "la"):
        r = await s.client.post(path.format(child), headers=auth(who), json=body)
        assert r.status_code == 403, r.text
        assert r.json()["detail"] == "only a parent of the child may share what they see at home: it is the parent's own entry"
    assert s.outbox(child, kind="parent_observation_shared") == []


async def test_the_day_a_parent_saw_something_lies_within_the_childs_early_years_and_not_ahead(service):
    s = service
    child = await s.register(given_name="Amara", family_name="Okoro", date_of_birth="2023-04-02")
    parent = auth("parent", children=[child])
    for seen_on, words in (("2025-06-03", "seen_on must not be in the future"),
                           ("2023-04-01", "seen_on must not be before the child's date of birth")):
        r = await s.client.post(f"/children/{child}/parent-observations", headers=parent,
                                json={"text": "Sings", "seen_on": seen_on})
        assert r.status_code == 422 and words in r.text, r.text
    for body in ({"text": ""}, {"text": "x" * 4001}, {"text": "nul \x00"}, {"text": "ok", "author": "setting"}):
        r = await s.client.post(f"/children/{child}/parent-observations", headers=parent, json=body)
        assert r.status_code == 422, (body, r.text)
    assert s.outbox(child, kind="parent_observation_shared") == []


# --- the parent's views on an EHC needs assessment ---------------------------------------------


async def test_a_parent_gives_their_views_and_the_childs_and_the_ehc_request_lists_them_as_advice_received(service):
    s = service
    child, request_id = await _child_with_ehc(s)
    parent = auth("parent", children=[child])

    given = await _ok(await s.client.post(f"/ehc-requests/{request_id}/parent-views", headers=parent, json={
        "parent_views": "We want Amara to be understood at nursery and to make friends.",
        "child_views": "Likes the sand tray; does not like loud rooms."}), status=(201,))
    assert (given["request_id"], given["given_on"]) == (request_id, "2025-06-02")
    [event] = s.outbox(child, kind="ehc_parent_views_given")
    assert (event.id, event.category, event.actor.agency, event.actor.organisation_id) == (
        UUID(given["event_id"]), "ehc", Agency.PARENT, None)
    assert (str(event.data.request_id), str(event.data.views_id), event.data.child_views) == (
        request_id, given["views_id"], "Likes the sand tray; does not like loud rooms.")
    # Views may be given again (the child's are optional); they are listed oldest first.
    s.clock.now += timedelta(hours=2)
    later = await _ok(await s.client.post(f"/ehc-requests/{request_id}/parent-views", headers=parent, json={
        "parent_views": "Since the draft: she now uses ten words."}))

    expected = [
        {"views_id": given["views_id"], "given_on": "2025-06-02",
         "parent_views": "We want Amara to be understood at nursery and to make friends.",
         "child_views": "Likes the sand tray; does not like loud rooms."},
        {"views_id": later["views_id"], "given_on": "2025-06-02",
         "parent_views": "Since the draft: she now uses ten words.", "child_views": None},
    ]
    # The SEN caseworker's EHC page: the LA is on the team and the consent covers it for `ehc`.
    la = await _ok(await s.client.get(f"/ehc-requests/{request_id}", headers=auth("la")))
    assert la["parent_views"] == expected and la["advice_received"] == 2 and "parent_views" not in la["hidden"]
    # Advice submitted by an organisation counts beside them.
    s.grant_consent(child, agencies=[Agency.EP_SERVICE], categories=[Category.EHC])
    asked = await _ok(await s.client.post(f"/ehc-requests/{request_id}/advice-requests", headers=auth("la"), json={
        "from_organisation_id": "ep-service-city", "from_agency": "ep_service"}))
    await _ok(await s.client.post(f"/ehc-advice/{asked['advice_id']}/submit", headers=auth("ep"), json={"summary": "EP"}))
    la = await _ok(await s.client.get(f"/ehc-requests/{request_id}", headers=auth("la")))
    assert la["advice_received"] == 3 and len(la["advice"]) == 1 and la["parent_views"] == expected
    # The parent sees their own views (rule 1).
    mine = await _ok(await s.client.get(f"/ehc-requests/{request_id}", headers=parent))
    assert mine["parent_views"] == expected


async def test_the_parents_views_reach_a_practitioner_only_under_a_consent_covering_ehc(service):
    s = service
    child, request_id = await _child_with_ehc(s)
    await _ok(await s.client.post(f"/ehc-requests/{request_id}/parent-views", headers=auth("parent", children=[child]),
                                  json={"parent_views": "Our views"}))
    # The setting made the request (its own record) but no consent covers it for `ehc`: the
    # parent's views are not its records, so they are left out and named as hidden.
    setting = await _ok(await s.client.get(f"/ehc-requests/{request_id}", headers=auth("setting")))
    assert setting["parent_views"] == [] and "parent_views" in setting["hidden"] and "Our views" not in repr(setting)
    consent = s.grant_consent(child, organisations=["sunflowers-nursery"], categories=[Category.EHC])
    setting = await _ok(await s.client.get(f"/ehc-requests/{request_id}", headers=auth("setting")))
    assert [v["parent_views"] for v in setting["parent_views"]] == ["Our views"]
    s.withdraw_consent(child, consent)
    setting = await _ok(await s.client.get(f"/ehc-requests/{request_id}", headers=auth("setting")))
    assert setting["parent_views"] == [] and "parent_views" in setting["hidden"]


async def test_only_a_parent_of_the_child_gives_the_parents_views(service):
    s = service
    child, request_id = await _child_with_ehc(s)
    other = await s.register(given_name="Other")
    body = {"parent_views": "Views from someone who is not Amara's parent"}
    for who in (auth("parent", children=[other]), auth("stranger")):
        real = await s.client.post(f"/ehc-requests/{request_id}/parent-views", headers=who, json=body)
        unknown = await s.client.post(f"/ehc-requests/{uuid4()}/parent-views", headers=who, json=body)
        answers = _same_as_unknown(real, unknown)
        assert answers[0] == answers[1] and answers[0][0] == 404, answers
    for who in ("la", "setting"):
        r = await s.client.post(f"/ehc-requests/{request_id}/parent-views", headers=auth(who), json=body)
        assert r.status_code == 403, r.text
        assert r.json()["detail"] == "only a parent of the child may give the parent's views: they are the parent's own"
    assert s.outbox(child, kind="ehc_parent_views_given") == []
    la = await _ok(await s.client.get(f"/ehc-requests/{request_id}", headers=auth("la")))
    assert la["parent_views"] == [] and la["advice_received"] == 0


async def test_views_are_given_while_the_request_is_open_and_a_409_says_why_once_it_is_not(service):
    s = service
    child, request_id = await _child_with_ehc(s, start=False)
    parent = auth("parent", children=[child])
    post = s.client.post
    # Open: requested (before the decision to assess), started, draft issued.
    await _ok(await post(f"/ehc-requests/{request_id}/parent-views", headers=parent, json={"parent_views": "Before"}))
    await _ok(await post(f"/ehc-requests/{request_id}/start", headers=auth("la")))
    await _ok(await post(f"/ehc-requests/{request_id}/draft-plan", headers=auth("la")))
    await _ok(await post(f"/ehc-requests/{request_id}/parent-views", headers=parent, json={"parent_views": "On the draft"}))
    s.clock.now += timedelta(days=15)  # reg. 13(1): the parent has 15 days to comment on the draft
    await _ok(await post(f"/ehc-requests/{request_id}/final-plan", headers=auth("la")))
    r = await post(f"/ehc-requests/{request_id}/parent-views", headers=parent, json={"parent_views": "Too late"})
    assert r.status_code == 409 and r.json()["detail"] == (
        "the EHC needs assessment request is finalised (the EHC plan is finalised): views are given while the "
        "request is open")

    declined_child, declined = await _child_with_ehc(s, start=False)
    await _ok(await post(f"/ehc-requests/{declined}/decline", headers=auth("la"), json={"reason": "Needs met"}))
    r = await post(f"/ehc-requests/{declined}/parent-views", headers=auth("parent", children=[declined_child]),
                   json={"parent_views": "Too late"})
    assert r.status_code == 409 and "is declined (the local authority decided not to assess)" in r.json()["detail"]
    assert len(s.outbox(child, kind="ehc_parent_views_given")) == 2
    assert s.outbox(declined_child, kind="ehc_parent_views_given") == []


# --- on the bus ---------------------------------------------------------------------------------


async def test_a_parents_entries_reach_the_bus_authored_by_the_parent(live_service, referrals_topic):
    s = live_service
    child, request_id = await _child_with_ehc(s)
    parent = auth("parent", children=[child])
    seen = await _ok(await s.client.post(f"/children/{child}/parent-observations", headers=parent, json={"text": "Sings"}))
    views = await _ok(await s.client.post(f"/ehc-requests/{request_id}/parent-views", headers=parent,
                                          json={"parent_views": "Ours", "child_views": "Hers"}))

    events = await referrals_topic.read([child], at_least=6)
    mine = [e for e in events if e.actor.agency == Agency.PARENT]
    assert [(e.type, e.id, e.category, e.actor.organisation_id) for e in mine] == [
        (f"{T}parent_observation_shared.v1", UUID(seen["event_id"]), "progress", None),
        (f"{T}ehc_parent_views_given.v1", UUID(views["event_id"]), "ehc", None)]
