"""The security review of the team around the child (issue 10), one spec per finding, through the
API on SQLite and PostgreSQL: the transition school and an invited organisation are named to
only under consent; an invitation dies with its inviter's place on the team; the team list and
the child's personal details follow one rule; rows of self-asserted joins are closed; a
referral is answered only while consent still covers its receiver; the answers to a setting's
requests are its to see (rule 3); an addressee is on the team before the request reaches it."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID, uuid4

from sqlalchemy import insert, select

from schemas.vocabulary import Agency, Category
from services.common.db import make_engine
from services.referrals.adapters import team_store as store
from tests.integration.referrals.conftest import auth

TRANSITION = {"school_organisation_id": "oak-primary", "starts_on": "2027-09-01", "plan_summary": "Summer visits"}


async def _ok(response, status=(200, 201)) -> dict:
    assert response.status_code in status, response.text
    return response.json()


def _types(s, child: UUID) -> list[str]:
    return [e.type.removeprefix("tac.referrals.").removesuffix(".v1") for e in s.outbox(child)]


# 1. -------------------------------------------------------------------------------------------

async def test_the_school_of_a_transition_plan_joins_the_team_but_sees_nothing_no_consent_names_it_for(service):
    """SCENARIO step 12: the plan puts the school on the team; no consent names it yet, so it sees
    the child's team as its own row and the setting's, no personal details, nothing shared."""
    s, post, get = service, service.client.post, service.client.get
    child = await s.register()
    s.grant_consent(child, agencies=[Agency.SLT_SERVICE], categories=[Category.REFERRAL])  # names another
    await s.join_by_invitation(child, "slt")
    planned = await _ok(await post(f"/children/{child}/transition", headers=auth("setting"), json=TRANSITION))
    assert planned["school_organisation_name"] == "Oak Primary"
    # 8. The school is on the team before the plan reaches it.
    assert _types(s, child)[-2:] == ["team_member_joined", "transition_to_school_planned"]
    read = await _ok(await get(f"/children/{child}", headers=auth("school")))
    assert read["details_hidden"] is True and "given_name" not in read
    team = await _ok(await get(f"/children/{child}/team", headers=auth("school")))
    assert {m["organisation_id"] for m in team["members"]} == {read["setting_organisation_id"], "oak-primary"}


# 2. -------------------------------------------------------------------------------------------

async def test_an_invitation_names_the_child_only_to_an_organisation_a_consent_names(service):
    s, post, get = service, service.client.post, service.client.get
    child = await s.register()
    s.grant_consent(child, agencies=[Agency.SLT_SERVICE], categories=[Category.HEALTH])  # names another agency
    r = await post(f"/children/{child}/invitations", headers=auth("setting"), json={"organisation_id": "hv-team-west"})
    assert r.status_code == 409 and r.json()["detail"] == "no active consent names hv-team-west/health_visiting"
    assert "invitation_sent" not in _types(s, child)
    assert (await _ok(await get("/invitations", headers=auth("hv"))))["items"] == []

    # Any category will do: the family has agreed to share something with health visiting
    # (SCENARIO step 6: consent C1c names the agency for concern, health, progress and slt).
    s.grant_consent(child, agencies=[Agency.HEALTH_VISITING], categories=[Category.HEALTH])
    invited = await _ok(await post(f"/children/{child}/invitations", headers=auth("setting"),
                                   json={"organisation_id": "hv-team-west"}))
    # A team member invites too (the words); a parent adds instead (403: it knows the child).
    await s.join_by_invitation(child, "slt")
    s.grant_consent(child, organisations=["ep-service-city"], categories=[Category.REFERRAL])
    await _ok(await post(f"/children/{child}/invitations", headers=auth("slt"), json={"organisation_id": "ep-service-city"}))
    r = await post(f"/children/{child}/invitations", headers=auth("parent", children=[child]),
                   json={"organisation_id": "family-hub-central"})
    assert r.status_code == 403
    # Consent withdrawn before the answer: the invitation is no longer listed, nor answerable.
    consent = s.grant_consent(child, organisations=["family-hub-central"], categories=[Category.REFERRAL])
    hub = await _ok(await post(f"/children/{child}/invitations", headers=auth("setting"),
                               json={"organisation_id": "family-hub-central"}))
    s.withdraw_consent(child, consent)
    assert (await _ok(await get("/invitations", headers=auth("family"))))["items"] == []
    random = uuid4()
    unknown = await post(f"/invitations/{random}/accept", headers=auth("family"))
    r = await post(f"/invitations/{hub['invitation_id']}/accept", headers=auth("family"))
    assert r.status_code == unknown.status_code == 404
    assert r.json()["detail"].replace(hub["invitation_id"], "<id>") == unknown.json()["detail"].replace(str(random), "<id>")
    await _ok(await post(f"/invitations/{invited['invitation_id']}/accept", headers=auth("hv")))


# 3. -------------------------------------------------------------------------------------------

async def test_a_pending_invitation_does_not_outlive_its_inviters_place_on_the_team(service):
    s, post, get = service, service.client.post, service.client.get
    child = await s.register()
    await s.join_by_invitation(child, "slt")
    s.grant_consent(child, organisations=["ep-service-city", "hv-team-west"], categories=[Category.REFERRAL])
    by_slt = await _ok(await post(f"/children/{child}/invitations", headers=auth("slt"),
                                  json={"organisation_id": "ep-service-city"}))
    assert [i["invitation_id"] for i in (await _ok(await get("/invitations", headers=auth("ep"))))["items"]] == [
        by_slt["invitation_id"]]
    s.clock.now += timedelta(minutes=1)
    await _ok(await post(f"/children/{child}/team/nhs-slt-east/remove", headers=auth("parent", children=[child]),
                         json={"reason": "Discharged"}))
    assert (await _ok(await get("/invitations", headers=auth("ep"))))["items"] == []
    r = await post(f"/invitations/{by_slt['invitation_id']}/accept", headers=auth("ep"))
    assert r.status_code == 409 and "withdrawn" in r.json()["detail"]
    assert (await get(f"/children/{child}/team", headers=auth("ep"))).status_code == 404

    # An invitation still pending from an organisation no longer on the team (one sent before
    # invitations were withdrawn with their sender) is refused in words.
    with s.app.state.deps.sessions.begin() as session:
        stale = uuid4()
        store.add_invitation(session, invitation_id=stale, child_id=child, organisation_id="hv-team-west",
                             agency="health_visiting", invited_by_organisation_id="nhs-slt-east", message=None,
                             sent_on=s.clock.now.date(), expires_on=s.clock.now.date() + timedelta(days=14), state="pending")
    r = await post(f"/invitations/{stale}/accept", headers=auth("hv"))
    assert r.status_code == 409 and "East Speech and Language Therapy" in r.json()["detail"] \
        and "no longer in the team" in r.json()["detail"]
    assert (await _ok(await get("/invitations", headers=auth("hv"))))["items"] == []


# 4. -------------------------------------------------------------------------------------------

async def test_the_team_list_shows_the_other_members_only_to_whom_the_decision_shows_the_settings_referral_entries(service):
    s, post, get = service, service.client.post, service.client.get
    child = await s.register()
    await s.join_by_invitation(child, "slt")  # with a consent for `referral` naming it
    await _ok(await post(f"/children/{child}/team", headers=auth("parent", children=[child]),
                         json={"organisation_id": "family-hub-central"}))  # no consent names the family hub
    everyone = ["sunflowers-nursery", "nhs-slt-east", "family-hub-central"]
    for who in ("parent", "setting", "slt"):
        headers = auth(who, children=[child]) if who == "parent" else auth(who)
        team = await _ok(await get(f"/children/{child}/team", headers=headers))
        assert sorted(m["organisation_id"] for m in team["members"]) == sorted(everyone), who
    hub = await _ok(await get(f"/children/{child}/team", headers=auth("family")))
    assert [m["organisation_id"] for m in hub["members"]] == ["sunflowers-nursery", "family-hub-central"]
    assert "nhs-slt-east" not in repr(hub)
    read = await _ok(await get(f"/children/{child}", headers=auth("family")))
    assert [m["organisation_id"] for m in read["team"]] == ["sunflowers-nursery", "family-hub-central"]
    assert read["details_hidden"] is True and "Alfie" not in repr(read)  # 9: no consent, no name


# 5. -------------------------------------------------------------------------------------------

async def test_a_team_row_the_decision_does_not_confirm_counts_nowhere(service):
    """A row of `team_members` left open without a TeamMemberJoined in the decision's state (a
    self-asserted join from before migration 0003 is one) is not on the team in any list."""
    s, get = service, service.client.get
    child = await s.register()
    with s.app.state.deps.sessions.begin() as session:
        store.join_team(session, child_id=child, organisation_id="la-inclusion-north", agency="area_senco", role="area_senco",
                        now=s.clock.now, joined_through="invitation")
    assert (await _ok(await get("/children", headers=auth("area_senco"))))["items"] == []
    team = await _ok(await get(f"/children/{child}/team", headers=auth("setting")))
    assert [m["organisation_id"] for m in team["members"]] == ["sunflowers-nursery"]


def test_migration_0005_closes_the_rows_of_self_asserted_joins(database_url):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from services.referrals.bootstrap import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.upgrade(cfg, "0004")
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO children (child_id, given_name, family_name, date_of_birth, "
                              "setting_organisation_id, registered_at) VALUES ('c1', 'A', 'B', :dob, 'sunflowers-nursery', :now)"),
                         {"dob": date(2023, 1, 1), "now": date(2025, 1, 1)})
            rows = [("self-joined", None, None), ("invited", "invitation", None), ("gone", None, "2025-02-01")]
            for org, through, left in rows:
                conn.execute(insert(store.team_members).values(
                    child_id="c1", organisation_id=org, agency="area_senco", role="r", joined_at=date(2025, 1, 1),
                    left_at=date.fromisoformat(left) if left else None, joined_through=through,
                    ended_by="left" if left else None))
        command.upgrade(cfg, "head")
        with engine.connect() as conn:
            after = {r.organisation_id: (r.left_at is not None, r.ended_by) for r in conn.execute(select(store.team_members))}
    finally:
        engine.dispose()
    assert after == {"self-joined": (True, "self_asserted"), "invited": (False, None), "gone": (True, "left")}


# 6. -------------------------------------------------------------------------------------------

async def test_a_referral_is_not_answered_once_no_consent_covers_its_receiver(service):
    s, post, get = service, service.client.post, service.client.get
    child = await s.register()
    consent = s.grant_consent(child, organisations=["nhs-slt-east"], categories=[Category.REFERRAL])
    referral = (await _ok(await post(f"/children/{child}/referrals", headers=auth("setting"), json={
        "to_organisation_id": "nhs-slt-east", "to_agency": "slt_service", "reason": "Speech"})))["referral_id"]
    s.withdraw_consent(child, consent)
    read = await get(f"/referrals/{referral}", headers=auth("slt"))
    assert read.status_code == 404
    for path, body in ((f"/referrals/{referral}/accept", None), (f"/referrals/{referral}/decline", {"reason": "r"})):
        r = await post(path, headers=auth("slt"), json=body)
        assert (r.status_code, r.json()) == (404, read.json()), path
    assert "team_member_joined" not in _types(s, child) and "referral_accepted" not in _types(s, child)
    assert (await get(f"/children/{child}/team", headers=auth("slt"))).status_code == 404
    assert (await _ok(await get(f"/referrals/{referral}", headers=auth("setting"))))["state"] == "made"


# 7. -------------------------------------------------------------------------------------------

async def test_the_setting_sees_the_answers_to_its_own_requests_as_its_timeline_shows_them(service):
    s, post, get = service, service.client.post, service.client.get
    child = await s.register()
    # Consents name the receivers only: nothing shares the receivers' records back to the setting.
    s.grant_consent(child, organisations=["nhs-slt-east"], categories=[Category.REFERRAL])
    s.grant_consent(child, agencies=[Agency.LA_SEN_TEAM, Agency.EP_SERVICE], categories=[Category.EHC])
    referral = (await _ok(await post(f"/children/{child}/referrals", headers=auth("setting"), json={
        "to_organisation_id": "nhs-slt-east", "to_agency": "slt_service", "reason": "Speech"})))["referral_id"]
    await _ok(await post(f"/referrals/{referral}/accept", headers=auth("slt")))
    seen = await _ok(await get(f"/referrals/{referral}", headers=auth("setting")))
    assert (seen["state"], seen["hidden"]) == ("accepted", [])

    ehc = (await _ok(await post(f"/children/{child}/ehc-requests", headers=auth("setting"),
                                json={"la_organisation_id": "la-sen-team"})))["request_id"]
    await _ok(await post(f"/ehc-requests/{ehc}/start", headers=auth("la")))
    seen = await _ok(await get(f"/ehc-requests/{ehc}", headers=auth("setting")))
    assert (seen["state"], seen["decision"], seen["decided_on"]) == ("started", "started", "2025-06-02")
    assert "state" not in seen["hidden"] and "decided_on" not in seen["hidden"]
    assert next(d for d in seen["due_dates"] if d["kind"] == "ehc_decision_to_assess")["met_on"] == "2025-06-02"
    advice = (await _ok(await post(f"/ehc-requests/{ehc}/advice-requests", headers=auth("la"), json={
        "from_organisation_id": "ep-service-city", "from_agency": "ep_service"})))["advice_id"]
    await _ok(await post(f"/ehc-requests/{ehc}/draft-plan", headers=auth("la"), json={}))
    seen = await _ok(await get(f"/ehc-requests/{ehc}", headers=auth("setting")))
    # The draft is the LA's record, not the answer to the request: not shown without consent.
    assert (seen["state"], seen["decision"], seen["draft_issued_on"]) == (None, "started", None)
    assert {"state", "draft_issued_on", "advice"} <= set(seen["hidden"])

    # The advice the LA asked for, once given, answers the LA's request (rule 3 for the LA; in
    # this read it coincides with rule 5, as the LA reads the request only under consent).
    await _ok(await post(f"/ehc-advice/{advice}/submit", headers=auth("ep"), json={"summary": "Advice"}))
    la = await _ok(await get(f"/ehc-requests/{ehc}", headers=auth("la")))
    assert [a["submitted_on"] for a in la["advice"]] == ["2025-06-02"] and la["advice_received"] == 1


# 8. -------------------------------------------------------------------------------------------

async def test_the_addressee_of_a_request_is_on_the_team_before_the_request_reaches_the_bus(live_service, referrals_topic):
    s, post = live_service, live_service.client.post
    child = await s.register(date_of_birth="2024-01-15")  # too young for the review window notice
    s.grant_consent(child, agencies=[Agency.LA_SEN_TEAM, Agency.EP_SERVICE, Agency.HEALTH_VISITING, Agency.SCHOOL],
                    categories=[Category.EHC, Category.HEALTH, Category.TRANSITION])
    ehc = (await _ok(await post(f"/children/{child}/ehc-requests", headers=auth("setting"),
                                json={"la_organisation_id": "la-sen-team"})))["request_id"]
    await _ok(await post(f"/ehc-requests/{ehc}/start", headers=auth("la")))
    await _ok(await post(f"/ehc-requests/{ehc}/advice-requests", headers=auth("la"), json={
        "from_organisation_id": "ep-service-city", "from_agency": "ep_service"}))
    await _ok(await post(f"/children/{child}/integrated-reviews", headers=auth("setting"), json={
        "scheduled_for": "2025-06-20", "with_organisation_id": "hv-team-west", "with_agency": "health_visiting"}))
    await _ok(await post(f"/children/{child}/transition", headers=auth("setting"), json=TRANSITION))
    events = await referrals_topic.read([child], at_least=10)
    order = [(e.type.removeprefix("tac.referrals.").removesuffix(".v1"),
              getattr(e.data, "organisation_id", None)) for e in events]
    expected = [("child_registered", None),
                ("team_member_joined", "la-sen-team"), ("ehc_assessment_requested", None),
                ("ehc_assessment_started", None),
                ("team_member_joined", "ep-service-city"), ("ehc_advice_requested", None),
                ("team_member_joined", "hv-team-west"), ("integrated_review_scheduled", None),
                ("team_member_joined", "oak-primary"), ("transition_to_school_planned", None)]
    assert order == expected


# 9. -------------------------------------------------------------------------------------------

async def test_a_childs_name_follows_one_rule_in_every_read_that_could_show_it(service):
    """On the team but named by no consent: no personal details anywhere. A consent naming the
    organisation for any category the decision then shows it: the name everywhere."""
    s, post, get = service, service.client.post, service.client.get
    child = await s.register(given_name="Amara", family_name="Okoro", date_of_birth="2023-04-20")  # 25 months
    # The health visitors: added by the parent, no consent names them yet.
    await _ok(await post(f"/children/{child}/team", headers=auth("parent", children=[child]),
                         json={"organisation_id": "hv-team-west"}))
    hv = await s.client.get("/caseload/integrated-reviews", headers=auth("hv"))
    assert hv.json()["total"] == 0 and "Amara" not in hv.text and "2025-04-20" not in hv.text
    assert (await _ok(await get(f"/children/{child}", headers=auth("hv"))))["details_hidden"] is True
    assert (await _ok(await get("/children", headers=auth("hv"), params={"name": "Amara"})))["items"] == []
    # The LA: on the team through the EHC request, under a consent for `ehc` alone.
    s.grant_consent(child, agencies=[Agency.LA_SEN_TEAM], categories=[Category.EHC])
    await _ok(await post(f"/children/{child}/ehc-requests", headers=auth("setting"), json={"la_organisation_id": "la-sen-team"}))
    la = (await _ok(await get("/caseload", headers=auth("la"))))["items"]
    assert [(i["kind"], i["child_name"], i["details_hidden"]) for i in la] == [("ehc", "Amara Okoro", False)]
    # The area SENCO: a referral waiting for its answer, under a consent naming it for `referral`.
    s.grant_consent(child, agencies=[Agency.AREA_SENCO], categories=[Category.REFERRAL])
    referral = (await _ok(await post(f"/children/{child}/referrals", headers=auth("setting"), json={
        "to_organisation_id": "la-inclusion-north", "to_agency": "area_senco", "reason": "Advice"})))["referral_id"]
    waiting = (await _ok(await get("/caseload", headers=auth("area_senco"))))["items"]
    assert [(i["id"], i["child_name"]) for i in waiting] == [(referral, "Amara Okoro")]
    await _ok(await post(f"/referrals/{referral}/accept", headers=auth("area_senco")))
    me = await _ok(await get(f"/children/{child}", headers=auth("area_senco")))
    assert (me["details_hidden"], me["given_name"], me["age_months"]) == (False, "Amara", 25)
    found = await _ok(await get("/children", headers=auth("area_senco"), params={"name": "amara"}))
    assert [(i["given_name"], i["details_hidden"]) for i in found["items"]] == [("Amara", False)]

    # A consent naming the health visitors (for `health`) shows them the child on the review list.
    s.grant_consent(child, organisations=["hv-team-west"], categories=[Category.HEALTH])
    listed = (await _ok(await get("/caseload/integrated-reviews", headers=auth("hv"))))["items"]
    assert [(i["child_name"], i["window_opens"]) for i in listed] == [("Amara Okoro", "2025-04-20")]
