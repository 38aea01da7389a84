"""Who may do what, and what bad input gets: 401 without a valid token, 404 — like an unknown id —
to whoever may not know of the child (not its setting, not on its team, not its parent), 403
to a team member whose organisation may not do this, 404 for unknown ids, 409 naming the
current state or the missing consent, 422 naming the field, and never a 500. Runs on SQLite and
PostgreSQL; no broker needed (the outbox is not relayed)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from uuid import UUID

import pytest

from schemas.vocabulary import Agency, Category
from services.common.dev_tokens import dev_private_key_pem, issue_token
from tests.integration.referrals.conftest import auth

NIL = uuid.UUID(int=1)


@dataclass
class Scenario:
    child: UUID
    referral: str  # made to the area SENCO, waiting
    accepted: str  # accepted by the SLT
    ehc: str  # started by the LA
    advice: str  # asked of the EP
    review: str  # scheduled by the health visitor
    invitation: str  # to the family hub, pending


async def _json(r, status=(200, 201)):
    assert r.status_code in status, r.text
    return r.json()


@pytest.fixture
async def scenario(service) -> Scenario:
    s, post = service, service.client.post
    child = await s.register()
    s.grant_consent(child, agencies=[Agency.AREA_SENCO, Agency.SLT_SERVICE])
    s.grant_consent(child, agencies=[Agency.HEALTH_VISITING, Agency.LA_SEN_TEAM, Agency.EP_SERVICE],
                    categories=[Category.HEALTH, Category.EHC])
    # An invitation names the child to the organisation invited: a consent must cover it for `referral`.
    s.grant_consent(child, organisations=["hv-team-west", "family-hub-central"], categories=[Category.REFERRAL])
    referral = await _json(await post(f"/children/{child}/referrals", headers=auth("setting"), json={
        "to_organisation_id": "la-inclusion-north", "to_agency": "area_senco", "reason": "Advice"}))
    accepted = await _json(await post(f"/children/{child}/referrals", headers=auth("setting"), json={
        "to_organisation_id": "nhs-slt-east", "to_agency": "slt_service", "reason": "Speech"}))
    await _json(await post(f"/referrals/{accepted['referral_id']}/accept", headers=auth("slt")))
    ehc = await _json(await post(f"/children/{child}/ehc-requests", headers=auth("setting"), json={"la_organisation_id": "la-sen-team"}))
    await _json(await post(f"/ehc-requests/{ehc['request_id']}/start", headers=auth("la")))
    advice = await _json(await post(f"/ehc-requests/{ehc['request_id']}/advice-requests", headers=auth("la"), json={
        "from_organisation_id": "ep-service-city", "from_agency": "ep_service"}))
    invited = await _json(await post(f"/children/{child}/invitations", headers=auth("setting"), json={"organisation_id": "hv-team-west"}))
    await _json(await post(f"/invitations/{invited['invitation_id']}/accept", headers=auth("hv")))
    review = await _json(await post(f"/children/{child}/integrated-reviews", headers=auth("hv"), json={"scheduled_for": "2025-06-20"}))
    pending = await _json(await post(f"/children/{child}/invitations", headers=auth("setting"),
                                     json={"organisation_id": "family-hub-central"}))
    return Scenario(child, referral["referral_id"], accepted["referral_id"], ehc["request_id"], advice["advice_id"],
                    review["review_id"], pending["invitation_id"])


ROUTES = [
    ("POST", "/children"), ("GET", "/children"), ("GET", "/children/{child}"), ("PUT", "/children/{child}/key-person"),
    ("GET", "/children/{child}/team"), ("POST", "/children/{child}/invitations"), ("GET", "/invitations"),
    ("POST", "/invitations/{invitation}/accept"), ("POST", "/invitations/{invitation}/decline"),
    ("POST", "/children/{child}/team/nhs-slt-east/remove"), ("POST", "/children/{child}/concerns"),
    ("POST", "/children/{child}/referrals"), ("GET", "/referrals/{referral}"), ("POST", "/referrals/{referral}/accept"),
    ("POST", "/referrals/{referral}/decline"), ("POST", "/referrals/{referral}/withdraw"),
    ("POST", "/referrals/{referral}/close"), ("POST", "/children/{child}/team"),
    ("POST", "/children/{child}/team/nhs-slt-east/leave"), ("POST", "/children/{child}/slt-reports"),
    ("POST", "/children/{child}/ep-advice"), ("POST", "/children/{child}/family-support"),
    ("POST", "/children/{child}/integrated-reviews"), ("POST", "/integrated-reviews/{review}/complete"),
    ("POST", "/children/{child}/ehc-requests"), ("GET", "/ehc-requests/{ehc}"), ("POST", "/ehc-requests/{ehc}/start"),
    ("POST", "/ehc-requests/{ehc}/decline"), ("POST", "/ehc-requests/{ehc}/advice-requests"),
    ("POST", "/ehc-advice/{advice}/submit"), ("POST", "/ehc-requests/{ehc}/draft-plan"),
    ("POST", "/ehc-requests/{ehc}/final-plan"), ("POST", "/children/{child}/transition"),
    ("POST", "/children/{child}/transition/complete"), ("GET", "/caseload"), ("GET", "/caseload/integrated-reviews"),
]


def _path(template: str, sc: Scenario | None = None) -> str:
    keys = ("child", "referral", "ehc", "advice", "review", "invitation")
    ids = vars(sc) if sc else {k: NIL for k in keys}
    return template.format(**{k: ids[k] for k in keys})


async def test_every_route_answers_401_without_a_valid_bearer_token(service):
    expired = issue_token(dev_private_key_pem(), practitioner="x", organisation="sunflowers-nursery", agency="setting",
                          role="senco", issuer="tac-dev", audience="tac", now=datetime.now(timezone.utc) - timedelta(days=1))
    wrong_audience = issue_token(dev_private_key_pem(), practitioner="x", organisation="sunflowers-nursery", agency="setting",
                                 role="senco", issuer="tac-dev", audience="someone-else")
    for method, template in ROUTES:
        for headers in ({}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": f"Bearer {expired}"},
                        {"Authorization": f"Bearer {wrong_audience}"}):
            r = await service.client.request(method, _path(template), headers=headers, json={})
            assert r.status_code == 401, (method, template, headers.keys(), r.text)


async def test_only_the_organisations_the_rules_name_may_act(service, scenario):
    sc, c = scenario, service.client
    report = {"assessment_summary": "a", "programme": "b"}
    child = {"given_name": "A", "family_name": "B", "date_of_birth": "2024-01-01"}
    # (who, method, path, body, status): 404 to whoever may not know of the child — exactly as
    # for an unknown id — and 403 to a team member whose organisation may not do it.
    refused = [
        ("area_senco", "POST", "/children", child, 403),
        ("setting", "POST", "/children", {**child, "setting_organisation_id": "acorns-preschool"}, 403),
        ("parent", "POST", "/children", child, 403),
        ("other_setting", "GET", f"/children/{sc.child}", None, 404),
        ("area_senco", "GET", f"/children/{sc.child}", None, 404),  # the referral to it is not accepted yet
        ("other_setting", "POST", f"/children/{sc.child}/concerns", {"areas_of_need": ["cognition_and_learning"], "summary": "s"}, 404),
        ("slt", "POST", f"/children/{sc.child}/concerns", {"areas_of_need": ["cognition_and_learning"], "summary": "s"}, 403),
        ("area_senco", "POST", f"/children/{sc.child}/referrals", {"to_organisation_id": "nhs-slt-east", "to_agency": "slt_service", "reason": "r"}, 404),
        ("slt", "POST", f"/children/{sc.child}/referrals", {"to_organisation_id": "la-inclusion-north", "to_agency": "area_senco", "reason": "r"}, 403),
        ("slt", "GET", f"/referrals/{sc.referral}", None, 404),
        ("area_senco_south", "POST", f"/referrals/{sc.referral}/accept", None, 404),
        ("setting", "POST", f"/referrals/{sc.referral}/accept", None, 403),
        ("slt", "POST", f"/referrals/{sc.referral}/decline", {"reason": "r"}, 403),
        ("area_senco", "POST", f"/referrals/{sc.referral}/withdraw", {"reason": "r"}, 403),  # it is the receiver
        ("setting", "POST", f"/referrals/{sc.accepted}/close", {"outcome": "o"}, 403),
        # Nobody adds itself: the team route is a parent's.
        ("area_senco", "POST", f"/children/{sc.child}/team", {"organisation_id": "la-inclusion-north"}, 404),
        ("ep", "POST", f"/children/{sc.child}/team", {"organisation_id": "ep-service-city"}, 403),
        ("setting", "POST", f"/children/{sc.child}/team", {"organisation_id": "family-hub-central"}, 403),
        ("ep", "POST", f"/children/{sc.child}/team/nhs-slt-east/leave", None, 403),
        ("ep", "POST", f"/children/{sc.child}/team/nhs-slt-east/remove", {"reason": "r"}, 403),
        ("area_senco", "POST", f"/children/{sc.child}/invitations", {"organisation_id": "la-inclusion-north"}, 404),
        ("parent", "POST", f"/children/{sc.child}/invitations", {"organisation_id": "family-hub-central"}, 404),  # not its child
        ("setting", "POST", f"/invitations/{sc.invitation}/accept", None, 404),  # only the invited may see it
        ("setting", "POST", f"/invitations/{sc.invitation}/decline", {}, 404),
        ("family", "GET", f"/children/{sc.child}/team", None, 404),  # invited, not yet accepted
        ("ep", "PUT", f"/children/{sc.child}/key-person", {"key_person_id": "tom", "key_person_name": "Tom"}, 403),
        ("ep", "POST", f"/children/{sc.child}/slt-reports", report, 403),
        ("slt", "POST", f"/children/{sc.child}/ep-advice", {"summary": "not an EP"}, 403),
        ("area_senco", "POST", f"/children/{sc.child}/ep-advice", {"summary": "not on the team"}, 404),
        ("setting", "POST", f"/children/{sc.child}/family-support", {"summary": "s"}, 403),
        ("area_senco", "POST", f"/children/{sc.child}/integrated-reviews", {"scheduled_for": "2025-07-01"}, 404),
        ("slt", "POST", f"/children/{sc.child}/integrated-reviews", {"scheduled_for": "2025-07-01"}, 403),
        ("area_senco", "POST", f"/integrated-reviews/{sc.review}/complete", {"completed_on": "2025-06-01", "outcomes": {"physical_development": "expected"}}, 404),
        ("area_senco", "POST", f"/children/{sc.child}/ehc-requests", {"la_organisation_id": "la-sen-team"}, 404),
        ("slt", "POST", f"/children/{sc.child}/ehc-requests", {"la_organisation_id": "la-sen-team"}, 403),
        ("school", "GET", f"/ehc-requests/{sc.ehc}", None, 404),
        ("setting", "POST", f"/ehc-requests/{sc.ehc}/draft-plan", None, 403),
        ("area_senco", "POST", f"/ehc-requests/{sc.ehc}/advice-requests", {"from_organisation_id": "x", "from_agency": "ep_service"}, 404),
        ("slt", "POST", f"/ehc-advice/{sc.advice}/submit", {"summary": "s"}, 403),
        ("la", "POST", f"/ehc-requests/{sc.ehc}/final-plan", None, 409),  # the LA may, the state may not
        ("school", "POST", f"/children/{sc.child}/transition", {"school_organisation_id": "oak-primary", "starts_on": "2027-09-01", "plan_summary": "p"}, 404),
        ("slt", "POST", f"/children/{sc.child}/transition", {"school_organisation_id": "oak-primary", "starts_on": "2027-09-01", "plan_summary": "p"}, 403),
        ("parent", "GET", "/caseload", None, 403),
        ("setting", "GET", "/caseload/integrated-reviews", None, 403),
    ]
    for who, method, path, body, expected in refused:
        r = await c.request(method, path, headers=auth(who), json=body)
        assert r.status_code == expected, (who, method, path, r.text)
        assert r.json()["detail"]
    # ...and the organisations named may.
    assert (await c.get(f"/referrals/{sc.referral}", headers=auth("area_senco"))).status_code == 200
    assert (await c.get(f"/ehc-requests/{sc.ehc}", headers=auth("setting"))).status_code == 200
    assert (await c.post(f"/referrals/{sc.referral}/accept", headers=auth("area_senco"))).status_code == 200
    assert (await c.get(f"/children/{sc.child}/team", headers=auth("area_senco"))).status_code == 200
    assert (await c.post(f"/children/{sc.child}/slt-reports", headers=auth("slt"), json=report)).status_code == 201


async def test_a_parent_token_acts_only_for_its_own_children(service, scenario):
    other = await service.register(given_name="Other")
    mine = auth("parent", children=[scenario.child])
    assert (await service.client.get(f"/children/{scenario.child}", headers=mine)).status_code == 200
    assert (await service.client.get(f"/children/{other}", headers=mine)).status_code == 404
    r = await service.client.post(f"/children/{other}/ehc-requests", headers=mine, json={"la_organisation_id": "la-sen-team"})
    assert r.status_code == 404  # not its child: as if there were no such child
    r = await service.client.post(f"/children/{other}/team", headers=mine, json={"organisation_id": "family-hub-central"})
    assert r.status_code == 404
    r = await service.client.post(f"/children/{scenario.child}/concerns", headers=mine,
                                  json={"areas_of_need": ["cognition_and_learning"], "summary": "s"})
    assert r.status_code == 403


async def test_an_illegal_transition_is_a_409_naming_the_current_state(service, scenario):
    c = service.client
    r = await c.post(f"/referrals/{scenario.accepted}/decline", headers=auth("slt"), json={"reason": "too late"})
    assert r.status_code == 409 and r.json()["detail"] == "referral is accepted; cannot decline"
    await c.post(f"/referrals/{scenario.accepted}/close", headers=auth("slt"), json={"outcome": "discharged"})
    r = await c.post(f"/referrals/{scenario.accepted}/withdraw", headers=auth("setting"), json={"reason": "x"})
    assert r.status_code == 409 and r.json()["detail"] == "referral is closed; cannot withdraw"
    r = await c.post(f"/ehc-requests/{scenario.ehc}/start", headers=auth("la"))
    assert r.status_code == 409 and "EHC needs assessment is started" in r.json()["detail"]
    r = await c.post(f"/children/{scenario.child}/ehc-requests", headers=auth("setting"), json={"la_organisation_id": "la-sen-team"})
    assert r.status_code == 409 and "already open" in r.json()["detail"]
    r = await c.post(f"/children/{scenario.child}/transition/complete", headers=auth("setting"))
    assert r.status_code == 409 and "no transition to school has been planned" in r.json()["detail"]


async def test_a_referral_needs_consent_naming_the_receiver_for_referral_at_that_moment(service):
    s = service
    child = await s.register()
    body = {"to_organisation_id": "ep-service-city", "to_agency": "ep_service", "reason": "Cognition"}
    s.grant_consent(child, agencies=[Agency.EP_SERVICE], categories=["slt"])  # wrong category
    s.grant_consent(child, organisations=["ep-service-elsewhere"])  # another organisation
    r = await s.client.post(f"/children/{child}/referrals", headers=auth("setting"), json=body)
    assert r.status_code == 409 and r.json()["detail"] == "no active consent covers ep-service-city/ep_service for referral"
    consent = s.grant_consent(child, organisations=["ep-service-city"])
    assert (await s.client.post(f"/children/{child}/referrals", headers=auth("setting"), json=body)).status_code == 201
    s.withdraw_consent(child, consent)
    assert (await s.client.post(f"/children/{child}/referrals", headers=auth("setting"), json=body)).status_code == 409
    expiring = s.grant_consent(child, agencies=[Agency.EP_SERVICE], days=10)
    s.clock.now += timedelta(days=30)
    assert (await s.client.post(f"/children/{child}/referrals", headers=auth("setting"), json=body)).status_code == 409
    assert expiring


async def test_bad_input_gets_a_422_naming_the_field(service, scenario):
    sc, c = scenario, service.client
    cases = [
        ("/children", {"given_name": "A", "family_name": "B", "date_of_birth": "2030-01-01"}, "date_of_birth"),
        ("/children", {"given_name": "A", "family_name": "B", "date_of_birth": "not a date"}, "date_of_birth"),
        ("/children", {"given_name": "", "family_name": "B", "date_of_birth": "2024-01-01"}, "given_name"),
        ("/children", {"family_name": "B", "date_of_birth": "2024-01-01"}, "given_name"),
        ("/children", {"given_name": "A", "family_name": "B", "date_of_birth": "2024-01-01", "nhs_number": "1"}, "nhs_number"),
        (f"/children/{sc.child}/concerns", {"areas_of_need": ["astrology"], "summary": "s"}, "areas_of_need"),
        (f"/children/{sc.child}/concerns", {"areas_of_need": [], "summary": "s"}, "areas_of_need"),
        (f"/children/{sc.child}/concerns", {"areas_of_need": ["cognition_and_learning"], "summary": "x" * 4001}, "summary"),
        (f"/children/{sc.child}/referrals", {"to_organisation_id": "nhs-slt-east", "to_agency": "wizard", "reason": "r"}, "to_agency"),
        (f"/children/{sc.child}/referrals", {"to_organisation_id": "sunflowers-nursery", "to_agency": "setting", "reason": "r"}, "to_organisation_id"),
        (f"/children/{sc.child}/referrals", {"to_organisation_id": "bad id with spaces", "to_agency": "ep_service", "reason": "r"}, "to_organisation_id"),
        (f"/referrals/{sc.referral}/decline", {}, "reason"),
        (f"/children/{sc.child}/integrated-reviews", {"scheduled_for": "2020-01-01"}, "scheduled_for"),
        (f"/integrated-reviews/{sc.review}/complete", {"completed_on": "2025-06-01", "outcomes": {}}, "outcomes"),
        (f"/ehc-requests/{sc.ehc}/draft-plan", {"comments_due_on": "2025-06-03"}, "comments_due_on"),
        (f"/ehc-requests/{sc.ehc}/final-plan", {"exceptions": ["bank_holiday"]}, "exceptions"),
        (f"/ehc-requests/{sc.ehc}/advice-requests", {"from_organisation_id": "p", "from_agency": "parent"}, "from_agency"),
        # The directory: an organisation it does not hold, or of another agency than named.
        (f"/children/{sc.child}/referrals", {"to_organisation_id": "nhs-slt-nowhere", "to_agency": "slt_service", "reason": "r"}, "to_organisation_id"),
        (f"/children/{sc.child}/referrals", {"to_organisation_id": "nhs-slt-east", "to_agency": "ep_service", "reason": "r"}, "to_agency"),
        (f"/ehc-requests/{sc.ehc}/advice-requests", {"from_organisation_id": "nobody", "from_agency": "ep_service"}, "from_organisation_id"),
        (f"/ehc-requests/{sc.ehc}/advice-requests", {"from_organisation_id": "la-inclusion-north", "from_agency": "ep_service"}, "from_agency"),
        (f"/children/{sc.child}/invitations", {"organisation_id": "nobody"}, "organisation_id"),
        (f"/children/{sc.child}/transition", {"school_organisation_id": "acorns-preschool", "starts_on": "2027-09-01", "plan_summary": "p"}, "school_organisation_id"),
        # Dates of the child's casework lie within its early years (to the 1 September after it is 5).
        (f"/children/{sc.child}/integrated-reviews", {"scheduled_for": "9999-12-31"}, "scheduled_for"),
        (f"/children/{sc.child}/transition", {"school_organisation_id": "oak-primary", "starts_on": "9999-12-31", "plan_summary": "p"}, "starts_on"),
        (f"/children/{sc.child}/transition", {"school_organisation_id": "oak-primary", "starts_on": "2028-09-02", "plan_summary": "p"}, "starts_on"),
        ("/children/not-a-uuid/concerns", {"areas_of_need": ["cognition_and_learning"], "summary": "s"}, "child_id"),
    ]
    for path, body, field in cases:
        who = "la" if "/ehc-requests/" in path else ("hv" if "integrated" in path else "setting")
        who = "area_senco" if "/decline" in path and "/referrals/" in path else who
        r = await c.post(path, headers=auth(who), json=body)
        assert r.status_code == 422, (path, body, r.text)
        assert field in r.text, (path, field, r.text)
    r = await c.get("/caseload?kind=everything", headers=auth("area_senco"))
    assert r.status_code == 422 and "kind" in r.text
    r = await c.get("/caseload?limit=0", headers=auth("area_senco"))
    assert r.status_code == 422 and "limit" in r.text


async def test_unknown_ids_get_a_404(service):
    for method, template in ROUTES:
        if "{" not in template:
            continue
        body = {}
        r = await service.client.request(method, _path(template), headers=auth("la"), json=body)
        assert r.status_code in (404, 422), (template, r.text)  # 422 when the empty body lacks a field


JUNK = [None, [], "text", 42, {"unexpected": True}, {"summary": None}, {"reason": ["a"]},
        {"date_of_birth": "2024-02-30", "given_name": "A", "family_name": "B"}, {"scheduled_for": "9999-99-99"},
        {"outcomes": {"communication_and_language": "great"}, "completed_on": "2025-06-01"}, {"exceptions": "x"}]


async def test_no_input_produces_a_500(service, scenario):
    for method, template in ROUTES:
        for who in ("setting", "la", "parent"):
            for body in JUNK:
                r = await service.client.request(method, _path(template, scenario), headers=auth(who, children=[scenario.child]) if who == "parent" else auth(who), json=body)
                assert r.status_code < 500, (method, template, who, body, r.text)
        r = await service.client.request(method, _path(template, scenario), headers={**auth("setting"), "Content-Type": "application/json"},
                                         content=b"\xff\xfe{")
        assert r.status_code < 500, (method, template, r.text)
