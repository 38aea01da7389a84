"""The consent API over HTTP on a real store (SQLite and PostgreSQL): what each action answers,
the one outbox row it writes, and the 4xx every bad request gets instead of a 500."""

from __future__ import annotations

import json
from datetime import timedelta
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.catalogue import parse_event
from tests.integration.consent.conftest import JUSTIFICATION, auth, grant_body, token


def field_of(response) -> str:
    """The field a 422 problem names: `field` for a domain rule, the first error's for a shape error."""
    body = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    return body["errors"][0]["field"] if "errors" in body else body["field"]


# -- granting -------------------------------------------------------------------------------


async def test_the_setting_records_a_consent_and_exactly_one_event_waits_in_the_outbox(service):
    child = service.register_child()
    r = await service.client.post(f"/children/{child}/consents", json=grant_body(), headers=auth("setting"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "active"
    assert body["recorded_on_behalf"] is True
    assert body["given_by"]["name"] == "Kim Parker"
    rows = service.outbox_rows()
    assert len(rows) == 1
    event = parse_event(rows[0].payload)
    assert (str(event.id), event.type) == (body["event_id"], "tac.consent.consent_granted.v1")
    assert str(event.data.consent_id) == body["consent_id"] and event.subject == child
    assert b"Kim Parker" not in rows[0].payload  # the giver's name never goes on the bus


async def test_a_parent_records_consent_for_their_own_child(service):
    child = service.register_child()
    r = await service.client.post(f"/children/{child}/consents", json=grant_body(),
                                  headers=auth("parent", children=[child]))
    assert r.status_code == 201, r.text
    assert r.json()["recorded_on_behalf"] is False
    assert r.json()["given_by"]["person_id"] == "parent-kim"


async def test_the_default_period_is_twelve_months_from_now(service):
    child = service.register_child()
    body = await service.grant(child)
    start = service.clock.now
    try:
        a_year_later = start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        a_year_later = start.replace(year=start.year + 1, day=28)
    assert body["valid_from"].startswith(start.isoformat()[:19])
    assert body["expires_at"].startswith(a_year_later.isoformat()[:19])


@pytest.mark.parametrize(
    "change, field",
    [
        ({"categories": ["concern", "medical"]}, "categories.1"),
        ({"categories": []}, "categories"),
        ({"purposes": ["marketing"]}, "purposes.0"),
        ({"recipients": {"organisation_ids": [], "agencies": ["police"]}}, "recipients.agencies.0"),
        ({"recipients": {"organisation_ids": [], "agencies": []}}, "recipients"),
        ({"recipients": {}}, "recipients"),
        ({"recipients": {"agencies": ["parent"]}}, "recipients.agencies"),
        ({"valid_from": "2031-01-01T00:00:00Z", "expires_at": "2031-01-01T00:00:00Z"}, "expires_at"),
        ({"valid_from": "2031-01-02T00:00:00Z", "expires_at": "2031-01-01T00:00:00Z"}, "expires_at"),
        ({"valid_from": "2020-01-01T00:00:00Z", "expires_at": "2021-01-01T00:00:00Z"}, "expires_at"),
        ({"valid_from": "2031-01-01T00:00:00"}, "valid_from"),
        ({"valid_from": "9999-12-31T00:00:00Z"}, "valid_from"),
        ({"expires_at": "not a date"}, "expires_at"),
        ({"given_by": {"name": "Kim", "relationship": "mother", "has_parental_responsibility": False}},
         "given_by.has_parental_responsibility"),
        ({"given_by": {"name": "", "relationship": "mother", "has_parental_responsibility": True}}, "given_by.name"),
        ({"given_by": {"name": "  ", "relationship": "mother", "has_parental_responsibility": True}}, "given_by.name"),
        ({"given_by": {"name": "Kim\x00", "relationship": "mother", "has_parental_responsibility": True}},
         "given_by.name"),
        ({"given_by": {"relationship": "mother", "has_parental_responsibility": True}}, "given_by.name"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_a_bad_consent_gets_a_422_naming_the_field_and_writes_nothing(service, change, field):
    child = service.register_child()
    r = await service.client.post(f"/children/{child}/consents", json=grant_body(**change), headers=auth("setting"))
    assert r.status_code == 422, r.text
    assert field_of(r) == field
    assert service.outbox_count() == 0


async def test_a_lone_surrogate_in_a_name_is_a_422_not_a_database_error(service):
    child = service.register_child()
    raw = json.dumps(grant_body()).replace("Kim Parker", "Kim \\ud800")
    r = await service.client.post(f"/children/{child}/consents", content=raw,
                                  headers={**auth("setting"), "Content-Type": "application/json"})
    assert r.status_code == 422 and field_of(r) == "given_by.name"


async def test_a_body_that_is_not_json_or_a_path_that_is_not_an_id_is_a_422(service):
    child = service.register_child()
    r = await service.client.post(f"/children/{child}/consents", content=b"{not json",
                                  headers={**auth("setting"), "Content-Type": "application/json"})
    assert r.status_code == 422
    r = await service.client.post("/children/not-a-uuid/consents", json=grant_body(), headers=auth("setting"))
    assert r.status_code == 422 and field_of(r) == "child_id"


# -- who may -------------------------------------------------------------------------------


async def test_a_missing_or_invalid_token_is_a_401(service):
    child = service.register_child()
    url = f"/children/{child}/consents"
    assert (await service.client.post(url, json=grant_body())).status_code == 401
    assert (await service.client.get(url, headers={"Authorization": "Bearer nonsense"})).status_code == 401
    wrong_issuer = {"Authorization": f"Bearer {token('setting', issuer='someone-else')}"}
    assert (await service.client.get(url, headers=wrong_issuer)).status_code == 401
    assert service.outbox_count() == 0


@pytest.mark.parametrize("who, status", [("other_setting", 404), ("slt", 404), ("stranger", 404), ("parent", 403)])
async def test_only_the_childs_parent_setting_or_team_may_record_consents(service, who, status):
    child = service.register_child()
    headers = auth(who, children=[uuid4()]) if who == "parent" else auth(who)
    r = await service.client.post(f"/children/{child}/consents", json=grant_body(), headers=headers)
    assert r.status_code == status, r.text
    assert (await service.client.get(f"/children/{child}/consents", headers=headers)).status_code == status
    assert service.outbox_count() == 0


async def test_a_team_member_cannot_fabricate_a_parents_consent_naming_itself(service):
    """Security review: the SLT service, on the team, recorded "the parent's consent" naming
    itself for every category and could then read everything. Only the parent, or the child's
    setting on their behalf, records consent: a team member is told so (403), nothing is written."""
    child = service.register_child()
    service.join_team(child, "slt")
    service.join_team(child, "slt_dsl")
    everything = grant_body(recipients={"organisation_ids": ["nhs-slt-east"], "agencies": []},
                            categories=["concern", "referral", "progress", "health", "slt", "ep", "ehc"])
    for who in ("slt", "slt_dsl"):
        r = await service.client.post(f"/children/{child}/consents", json=everything, headers=auth(who))
        assert r.status_code == 403, r.text
        assert "child's setting on the parent's behalf" in r.json()["detail"]
    r = await service.client.get(f"/children/{child}/consents", headers=auth("slt"))
    assert r.status_code == 403 and "setting" in r.json()["detail"]
    assert service.outbox_count() == 0


async def test_an_organisation_that_left_the_team_is_answered_as_for_an_unknown_child(service):
    child = service.register_child()
    service.join_team(child, "slt")
    r = await service.client.post(f"/children/{child}/consents", json=grant_body(), headers=auth("slt"))
    assert r.status_code == 403, r.text  # on the team: told who may
    service.clock.advance(seconds=1)
    service.leave_team(child, "slt")
    service.clock.advance(seconds=1)
    r = await service.client.post(f"/children/{child}/consents", json=grant_body(), headers=auth("slt"))
    assert r.status_code == 404, r.text  # off it: the child does not exist
    assert service.outbox_count() == 0


async def test_a_stale_copy_of_the_team_never_lets_a_practitioner_who_is_not_the_setting_write(service):
    """The team is folded from tac.referrals.v1 as it is consumed. Here the copy still holds
    the SLT service (its removal not yet consumed) and the child's former setting (the child
    moved to Acorns; the old setting's departure not yet consumed): neither records nor
    withdraws a consent. Writing needs the setting, read from the child's latest registration."""
    child = service.register_child()
    consent = await service.grant(child)  # recorded by the setting
    service.join_team(child, "slt")
    service.clock.advance(seconds=1)
    service.register_child(setting="acorns-preschool", child_id=child)  # moved; Sunflowers still on the copy
    today = service.clock.now.astimezone(ZoneInfo("Europe/London")).date().isoformat()
    for who in ("slt", "setting"):
        r = await service.client.post(f"/children/{child}/consents", json=grant_body(), headers=auth(who))
        assert r.status_code == 403, (who, r.text)
        r = await service.client.post(f"/children/{child}/consents/{consent['consent_id']}/withdrawal",
                                      json={"parent_withdrew_on": today}, headers=auth(who))
        assert r.status_code == 403, (who, r.text)
    assert service.outbox_count() == 1
    await service.grant(child, who="other_setting")  # the new setting may
    assert service.outbox_count() == 2


def _same_answer(known: httpx.Response, unknown: httpx.Response, known_id: UUID, unknown_id: UUID) -> None:
    assert known.status_code == unknown.status_code, (known.text, unknown.text)
    assert known.text.replace(str(known_id), "<child>") == unknown.text.replace(str(unknown_id), "<child>")


@pytest.mark.parametrize("who", ["stranger", "stranger_dsl", "other_setting"])
async def test_to_an_organisation_off_the_team_every_route_answers_as_for_an_unknown_child(service, who):
    """Step 13: an organisation that knows a child's id learns nothing from it — not even
    when a consent names its kind of agency — on every route of this service."""
    child = service.register_child()
    consent = await service.grant(child, recipients={"organisation_ids": [], "agencies": ["area_senco", "setting"]})
    unknown = uuid4()
    today = service.clock.now.date().isoformat()
    routes = [
        ("POST", "/children/{c}/consents", grant_body()),
        ("GET", "/children/{c}/consents", None),
        ("POST", "/children/{c}/consents/%s/withdrawal" % consent["consent_id"], {"parent_withdrew_on": today}),
        ("POST", "/children/{c}/consents/%s/withdrawal" % uuid4(), {"parent_withdrew_on": today}),
        ("POST", "/children/{c}/safeguarding-access", {"justification": JUSTIFICATION}),
        ("GET", "/children/{c}/safeguarding-access", None),
    ]
    for method, route, body in routes:
        known_r = await service.client.request(method, route.format(c=child), json=body, headers=auth(who))
        unknown_r = await service.client.request(method, route.format(c=unknown), json=body, headers=auth(who))
        _same_answer(known_r, unknown_r, child, unknown)
        assert known_r.status_code in (403, 404), (route, known_r.text)
    assert service.outbox_count() == 1  # the setting's consent, nothing more


async def test_a_recipient_organisation_not_in_the_directory_is_a_422_naming_the_field(service):
    child = service.register_child()
    r = await service.client.post(f"/children/{child}/consents", headers=auth("setting"), json=grant_body(
        recipients={"organisation_ids": ["nhs-slt-east", "made-up-org"], "agencies": []}))
    assert r.status_code == 422, r.text
    assert field_of(r) == "recipients.organisation_ids"
    assert service.outbox_count() == 0


async def test_answers_name_each_organisation_with_its_display_name(service):
    child = service.register_child()
    consent = await service.grant(child)
    assert consent["recipients"]["organisations"] == [
        {"organisation_id": "nhs-slt-east", "name": "East Speech and Language Therapy", "agency": "slt_service"}]
    assert consent["recorded_by_organisation"]["name"] == "Sunflowers Nursery"


@pytest.mark.parametrize("months, status", [(24, 201), (25, 422)])
async def test_a_consent_lasts_at_most_24_months(service, months, status):
    child = service.register_child()
    start = service.clock.now
    end = start.replace(year=start.year + months // 12) + timedelta(days=31 * (months % 12))
    r = await service.client.post(f"/children/{child}/consents", headers=auth("setting"), json=grant_body(
        valid_from=start.isoformat(), expires_at=end.isoformat()))
    assert r.status_code == status, r.text
    if status == 422:
        assert field_of(r) == "expires_at"
    far = await service.client.post(f"/children/{child}/consents", headers=auth("setting"), json=grant_body(
        expires_at="9999-12-31T00:00:00+00:00"))
    assert far.status_code == 422 and field_of(far) == "expires_at"


async def test_a_practitioner_recording_consent_for_an_unregistered_child_gets_a_404(service):
    r = await service.client.post(f"/children/{uuid4()}/consents", json=grant_body(), headers=auth("setting"))
    assert r.status_code == 404


async def test_a_child_who_moves_setting_is_handled_by_the_new_setting(service):
    child = service.register_child()
    service.register_child(setting="acorns-preschool", child_id=child)
    assert (await service.client.get(f"/children/{child}/consents", headers=auth("setting"))).status_code == 403
    assert (await service.client.get(f"/children/{child}/consents", headers=auth("other_setting"))).status_code == 200


# -- listing --------------------------------------------------------------------------------


async def test_the_list_gives_each_consents_status_now(service):
    child = service.register_child()
    now = service.clock.now
    active = await service.grant(child)
    future = await service.grant(child, valid_from=(now + timedelta(days=3)).isoformat(),
                                 expires_at=(now + timedelta(days=30)).isoformat())
    short = await service.grant(child, expires_at=(now + timedelta(days=2)).isoformat())
    withdrawn = await service.grant(child)
    r = await service.client.post(f"/children/{child}/consents/{withdrawn['consent_id']}/withdrawal",
                                  headers=auth("parent", children=[child]))
    assert r.status_code == 201, r.text
    service.clock.advance(days=2)

    r = await service.client.get(f"/children/{child}/consents", headers=auth("parent", children=[child]))
    assert r.status_code == 200
    status = {c["consent_id"]: c["status"] for c in r.json()["consents"]}
    assert status == {active["consent_id"]: "active", future["consent_id"]: "not_yet_started",
                      short["consent_id"]: "expired", withdrawn["consent_id"]: "withdrawn"}


async def test_a_parent_sees_the_consents_of_their_child_even_before_registration_arrives(service):
    child = uuid4()
    r = await service.client.post(f"/children/{child}/consents", json=grant_body(),
                                  headers=auth("parent", children=[child]))
    assert r.status_code == 201
    r = await service.client.get(f"/children/{child}/consents", headers=auth("parent", children=[child]))
    assert [c["status"] for c in r.json()["consents"]] == ["active"]


# -- withdrawing ----------------------------------------------------------------------------


async def test_a_parent_withdraws_at_once_and_one_event_is_written(service):
    child = service.register_child()
    consent = await service.grant(child)
    r = await service.client.post(f"/children/{child}/consents/{consent['consent_id']}/withdrawal",
                                  headers=auth("parent", children=[child]))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "withdrawn"
    assert body["withdrawal"]["recorded_on_behalf"] is False
    events = [parse_event(row.payload) for row in service.outbox_rows()]
    assert [e.type for e in events] == ["tac.consent.consent_granted.v1", "tac.consent.consent_withdrawn.v1"]
    assert str(events[1].id) == body["event_id"]


async def test_a_setting_practitioner_records_a_parents_withdrawal_with_its_date(service):
    child = service.register_child()
    consent = await service.grant(child)
    today = service.clock.now.astimezone(ZoneInfo("Europe/London")).date().isoformat()  # the day in England
    url = f"/children/{child}/consents/{consent['consent_id']}/withdrawal"
    r = await service.client.post(url, json={}, headers=auth("setting"))
    assert r.status_code == 422 and field_of(r) == "parent_withdrew_on"
    tomorrow = (service.clock.now + timedelta(days=2)).date().isoformat()
    r = await service.client.post(url, json={"parent_withdrew_on": tomorrow}, headers=auth("setting"))
    assert r.status_code == 422 and field_of(r) == "parent_withdrew_on"
    r = await service.client.post(url, json={"parent_withdrew_on": today}, headers=auth("setting"))
    assert r.status_code == 201, r.text
    assert r.json()["withdrawal"]["recorded_on_behalf"] is True
    assert service.outbox_count() == 2


async def test_withdrawing_twice_is_a_409_and_writes_no_second_event(service):
    child = service.register_child()
    consent = await service.grant(child)
    url = f"/children/{child}/consents/{consent['consent_id']}/withdrawal"
    parent = auth("parent", children=[child])
    assert (await service.client.post(url, headers=parent)).status_code == 201
    assert (await service.client.post(url, headers=parent)).status_code == 409
    assert service.outbox_count() == 2


async def test_an_unknown_consent_or_one_of_another_child_is_a_404(service):
    child, other = service.register_child(), service.register_child()
    consent = await service.grant(other)
    parent = auth("parent", children=[child, other])
    assert (await service.client.post(f"/children/{child}/consents/{uuid4()}/withdrawal", headers=parent)).status_code == 404
    r = await service.client.post(f"/children/{child}/consents/{consent['consent_id']}/withdrawal", headers=parent)
    assert r.status_code == 404


@pytest.mark.parametrize("who, status", [("other_setting", 404), ("slt", 404), ("parent", 403),
                                         ("slt_on_team", 403), ("slt_dsl_on_team", 403)])
async def test_the_wrong_party_may_not_withdraw(service, who, status):
    child = service.register_child()
    consent = await service.grant(child)
    if who.endswith("_on_team"):
        who = who.removesuffix("_on_team")
        service.join_team(child, who)
    headers = auth(who, children=[uuid4()]) if who == "parent" else auth(who)
    r = await service.client.post(f"/children/{child}/consents/{consent['consent_id']}/withdrawal",
                                  json={"parent_withdrew_on": service.clock.now.date().isoformat()} if who != "parent" else None,
                                  headers=headers)
    assert r.status_code == status, r.text
    assert service.outbox_count() == 1


async def test_a_team_member_cannot_withdraw_the_familys_consent_nor_learn_whether_a_consent_exists(service):
    child = service.register_child()
    consent = await service.grant(child)
    service.join_team(child, "slt")
    today = service.clock.now.astimezone(ZoneInfo("Europe/London")).date().isoformat()
    answers = []
    for consent_id in (consent["consent_id"], uuid4()):
        r = await service.client.post(f"/children/{child}/consents/{consent_id}/withdrawal",
                                      json={"parent_withdrew_on": today}, headers=auth("slt"))
        assert r.status_code == 403, r.text
        assert "child's setting on the parent's behalf" in r.json()["detail"]
        answers.append(r.json())
    assert answers[0] == answers[1]
    assert service.outbox_count() == 1
    r = await service.client.get(f"/children/{child}/consents", headers=auth("setting"))
    assert [c["status"] for c in r.json()["consents"]] == ["active"]


# -- safeguarding ---------------------------------------------------------------------------


async def test_a_dsl_grants_their_organisation_safeguarding_access_and_it_is_listed(service):
    child = service.register_child()
    service.join_team(child, "slt")
    service.join_team(child, "ep")
    r = await service.client.post(f"/children/{child}/safeguarding-access",
                                  json={"justification": JUSTIFICATION, "hours": 24}, headers=auth("slt_dsl"))
    assert r.status_code == 201, r.text
    grant = r.json()
    assert grant["organisation_id"] == "nhs-slt-east" and grant["notify_role"] == "designated_safeguarding_lead"
    assert grant["organisation"]["name"] == "East Speech and Language Therapy"
    [row] = service.outbox_rows()
    event = parse_event(row.payload)
    assert (str(event.id), event.data.grant_id) == (grant["event_id"], UUID(grant["grant_id"]))
    assert event.actor.practitioner_id == "dsl-sam"  # audited: who broke the glass

    assert grant["justification"] == JUSTIFICATION  # the DSL who wrote it
    listed = (await service.client.get(f"/children/{child}/safeguarding-access", headers=auth("slt_dsl"))).json()
    assert [(g["grant_id"], g["status"], g["justification"]) for g in listed["grants"]] == \
        [(grant["grant_id"], "active", JUSTIFICATION)]
    service.clock.advance(hours=24)
    listed = (await service.client.get(f"/children/{child}/safeguarding-access", headers=auth("slt"))).json()
    assert [g["status"] for g in listed["grants"]] == ["expired"]
    other = (await service.client.get(f"/children/{child}/safeguarding-access", headers=auth("ep"))).json()
    assert other["grants"] == []


async def test_the_justification_is_read_by_the_granting_organisations_dsl_only(service):
    """Security review: every practitioner of the granted organisation read the written
    justification (it may say what the child disclosed). They see the grant; only their DSL
    (and the audit) reads why."""
    child = service.register_child()
    service.join_team(child, "slt")
    r = await service.client.post(f"/children/{child}/safeguarding-access",
                                  json={"justification": JUSTIFICATION, "hours": 24}, headers=auth("slt_dsl"))
    assert r.status_code == 201, r.text
    grant_id = r.json()["grant_id"]
    r = await service.client.get(f"/children/{child}/safeguarding-access", headers=auth("slt"))
    assert r.status_code == 200, r.text
    [listed] = r.json()["grants"]
    assert (listed["grant_id"], listed["status"], listed["organisation_id"]) == (grant_id, "active", "nhs-slt-east")
    assert "justification" not in listed and JUSTIFICATION not in r.text
    assert listed["granted_by"]["practitioner_id"] == "dsl-sam"  # their own organisation's grant
    r = await service.client.get(f"/children/{child}/safeguarding-access", headers=auth("slt_dsl"))
    assert [g["justification"] for g in r.json()["grants"]] == [JUSTIFICATION]


async def test_the_settings_dsl_lists_every_grant_for_a_child_of_the_setting_without_the_justification(service):
    """The notification tells the setting's DSL to read the grant in TAC: it lists which
    organisation opened the record, from when, until when — not why (that belongs to the
    granting organisation and the audit). Others of the setting list only their own grants."""
    child, other_child = service.register_child(), service.register_child()
    for c in (child, other_child):
        service.join_team(c, "slt")
    r = await service.client.post(f"/children/{child}/safeguarding-access",
                                  json={"justification": JUSTIFICATION, "hours": 24}, headers=auth("slt_dsl"))
    slt_grant = r.json()
    service.clock.advance(minutes=5)
    own_reason = "Our own concern: the child arrived with bruising and gave an account at drop-off."
    r = await service.client.post(f"/children/{child}/safeguarding-access",
                                  json={"justification": own_reason, "hours": 2}, headers=auth("setting_dsl"))
    assert r.status_code == 201, r.text
    own_grant = r.json()

    r = await service.client.get(f"/children/{child}/safeguarding-access", headers=auth("setting_dsl"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scope"] == "setting" and JUSTIFICATION not in r.text
    theirs, ours = body["grants"]
    assert theirs == {
        "grant_id": slt_grant["grant_id"], "child_id": str(child), "organisation_id": "nhs-slt-east",
        "organisation": {"organisation_id": "nhs-slt-east", "name": "East Speech and Language Therapy",
                         "agency": "slt_service"},
        "granted_at": slt_grant["granted_at"], "expires_at": slt_grant["expires_at"], "status": "active",
        "event_id": slt_grant["event_id"],
    }
    assert (ours["grant_id"], ours["justification"]) == (own_grant["grant_id"], own_reason)

    r = await service.client.get(f"/children/{child}/safeguarding-access", headers=auth("setting"))
    assert r.json()["scope"] == "own_organisation"
    assert [(g["grant_id"], "justification" in g) for g in r.json()["grants"]] == [(own_grant["grant_id"], False)]
    r = await service.client.get(f"/children/{child}/safeguarding-access", headers=auth("slt_dsl"))
    assert [g["grant_id"] for g in r.json()["grants"]] == [slt_grant["grant_id"]]
    r = await service.client.get(f"/children/{other_child}/safeguarding-access", headers=auth("setting_dsl"))
    assert r.json()["grants"] == []  # only that child's grants


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "justification"),
        ({"justification": ""}, "justification"),
        ({"justification": "worried"}, "justification"),
        ({"justification": JUSTIFICATION, "hours": 73}, "hours"),
        ({"justification": JUSTIFICATION, "hours": 0}, "hours"),
        ({"justification": JUSTIFICATION, "hours": "soon"}, "hours"),
    ],
)
async def test_safeguarding_access_without_a_justification_or_beyond_72_hours_is_a_422(service, body, field):
    child = service.register_child()
    r = await service.client.post(f"/children/{child}/safeguarding-access", json=body, headers=auth("setting_dsl"))
    assert r.status_code == 422, r.text
    assert field_of(r) == field
    assert service.outbox_count() == 0


@pytest.mark.parametrize("who", ["setting", "slt"])
async def test_a_practitioner_who_is_not_a_dsl_is_told_to_ask_their_dsl(service, who):
    child = service.register_child()
    service.join_team(child, "slt")
    r = await service.client.post(f"/children/{child}/safeguarding-access", json={"justification": JUSTIFICATION},
                                  headers=auth(who))
    assert r.status_code == 403, r.text
    assert "ask your designated safeguarding lead" in r.json()["detail"]
    assert service.outbox_count() == 0


async def test_a_parent_neither_grants_nor_lists_safeguarding_access(service):
    child = service.register_child()
    parent = auth("parent", children=[child])
    r = await service.client.post(f"/children/{child}/safeguarding-access", json={"justification": JUSTIFICATION},
                                  headers=parent)
    assert r.status_code == 403
    assert (await service.client.get(f"/children/{child}/safeguarding-access", headers=parent)).status_code == 403


# -- no input produces a 500 ----------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
fields = {
    "given_by": st.one_of(json_values, st.fixed_dictionaries({}, optional={
        "name": json_values, "relationship": json_values, "has_parental_responsibility": json_values,
        "person_id": json_values})),
    "recipients": st.one_of(json_values, st.fixed_dictionaries({}, optional={
        "organisation_ids": st.lists(st.text(max_size=5), max_size=3) | json_values,
        "agencies": st.lists(st.sampled_from(["setting", "slt_service", "parent", "x"]), max_size=3)})),
    "categories": st.lists(st.sampled_from(["concern", "slt", "audit", ""]), max_size=3) | json_values,
    "purposes": st.lists(st.sampled_from(["referral", "assessment", "x"]), max_size=2) | json_values,
    "valid_from": st.datetimes().map(lambda d: d.isoformat()) | st.just("2031-01-01T00:00:00+14:00") | json_values,
    "expires_at": st.datetimes().map(lambda d: d.isoformat()) | st.just("0001-01-01T00:00:00-14:00") | json_values,
    "justification": st.text(max_size=40) | json_values,
    "hours": st.floats(allow_nan=False, allow_infinity=False) | json_values,
    "parent_withdrew_on": st.dates().map(lambda d: d.isoformat()) | json_values,
}
bodies = st.fixed_dictionaries({}, optional=fields)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=bodies, route=st.sampled_from(["consents", "withdrawal", "safeguarding-access"]),
       who=st.sampled_from(["setting", "parent", "slt"]))
async def test_no_request_body_produces_a_500(service, body, route, who):
    # One child and consent for every example (the fixture outlives them); a withdrawal that
    # succeeds makes later ones 409s, which is fine: only 5xx fails.
    if not hasattr(service, "fuzz_target"):
        child = service.register_child()
        service.fuzz_target = (child, (await service.grant(child))["consent_id"])
    child, consent_id = service.fuzz_target
    consent = {"consent_id": consent_id}
    url = {"consents": f"/children/{child}/consents",
           "withdrawal": f"/children/{child}/consents/{consent['consent_id']}/withdrawal",
           "safeguarding-access": f"/children/{child}/safeguarding-access"}[route]
    r = await service.client.post(url, json=body, headers=auth(who, children=[child]) if who == "parent" else auth(who))
    assert r.status_code < 500, r.text


@pytest.mark.parametrize("raw", [b'{"justification": "%s", "hours": NaN}', b'{"justification": "%s", "hours": Infinity}',
                                 b'{"justification": "%s", "hours": 1e400}'])
async def test_non_finite_numbers_are_a_422(service, raw):
    child = service.register_child()
    r = await service.client.post(f"/children/{child}/safeguarding-access", content=raw % JUSTIFICATION.encode(),
                                  headers={**auth("slt"), "Content-Type": "application/json"})
    assert r.status_code == 422 and field_of(r) == "hours"
