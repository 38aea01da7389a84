"""What the referrals service shows, and to whom it lets a command disclose a child (DESIGN §3):
every caseload item, the health visitors' review list and the single reads are decided by
consent at read time — which reaches only the child's team; nobody adds itself to a team; a
command naming another organisation needs a consent covering it, as the agency the directory
says it is. The findings of the privacy review, as specs. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID, uuid4

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, insert, select

from schemas.catalogue import make_envelope
from schemas.envelope import Actor
from schemas.events.consent import ConsentGiver, ConsentGranted, Recipients
from schemas.events.referrals import TeamMemberJoined
from schemas.vocabulary import Agency, Category, Purpose, TeamJoinRoute
from services.common.db import make_engine
from services.referrals.adapters import tables as store
from tests.integration.referrals.conftest import auth, consent_envelope

REVIEW = "/caseload/integrated-reviews"


async def _ok(response, status=(200, 201)) -> dict:
    assert response.status_code in status, response.text
    return response.json()


async def _caseload(s, who: str, **params) -> dict:
    return await _ok(await s.client.get("/caseload", headers=auth(who), params={"limit": 200, **params}))


async def test_an_organisation_cannot_add_itself_to_a_childs_team_and_consent_reaches_it_only_once_it_is_on_it(service):
    s, post = service, service.client.post
    child = await s.register(given_name="Amara", family_name="Okoro", date_of_birth="2023-04-20")  # 25 months
    r = await post(f"/children/{child}/team", headers=auth("hv"), json={"organisation_id": "hv-team-west"})
    assert r.status_code == 404 and r.json()["detail"] == f"no child {child}"  # as if there were no such child
    r = await post(f"/children/{child}/integrated-reviews", headers=auth("hv"), json={"scheduled_for": "2025-06-20"})
    assert r.status_code == 404

    # An agency-kind consent does not reach a health visiting team that is not on the child's team...
    consent = s.grant_consent(child, agencies=[Agency.HEALTH_VISITING], categories=[Category.HEALTH])
    for path in (REVIEW, "/caseload", f"/children/{child}"):
        r = await s.client.get(path, headers=auth("hv"))
        assert "Amara" not in r.text and "Okoro" not in r.text and "2025-04-20" not in r.text, path  # no name, no DOB + 24m
    assert (await _ok(await s.client.get(REVIEW, headers=auth("hv"))))["total"] == 0

    # ...and reaches it once it has joined (invited by the setting, accepted), without a new consent.
    await s.join_by_invitation(child, "hv")
    listed = await _ok(await s.client.get(REVIEW, headers=auth("hv")))
    assert [i["child_name"] for i in listed["items"]] == ["Amara Okoro"] and listed["items"][0]["window_opens"] == "2025-04-20"
    s.withdraw_consent(child, consent)
    assert (await _ok(await s.client.get(REVIEW, headers=auth("hv"))))["total"] == 0


async def test_a_consent_naming_one_health_visiting_team_shows_the_child_to_that_team_only(service):
    s = service
    child = await s.register(given_name="Amara", family_name="Okoro", date_of_birth="2023-04-20")
    s.grant_consent(child, organisations=["hv-team-west"], categories=[Category.HEALTH])
    for who in ("hv", "hv_east"):  # both on the team: the consent decides
        await s.join_by_invitation(child, who)
    assert (await _ok(await s.client.get(REVIEW, headers=auth("hv"))))["total"] == 1
    other = await s.client.get(REVIEW, headers=auth("hv_east"))
    assert other.json()["total"] == 0 and "Amara" not in other.text
    r = await s.client.post(f"/children/{child}/integrated-reviews", headers=auth("hv_east"), json={"scheduled_for": "2025-06-20"})
    assert r.status_code == 409


async def test_a_review_names_a_partner_only_as_what_it_is_and_only_under_consent_for_health(service):
    s, post = service, service.client.post
    child = await s.register()
    s.grant_consent(child, agencies=[Agency.HEALTH_VISITING], categories=[Category.HEALTH])
    s.grant_consent(child, agencies=[Agency.AREA_SENCO])
    await _ok(await post(f"/children/{child}/referrals", headers=auth("setting"), json={
        "to_organisation_id": "la-inclusion-north", "to_agency": "area_senco", "reason": "Advice"}))
    base = {"scheduled_for": "2025-06-20"}
    await s.join_by_invitation(child, "hv")

    r = await post(f"/children/{child}/integrated-reviews", headers=auth("hv"), json={**base, "with_organisation_id": "acorns-preschool"})
    assert r.status_code == 422 and "with_agency" in r.text
    r = await post(f"/children/{child}/integrated-reviews", headers=auth("hv"), json={
        **base, "with_organisation_id": "la-inclusion-north", "with_agency": "slt_service"})
    assert r.status_code == 422 and "is a area_senco, not a slt_service" in r.json()["detail"]
    r = await post(f"/children/{child}/integrated-reviews", headers=auth("hv"), json={
        **base, "with_organisation_id": "acorns-preschool", "with_agency": "setting"})
    assert r.status_code == 409 and r.json()["detail"] == "no active consent covers acorns-preschool/setting for health"
    assert (await _caseload(s, "other_setting"))["total"] == 0 and s.outbox(child, kind="integrated_review_scheduled") == []

    s.grant_consent(child, organisations=["acorns-preschool"], categories=[Category.HEALTH])
    review = await _ok(await post(f"/children/{child}/integrated-reviews", headers=auth("hv"), json={
        **base, "with_organisation_id": "acorns-preschool", "with_agency": "setting"}))
    assert review["with_organisation_name"] == "Acorns Pre-school"
    # Named as the partner, it is on the team from the request (joined_through=review_partner).
    joined = s.outbox(child, kind="team_member_joined")[-1].data
    assert (joined.organisation_id, joined.joined_through, joined.request_id) == (
        "acorns-preschool", "review_partner", UUID(review["review_id"]))
    items = (await _caseload(s, "other_setting"))["items"]
    # The child's name where the one rule says so: on the team (from the request) and named by a
    # consent (for `health`), the partner knows whom the review is about.
    assert [(i["id"], i["details_hidden"]) for i in items] == [(review["review_id"], False)]
    assert items[0]["child_name"]

    # The child's own setting may be named without consent (it made the child's record), but
    # its caseload shows the health visitor's review only under consent, like its timeline.
    await _ok(await post(f"/children/{child}/integrated-reviews", headers=auth("hv"), json={
        **base, "with_organisation_id": "sunflowers-nursery"}))
    assert (await _caseload(s, "setting", kind="integrated_review"))["total"] == 0
    s.grant_consent(child, organisations=["sunflowers-nursery"], categories=[Category.HEALTH])
    assert (await _caseload(s, "setting", kind="integrated_review"))["total"] == 1


async def test_an_ehc_request_goes_only_to_a_local_authority_sen_team_the_family_consented_to(service):
    s, post = service, service.client.post
    child = await s.register()
    body = {"la_organisation_id": "la-sen-team"}
    for who in ("setting", "parent"):  # a parent's own request needs the consent recorded too
        r = await post(f"/children/{child}/ehc-requests", headers=auth(who, children=[child]), json=body)
        assert r.status_code == 409 and r.json()["detail"] == "no active consent covers la-sen-team/la_sen_team for ehc"
    s.grant_consent(child, agencies=[Agency.AREA_SENCO])
    await _ok(await post(f"/children/{child}/referrals", headers=auth("setting"), json={
        "to_organisation_id": "la-inclusion-north", "to_agency": "area_senco", "reason": "Advice"}))
    s.grant_consent(child, agencies=[Agency.LA_SEN_TEAM], categories=[Category.EHC])
    for org, known in (("la-inclusion-north", "area_senco"), ("sunflowers-nursery", "setting"), ("nobody", "directory")):
        r = await post(f"/children/{child}/ehc-requests", headers=auth("setting"), json={"la_organisation_id": org})
        assert r.status_code == 422 and "la_organisation_id" in r.text and known in r.text, r.text
    assert (await _caseload(s, "la"))["total"] == 0

    ehc = await _ok(await post(f"/children/{child}/ehc-requests", headers=auth("setting"), json=body))
    assert [i["id"] for i in (await _caseload(s, "la"))["items"]] == [ehc["request_id"]]
    # An organisation of another agency is never shown the LA's work, whatever its id.
    assert (await _caseload(s, "area_senco", kind="ehc"))["total"] == 0


async def test_ehc_advice_is_asked_only_of_an_organisation_the_family_consented_to_as_what_it_is(service):
    s, post = service, service.client.post
    child = await s.register()
    s.grant_consent(child, organisations=["la-sen-team"], categories=[Category.EHC])
    s.grant_consent(child, organisations=["nhs-slt-east"])
    await _ok(await post(f"/children/{child}/referrals", headers=auth("setting"), json={
        "to_organisation_id": "nhs-slt-east", "to_agency": "slt_service", "reason": "Speech"}))
    ehc = await _ok(await post(f"/children/{child}/ehc-requests", headers=auth("setting"), json={"la_organisation_id": "la-sen-team"}))
    await _ok(await post(f"/ehc-requests/{ehc['request_id']}/start", headers=auth("la")))
    ask = f"/ehc-requests/{ehc['request_id']}/advice-requests"

    r = await post(ask, headers=auth("la"), json={"from_organisation_id": "ep-service-city", "from_agency": "ep_service"})
    assert r.status_code == 409 and r.json()["detail"] == "no active consent covers ep-service-city/ep_service for ehc"
    s.grant_consent(child, agencies=[Agency.EP_SERVICE], categories=[Category.EHC])
    r = await post(ask, headers=auth("la"), json={"from_organisation_id": "nhs-slt-east", "from_agency": "ep_service"})
    assert r.status_code == 422 and "from_agency" in r.text and "is a slt_service" in r.text
    assert (await _caseload(s, "ep"))["total"] == 0

    advice = await _ok(await post(ask, headers=auth("la"), json={"from_organisation_id": "ep-service-city", "from_agency": "ep_service"}))
    assert [i["id"] for i in (await _caseload(s, "ep"))["items"]] == [advice["advice_id"]]


async def test_withdrawing_consent_takes_every_caseload_item_and_single_read_away_at_once(service):
    s, post, get = service, service.client.post, service.client.get
    child = await s.register()
    consents = [s.grant_consent(child, agencies=[Agency.AREA_SENCO]),
                s.grant_consent(child, organisations=["la-sen-team", "ep-service-city"], categories=[Category.EHC]),
                s.grant_consent(child, agencies=[Agency.HEALTH_VISITING], categories=[Category.HEALTH])]
    referral = await _ok(await post(f"/children/{child}/referrals", headers=auth("setting"), json={
        "to_organisation_id": "la-inclusion-north", "to_agency": "area_senco", "reason": "Advice"}))
    await _ok(await post(f"/referrals/{referral['referral_id']}/accept", headers=auth("area_senco")))
    ehc = await _ok(await post(f"/children/{child}/ehc-requests", headers=auth("setting"), json={"la_organisation_id": "la-sen-team"}))
    await _ok(await post(f"/ehc-requests/{ehc['request_id']}/start", headers=auth("la")))
    await _ok(await post(f"/ehc-requests/{ehc['request_id']}/advice-requests", headers=auth("la"), json={
        "from_organisation_id": "ep-service-city", "from_agency": "ep_service"}))
    await s.join_by_invitation(child, "hv")
    await _ok(await post(f"/children/{child}/integrated-reviews", headers=auth("hv"), json={"scheduled_for": "2025-06-20"}))
    shown = {"area_senco": 1, "la": 1, "ep": 1, "hv": 1}
    assert {who: (await _caseload(s, who))["total"] for who in shown} == shown
    assert (await get(f"/referrals/{referral['referral_id']}", headers=auth("area_senco"))).status_code == 200
    assert (await get(f"/ehc-requests/{ehc['request_id']}", headers=auth("la"))).json()["state"] == "started"
    assert (await _ok(await get(REVIEW, headers=auth("hv"))))["total"] == 1

    for consent in consents:
        s.withdraw_consent(child, consent)

    # What others recorded is gone from every list...
    assert {who: (await _caseload(s, who))["total"] for who in ("area_senco", "la", "ep")} == {"area_senco": 0, "la": 0, "ep": 0}
    assert (await _ok(await get(REVIEW, headers=auth("hv"))))["total"] == 0
    # ...and a single read answers exactly as for an id that does not exist.
    for path, who, missing in ((f"/referrals/{referral['referral_id']}", "area_senco", f"/referrals/{uuid4()}"),
                               (f"/ehc-requests/{ehc['request_id']}", "la", f"/ehc-requests/{uuid4()}")):
        r, unknown = await get(path, headers=auth(who)), await get(missing, headers=auth(who))
        assert r.status_code == unknown.status_code == 404
        assert r.json()["detail"].rsplit(" ", 1)[0] == unknown.json()["detail"].rsplit(" ", 1)[0]
    # What an organisation recorded itself stays its own (DESIGN §3 rule 2), and so do the
    # answers to its own requests (rule 3: the receiver's response, the LA's decision to
    # assess); what the other side recorded beyond that (the advice it gathered) is left out.
    assert (await _caseload(s, "hv", kind="integrated_review"))["total"] == 1
    mine = await _ok(await get(f"/referrals/{referral['referral_id']}", headers=auth("setting")))
    assert mine["reason"] == "Advice" and mine["state"] == "accepted" and mine["hidden"] == []
    request = await _ok(await get(f"/ehc-requests/{ehc['request_id']}", headers=auth("setting")))
    assert request["state"] == "started" and request["decided_on"] == "2025-06-02" and request["advice"] == []
    assert {d["kind"]: d["met_on"] for d in request["due_dates"]} == {
        "ehc_decision_to_assess": "2025-06-02", "ehc_notice_if_no_plan": None, "ehc_final_plan": None}
    assert "advice" in request["hidden"]


async def test_work_given_to_an_organisation_as_one_agency_is_not_shown_to_its_token_of_another(service):
    s = service
    child = await s.register()
    s.grant_consent(child, organisations=["nhs-slt-east"])  # names the organisation, any agency
    referral = await _ok(await s.client.post(f"/children/{child}/referrals", headers=auth("setting"), json={
        "to_organisation_id": "nhs-slt-east", "to_agency": "slt_service", "reason": "Speech"}))
    assert (await _caseload(s, "slt"))["total"] == 1
    assert (await _caseload(s, "slt_as_ep"))["total"] == 0
    assert (await s.client.get(f"/referrals/{referral['referral_id']}", headers=auth("slt_as_ep"))).status_code == 404


async def test_text_no_store_can_hold_or_too_big_to_share_is_a_422_naming_the_field_and_writes_nothing(service):
    s, post = service, service.client.post
    child = await s.register()
    before = len(s.outbox())
    r = await post("/children", headers=auth("setting"), json={"given_name": "Am\x00ara", "family_name": "Okoro",
                                                              "date_of_birth": "2023-04-20"})
    assert r.status_code == 422 and "given_name" in r.text, r.text
    await _ok(await post(f"/children/{child}/team", headers=auth("parent", children=[child]),
                         json={"organisation_id": "nhs-slt-east"}))
    report = {"assessment_summary": "Delay", "programme": "Word play"}
    for recommendations in (["x" * (2 * 1024 * 1024)], ["fine", "nul\x00"], ["r"] * 51):
        r = await post(f"/children/{child}/slt-reports", headers=auth("slt"), json={**report, "recommendations": recommendations})
        assert r.status_code == 422 and "recommendations" in r.text, r.text[:300]
    r = await post(f"/children/{child}/concerns", headers=auth("setting"), json={
        "areas_of_need": ["communication_and_interaction"], "summary": "Few words", "evidence": "\x00"})
    assert r.status_code == 422 and "evidence" in r.text
    assert len(s.outbox()) == before + 1  # only the team member the parent added


async def test_the_review_list_is_paged_and_answers_with_more_children_than_a_query_may_have_parameters(service):
    s = service
    today = s.clock.now.date()
    # 70,000 children between 23 months and school age (PostgreSQL takes at most 65,535
    # parameters in one statement, SQLite 32,766); 450 of them with a consent for health visiting
    # and the health visitors on their team.
    born = [today - timedelta(days=720 + i % 900) for i in range(70_000)]
    ids = [str(uuid4()) for _ in born]
    consented = ids[:450]
    with s.app.state.deps.sessions.begin() as session:
        session.execute(insert(store.children), [
            {"child_id": c, "given_name": f"Child{i}", "family_name": "Bulk", "date_of_birth": b,
             "setting_organisation_id": "sunflowers-nursery", "registered_at": s.clock.now}
            for i, (c, b) in enumerate(zip(ids, born))])
        session.execute(insert(store.consent_events), [
            {"event_id": str(e.id), "child_id": c, "event_type": e.type, "envelope": e.to_json_bytes().decode(),
             "received_at": s.clock.now}
            for c in consented for e in [consent_envelope(UUID(c), ConsentGranted(
                consent_id=uuid4(), given_by=ConsentGiver(person_id="p", relationship="mother", has_parental_responsibility=True),
                recorded_on_behalf=True, recipients=Recipients(agencies=(Agency.HEALTH_VISITING,)),
                categories=(Category.HEALTH, Category.REFERRAL), purposes=(Purpose.COORDINATION,),
                valid_from=s.clock.now - timedelta(days=1), expires_at=s.clock.now + timedelta(days=300))),
                make_envelope(TeamMemberJoined(
                    organisation_id="hv-team-west", agency=Agency.HEALTH_VISITING, role="health_visitor",
                    joined_through=TeamJoinRoute.INVITATION), subject=UUID(c), source="/tac/referrals",
                    actor=Actor(practitioner_id="hv-gus", organisation_id="hv-team-west", agency=Agency.HEALTH_VISITING,
                                role="health_visitor"), time=s.clock.now - timedelta(days=1))]])

    pages, offset = [], 0
    while True:
        page = await _ok(await s.client.get(REVIEW, headers=auth("hv"), params={"limit": 200, "offset": offset}))
        assert page["total"] == 450 and page["limit"] == 200 and page["offset"] == offset
        pages += page["items"]
        offset += 200
        if offset >= page["total"]:
            break
    assert sorted(str(i["child_id"]) for i in pages) == sorted(consented)  # each once, nobody else
    order = {"overdue": 0, "hcp_overdue": 1, "in_window": 2, "approaching": 3, "done": 4}
    keys = [(order[i["phase"]], i["hcp_due"]["due_on"]) for i in pages]
    assert keys == sorted(keys)
    r = await s.client.get(REVIEW, headers=auth("hv"), params={"limit": 201})
    assert r.status_code == 422 and "limit" in r.text


def test_the_migrations_make_exactly_the_tables_the_store_describes(database_url):
    from services.common.db import run_migrations
    from services.referrals.bootstrap import MIGRATIONS

    run_migrations(database_url, MIGRATIONS)
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), store.metadata)
            notices = conn.execute(select(func.count()).select_from(store.child_notices)).scalar()
    finally:
        engine.dispose()
    assert diff == [] and notices == 0


def test_an_ehc_request_made_before_authors_were_recorded_is_attributed_to_its_setting(database_url):
    """Migration 0002 fills in who recorded the requests made under 0001."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from services.referrals.bootstrap import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))  # as run_migrations does
    command.upgrade(cfg, "0001")
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO children VALUES ('c1', 'A', 'B', :dob, 'sunflowers-nursery', :now)"),
                         {"dob": date(2023, 1, 1), "now": date(2025, 1, 1)})
            for rid, by in (("r1", "setting"), ("r2", "parent")):
                conn.execute(text("INSERT INTO ehc_requests (request_id, child_id, la_organisation_id, requested_on, "
                                  "requested_by, state, exceptions) VALUES (:r, 'c1', 'la', :d, :by, 'requested', '[]')"),
                             {"r": rid, "d": date(2025, 1, 1), "by": by})
        command.upgrade(cfg, "head")
        with engine.connect() as conn:
            authors = dict(conn.execute(text("SELECT request_id, requested_by_organisation_id FROM ehc_requests")).all())
    finally:
        engine.dispose()
    assert authors == {"r1": "sunflowers-nursery", "r2": None}


def test_a_child_registered_before_the_team_was_folded_keeps_its_setting_on_its_team(database_url):
    """Migration 0003 copies each ChildRegistered from the outbox into the decision's state."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from schemas.events.referrals import ChildRegistered
    from services.referrals.bootstrap import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.upgrade(cfg, "0002")
    child = uuid4()
    actor = Actor(practitioner_id="senco-amy", organisation_id="sunflowers-nursery", agency=Agency.SETTING, role="senco")
    registered = make_envelope(ChildRegistered(setting_organisation_id="sunflowers-nursery"), subject=child, actor=actor,
                               source="/tac/referrals")
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO children VALUES (:c, 'A', 'B', :dob, 'sunflowers-nursery', :now)"),
                         {"c": str(child), "dob": date(2023, 1, 1), "now": registered.time})
            conn.execute(insert(store.outbox).values(
                event_id=str(registered.id), event_type=registered.type, topic="tac.referrals.v1", message_key=None,
                payload=registered.to_json_bytes(), headers="{}", created_at=registered.time))
        command.upgrade(cfg, "head")
        with engine.connect() as conn:
            kept = conn.execute(select(store.consent_events.c.child_id, store.consent_events.c.event_type)).all()
    finally:
        engine.dispose()
    assert [(c, t) for c, t in kept] == [(str(child), registered.type)]
