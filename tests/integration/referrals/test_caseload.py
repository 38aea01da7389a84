"""Caseloads (DESIGN §4): each organisation sees only its own open work, overdue first, with
whole-day waiting times counted to a pinned "today"; health visitors see the children
approaching or inside the integrated review window, and only those they may (on the child's
team, and under consent)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from schemas.vocabulary import Agency, Category
from tests.integration.referrals.conftest import auth

TODAY = date(2025, 6, 2)
ORGS = [("la-inclusion-north", "area_senco"), ("la-inclusion-south", "area_senco_south"),
        ("nhs-slt-east", "slt"), ("ep-service-city", "ep")]
AGENCY_OF = {"la-inclusion-north": "area_senco", "la-inclusion-south": "area_senco",
             "nhs-slt-east": "slt_service", "ep-service-city": "ep_service"}


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 30, tzinfo=timezone.utc)  # late in the day: still that UTC date


async def test_the_area_senco_sees_only_her_organisations_open_referrals_overdue_first_with_day_counts(service):
    s, post = service, service.client.post
    s.clock.now = _at(TODAY - timedelta(days=200))
    children = [await s.register(given_name=f"Child{i}") for i in range(10)]
    for child in children:
        s.grant_consent(child, agencies=[Agency.AREA_SENCO, Agency.SLT_SERVICE, Agency.EP_SERVICE], days=400)

    open_north: dict[str, date] = {}
    for i in range(50):
        made_on = TODAY - timedelta(days=(i * 37) % 90)  # 0..89 days ago, mixed
        org, who = ORGS[i % 4]
        s.clock.now = _at(made_on)
        r = await post(f"/children/{children[i % 10]}/referrals", headers=auth("setting"), json={
            "to_organisation_id": org, "to_agency": AGENCY_OF[org], "reason": f"referral {i}"})
        assert r.status_code == 201, r.text
        rid = r.json()["referral_id"]
        fate = (i // 4) % 5  # 0 waiting, 1 accepted, 2 declined, 3 withdrawn, 4 accepted then closed
        if fate in (1, 4):
            assert (await post(f"/referrals/{rid}/accept", headers=auth(who))).status_code == 200
        if fate == 4:
            assert (await post(f"/referrals/{rid}/close", headers=auth(who), json={"outcome": "done"})).status_code == 200
        if fate == 2:
            assert (await post(f"/referrals/{rid}/decline", headers=auth(who), json={"reason": "no"})).status_code == 200
        if fate == 3:
            assert (await post(f"/referrals/{rid}/withdraw", headers=auth("setting"), json={"reason": "moved"})).status_code == 200
        if org == "la-inclusion-north" and fate in (0, 1):
            open_north[rid] = made_on

    s.clock.now = datetime(TODAY.year, TODAY.month, TODAY.day, 0, 5, tzinfo=timezone.utc)
    r = await s.client.get("/caseload", headers=auth("area_senco"), params={"limit": 200})
    assert r.status_code == 200, r.text
    body = r.json()
    items = body["items"]
    assert body["today"] == TODAY.isoformat() and body["total"] == len(open_north) == len(items)
    assert {i["id"] for i in items} == set(open_north)
    for item in items:
        waited = (TODAY - open_north[item["id"]]).days
        assert item["kind"] == "referral" and item["days_waiting"] == waited
        assert item["overdue"] is (waited > 28)  # the area SENCO's default target: 28 days
        assert item["next_due"]["due_on"] == (open_north[item["id"]] + timedelta(days=28)).isoformat()
        assert item["child_name"].startswith("Child")
    flags = [i["overdue"] for i in items]
    assert any(flags) and not all(flags)
    assert flags == sorted(flags, reverse=True), "overdue first"
    dues = [i["next_due"]["due_on"] for i in items if i["overdue"]]
    assert dues == sorted(dues), "the longest overdue first"

    overdue = (await s.client.get("/caseload", headers=auth("area_senco"), params={"overdue_only": True})).json()
    assert [i["id"] for i in overdue["items"]] == [i["id"] for i in items if i["overdue"]]
    pages = []
    for offset in range(0, len(items), 3):
        page = (await s.client.get("/caseload", headers=auth("area_senco"), params={"limit": 3, "offset": offset})).json()
        pages += [i["id"] for i in page["items"]]
    assert pages == [i["id"] for i in items]

    south = (await s.client.get("/caseload", headers=auth("area_senco_south"), params={"limit": 200})).json()
    assert south["items"] and not ({i["id"] for i in south["items"]} & set(open_north))
    assert (await s.client.get("/caseload", headers=auth("school"))).json()["total"] == 0


async def test_the_la_and_the_ep_see_ehc_work_against_the_statutory_dates(service):
    s, post = service, service.client.post
    s.clock.now = _at(date(2025, 1, 6))
    child = await s.register()
    s.grant_consent(child, agencies=[Agency.LA_SEN_TEAM, Agency.EP_SERVICE], categories=[Category.EHC], days=400)
    ehc = (await post(f"/children/{child}/ehc-requests", headers=auth("setting"), json={"la_organisation_id": "la-sen-team"})).json()
    s.clock.now = _at(date(2025, 2, 10))
    await post(f"/ehc-requests/{ehc['request_id']}/start", headers=auth("la"))
    advice = (await post(f"/ehc-requests/{ehc['request_id']}/advice-requests", headers=auth("la"), json={
        "from_organisation_id": "ep-service-city", "from_agency": "ep_service"})).json()
    s.clock.now = _at(date(2025, 3, 31))

    la = (await s.client.get("/caseload", headers=auth("la"), params={"kind": "ehc"})).json()["items"]
    assert len(la) == 1 and la[0]["days_waiting"] == 84 and la[0]["state"] == "started"
    assert la[0]["next_due"]["due_on"] == "2025-04-28" and "reg. 10(1)" in la[0]["next_due"]["reference"]
    assert la[0]["overdue"] is False
    ep = (await s.client.get("/caseload", headers=auth("ep"))).json()["items"]
    assert [i["kind"] for i in ep] == ["advice"] and ep[0]["id"] == advice["advice_id"]
    assert ep[0]["next_due"]["due_on"] == "2025-03-24" and ep[0]["overdue"] is True and ep[0]["days_overdue"] == 7
    assert ep[0]["days_waiting"] == 49

    detail = (await s.client.get(f"/ehc-requests/{ehc['request_id']}", headers=auth("la"))).json()
    decision = next(d for d in detail["due_dates"] if d["kind"] == "ehc_decision_to_assess")
    assert decision["due_on"] == "2025-02-17" and decision["met_on"] == "2025-02-10" and decision["overdue"] is False


async def test_a_health_visitor_sees_only_children_whose_family_lets_her_see_health_near_the_review_window(service):
    s, post = service, service.client.post
    s.clock.now = _at(TODAY)
    approaching = await s.register(given_name="Approaching", date_of_birth="2023-06-20")  # 23 months on 20 May 2025
    inside = await s.register(given_name="Inside", date_of_birth="2023-01-10")  # 28 months
    overdue = await s.register(given_name="Overdue", date_of_birth="2022-05-01")  # 37 months, not done
    too_young = await s.register(given_name="Young", date_of_birth="2024-01-01")  # 17 months
    unconsented = await s.register(given_name="Private", date_of_birth="2023-02-01")
    other_agency = await s.register(given_name="Elsewhere", date_of_birth="2023-02-01")
    for child in (approaching, overdue, too_young):
        s.grant_consent(child, agencies=[Agency.HEALTH_VISITING], categories=[Category.HEALTH])
    s.grant_consent(inside, organisations=["hv-team-west"], categories=[Category.HEALTH])
    s.grant_consent(other_agency, agencies=[Agency.SLT_SERVICE], categories=[Category.HEALTH])
    s.grant_consent(unconsented, agencies=[Agency.HEALTH_VISITING], categories=[Category.HEALTH], days=10)
    s.clock.now = _at(TODAY - timedelta(days=1))
    # The health visitors are on every child's team: consent decides which of them they see.
    for child in (approaching, inside, overdue, too_young, unconsented, other_agency):
        await s.join_by_invitation(child, "hv")
    review = (await post(f"/children/{inside}/integrated-reviews", headers=auth("hv"), json={"scheduled_for": TODAY.isoformat()})).json()
    # The consent for `unconsented` lapses: 10 days from a day before it was granted.
    s.clock.now = _at(TODAY + timedelta(days=15))

    body = (await s.client.get("/caseload/integrated-reviews", headers=auth("hv"))).json()
    by_name = {i["child_name"]: i for i in body["items"]}
    assert set(by_name) == {"Approaching Example", "Inside Example", "Overdue Example"}
    assert by_name["Overdue Example"]["phase"] == "overdue" and by_name["Overdue Example"]["overdue"] is True
    assert by_name["Inside Example"]["phase"] == "in_window" and by_name["Inside Example"]["scheduled_for"] == TODAY.isoformat()
    assert by_name["Approaching Example"]["phase"] == "approaching" and by_name["Approaching Example"]["age_months"] == 23
    assert body["items"][0]["child_name"] == "Overdue Example"
    assert review["review_id"]

    hv_caseload = (await s.client.get("/caseload", headers=auth("hv"), params={"kind": "integrated_review"})).json()["items"]
    assert [i["id"] for i in hv_caseload] == [review["review_id"]] and hv_caseload[0]["overdue"] is True
