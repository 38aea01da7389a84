"""The HTTP API over a real store (SQLite and PostgreSQL): subscriptions by one's own token,
the inbox with read-time consent checks, and clear 4xx answers naming the field."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import httpx
import pytest

from schemas.envelope import Actor
from schemas.events import consent as c
from schemas.events import referrals as r
from schemas.vocabulary import Agency, AreaOfNeed, Category, TeamJoinRoute, TeamLeaveRoute
from services.common.dev_tokens import dev_private_key_pem, issue_token
from services.common.db import run_migrations
from services.common.web import create_app
from services.notifications.entrypoints import api
from services.notifications.service_layer import handlers
from services.notifications.adapters import store
from services.notifications.bootstrap import MIGRATIONS, build
from services.notifications.config import NotificationsSettings
from services.notifications.domain.webhook_urls import WebhookPolicy
from tests.integration.notifications.conftest import token_for
from tests.integration.notifications.inbox_delivery import deliver_inbox
from tests.unit.notifications.builders import consent_granted, consent_withdrawn, envelope

SETTING = Actor(practitioner_id="priya", organisation_id="sunflower-nursery", agency=Agency.SETTING, role="senco")
EP = Actor(practitioner_id="erin", organisation_id="county-ep", agency=Agency.EP_SERVICE, role="ep")
EP_COLLEAGUE = Actor(practitioner_id="eli", organisation_id="county-ep", agency=Agency.EP_SERVICE, role="ep")
PARENT = Actor(practitioner_id="mum-1", organisation_id=None, agency=Agency.PARENT, role="parent")


@pytest.fixture
async def service(database_url, tmp_path):
    settings = NotificationsSettings(environment="test", database_url=database_url, datadir=tmp_path / "faust",
                                     timeline_public_url="https://tac.example.test")
    run_migrations(database_url, MIGRATIONS)
    svc = build(settings)
    try:
        yield svc
    finally:
        svc.engine.dispose()


@pytest.fixture
async def client(service):
    # The service's routes over a consent copy these tests write directly (`apply`), not fed
    # from the topics: so without the freshness gate, which test_notifications_freshness.py
    # covers on the real broker (the service's own app, never started here, fails closed: 503).
    app = create_app(title="t", service="notifications", settings=service.settings,
                     routers=[api.build_router(service.sessions, webhook_policy=service.settings.webhook_policy)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://nt") as c:
        yield c


def auth(service, actor: Actor, children=()) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(service.settings, actor, children)}"}


def apply(service, *events):
    out = handlers.Outputs("https://tac.example.test", "nt-notifications", email_enabled=False)
    for event in events:
        with service.sessions.begin() as session:
            handlers.handle_event(session, event, store.Source("t", 0, 0, event.actor, event.correlationid), out,
                                  datetime.now(timezone.utc))
    deliver_inbox(service.sessions)


def concern(child):
    data = r.ConcernRaised(concern_id=uuid4(), areas_of_need=(AreaOfNeed.COMMUNICATION_AND_INTERACTION,), summary="s")
    return envelope(data, child, by=SETTING, at=datetime.now(timezone.utc))


def child_with_ep_consent(service):
    child = uuid4()
    consent = consent_granted(child, orgs=(EP.organisation_id,), categories=(Category.CONCERN,))
    apply(service, envelope(r.ChildRegistered(setting_organisation_id=SETTING.organisation_id), child, by=SETTING),
          envelope(r.TeamMemberJoined(organisation_id=EP.organisation_id, agency=Agency.EP_SERVICE, role="ep", joined_through=TeamJoinRoute.REFERRAL_ACCEPTED), child,
                   by=SETTING),
          consent)
    return child, consent


async def test_every_route_refuses_a_caller_without_a_token(client):
    for method, path in (("GET", "/subscriptions/me"), ("PUT", "/subscriptions/me"), ("DELETE", "/subscriptions/me"),
                         ("GET", "/inbox"), ("POST", f"/inbox/{uuid4()}/read")):
        response = await client.request(method, path, json={} if method == "PUT" else None)
        assert response.status_code == 401, (method, path)


@pytest.mark.parametrize(("body", "field"), [
    ({"email": "not-an-address"}, "email"),
    ({"webhook_url": "ftp://hooks.example.test/x", "webhook_secret": "x" * 20}, "webhook_url"),
    ({"webhook_url": "https://user:pw@hooks.example.test/x", "webhook_secret": "x" * 20}, "webhook_url"),
    ({"webhook_url": "https://hooks.example.test/x", "webhook_secret": "short"}, "webhook_secret"),
    ({"sms": "0700"}, "sms"),
])
async def test_a_bad_subscription_gets_422_naming_the_field(client, service, body, field):
    response = await client.put("/subscriptions/me", json=body, headers=auth(service, EP))

    assert response.status_code == 422
    assert field in {str(part) for e in response.json()["errors"] for part in e["loc"]}


async def test_a_webhook_without_its_secret_is_refused_with_the_reason(client, service):
    response = await client.put("/subscriptions/me", json={"webhook_url": "https://hooks.example.test/x"},
                                headers=auth(service, EP))

    assert response.status_code == 422 and "webhook_secret is required" in response.text


async def test_a_practitioner_subscribes_for_their_organisation_and_never_sees_the_secret_again(client, service):
    body = {"email": "erin@example.test", "webhook_url": "https://hooks.example.test/ep", "webhook_secret": "s" * 24}

    put = await client.put("/subscriptions/me", json=body, headers=auth(service, EP))
    got = await client.get("/subscriptions/me", headers=auth(service, EP))

    assert put.status_code == got.status_code == 200
    assert got.json() | {"updated_at": None} == {
        "person_id": "erin", "organisation_id": "county-ep", "agency": "ep_service", "role": "ep", "children": [],
        "children_valid_until": None, "email": "erin@example.test", "webhook_url": "https://hooks.example.test/ep",
        "webhook_secret_set": True,
        "channels": ["inbox", "email", "webhook"], "updated_at": None}
    assert "s" * 24 not in got.text


async def test_a_parent_subscription_covers_the_children_their_token_names(client, service):
    child = uuid4()

    response = await client.put("/subscriptions/me", json={}, headers=auth(service, PARENT, [child]))

    assert response.status_code == 200
    assert (response.json()["organisation_id"], response.json()["children"]) == (None, [str(child)])


async def test_a_parent_subscription_keeps_the_expiry_of_the_token_that_named_the_children(client, service):
    child, issued = uuid4(), datetime.now(timezone.utc).replace(microsecond=0)
    token = issue_token(dev_private_key_pem(), practitioner=PARENT.practitioner_id, organisation=None,
                        agency=Agency.PARENT, role="parent", children=[child], ttl_s=900, now=issued,
                        issuer=service.settings.jwt_issuer, audience=service.settings.jwt_audience)

    put = await client.put("/subscriptions/me", json={"email": "mum@example.test"},
                           headers={"Authorization": f"Bearer {token}"})
    got = await client.get("/subscriptions/me", headers={"Authorization": f"Bearer {token}"})

    assert put.status_code == got.status_code == 200
    assert datetime.fromisoformat(got.json()["children_valid_until"]) == issued + timedelta(seconds=900)
    with service.sessions() as session:
        stored = store.get_subscription(session, PARENT.practitioner_id, "parent").subscriber
    assert stored.children_valid_until == issued + timedelta(seconds=900)


async def test_a_parent_subscribing_again_with_a_new_token_refreshes_the_children_and_their_expiry(client, service):
    kept, ended = uuid4(), uuid4()
    await client.put("/subscriptions/me", json={}, headers=auth(service, PARENT, [kept, ended]))
    first = (await client.get("/subscriptions/me", headers=auth(service, PARENT, [kept]))).json()

    later = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=5)
    token = issue_token(dev_private_key_pem(), practitioner=PARENT.practitioner_id, organisation=None,
                        agency=Agency.PARENT, role="parent", children=[kept], ttl_s=3600, now=later,
                        issuer=service.settings.jwt_issuer, audience=service.settings.jwt_audience)
    again = (await client.put("/subscriptions/me", json={}, headers={"Authorization": f"Bearer {token}"})).json()

    assert set(first["children"]) == {str(kept), str(ended)}
    assert again["children"] == [str(kept)]
    assert datetime.fromisoformat(again["children_valid_until"]) == later + timedelta(seconds=3600)


async def test_unsubscribing_removes_the_subscription(client, service):
    await client.put("/subscriptions/me", json={}, headers=auth(service, EP))

    assert (await client.delete("/subscriptions/me", headers=auth(service, EP))).status_code == 204
    assert (await client.get("/subscriptions/me", headers=auth(service, EP))).status_code == 404
    assert (await client.delete("/subscriptions/me", headers=auth(service, EP))).status_code == 404


async def test_the_inbox_lists_newest_first_and_an_item_can_be_marked_read(client, service):
    await client.put("/subscriptions/me", json={}, headers=auth(service, EP))
    child, _ = child_with_ep_consent(service)
    first, second = concern(child), concern(child)
    apply(service, first, second)

    items = (await client.get("/inbox", headers=auth(service, EP))).json()["items"]
    assert [i["about_event_id"] for i in items] == [str(second.id), str(first.id)]
    assert items[0]["link"] == f"https://tac.example.test/children/{child}/timeline#{second.id}"

    marked = await client.post(f"/inbox/{items[1]['notification_id']}/read", headers=auth(service, EP))
    assert marked.status_code == 200 and marked.json()["read_at"] is not None
    unread = (await client.get("/inbox", params={"unread_only": "true"}, headers=auth(service, EP))).json()["items"]
    assert [i["about_event_id"] for i in unread] == [str(second.id)]


async def test_no_one_can_read_or_mark_someone_elses_notification(client, service):
    await client.put("/subscriptions/me", json={}, headers=auth(service, EP))
    child, _ = child_with_ep_consent(service)
    apply(service, concern(child))
    [item] = (await client.get("/inbox", headers=auth(service, EP))).json()["items"]

    assert (await client.get("/inbox", headers=auth(service, EP_COLLEAGUE))).json()["items"] == []
    response = await client.post(f"/inbox/{item['notification_id']}/read", headers=auth(service, EP_COLLEAGUE))
    assert response.status_code == 404


async def test_an_item_the_reader_may_no_longer_see_is_hidden_at_read_time(client, service):
    await client.put("/subscriptions/me", json={}, headers=auth(service, EP))
    child, consent = child_with_ep_consent(service)
    apply(service, concern(child))
    [item] = (await client.get("/inbox", headers=auth(service, EP))).json()["items"]

    apply(service, consent_withdrawn(child, consent.data.consent_id))

    assert (await client.get("/inbox", headers=auth(service, EP))).json()["items"] == []
    response = await client.post(f"/inbox/{item['notification_id']}/read", headers=auth(service, EP))
    assert response.status_code == 404


async def test_bad_inbox_parameters_get_422_naming_the_parameter(client, service):
    for params, name in (({"limit": 0}, "limit"), ({"before": "yesterday"}, "before"),
                         ({"before": "2026-01-01T00:00:00"}, "before"),
                         # valid timestamps that no UTC datetime can hold
                         ({"before": "0001-01-01T00:00:00+05:00"}, "before"),
                         ({"before": "9999-12-31T23:59:59-05:00"}, "before")):
        response = await client.get("/inbox", params=params, headers=auth(service, EP))
        assert response.status_code == 422 and name in response.text, params
    assert (await client.post("/inbox/not-a-uuid/read", headers=auth(service, EP))).status_code == 422


async def test_the_earliest_and_latest_inbox_cursors_utc_can_hold_are_answered(client, service):
    await client.put("/subscriptions/me", json={}, headers=auth(service, EP))
    child, _ = child_with_ep_consent(service)
    apply(service, concern(child))

    for before, expected in (("0001-01-01T00:00:00+00:00", 0), ("9999-12-31T23:59:59+00:00", 1)):
        response = await client.get("/inbox", params={"before": before}, headers=auth(service, EP))
        assert response.status_code == 200, (before, response.text)
        assert len(response.json()["items"]) == expected, before


@pytest.mark.parametrize(("body", "field"), [
    ({"email": "erin\x00@example.test"}, "email"),
    ({"email": "erin@example.test\x00"}, "email"),
    ({"webhook_url": "https://hooks.example.test/\x00", "webhook_secret": "s" * 20}, "webhook_url"),
    ({"webhook_url": "https://hooks.example.test/a\nb", "webhook_secret": "s" * 20}, "webhook_url"),
    ({"webhook_url": "https://hooks.example.test/x", "webhook_secret": "s" * 20 + "\x00"}, "webhook_secret"),
    ({"webhook_url": "https://hooks.example.test/x", "webhook_secret": "s" * 20 + "\ud800"}, "webhook_secret"),
])
async def test_a_nul_or_control_character_in_a_subscription_gets_422_naming_the_field_and_stores_nothing(
    client, service, body, field
):
    raw = json.dumps(body)  # ASCII with \u escapes, as a client sends a lone surrogate
    response = await client.put("/subscriptions/me", content=raw,
                                headers={**auth(service, EP), "Content-Type": "application/json"})

    assert response.status_code == 422, response.text
    assert field in {str(part) for e in response.json()["errors"] for part in e["loc"]}
    assert (await client.get("/subscriptions/me", headers=auth(service, EP))).status_code == 404


@pytest.mark.parametrize("url", [
    "https://127.0.0.1:8443/x", "https://169.254.169.254/latest/meta-data", "https://[::1]/x", "https://localhost/x",
    "https://0x7f000001/x", "https://127.1/x", "https://[::ffff:127.0.0.1]/x", "https://10.1.2.3/x",
    "https://user:pw@hooks.example.test/x",
])
async def test_a_webhook_to_a_refused_address_is_a_422_naming_the_field(service, url):
    app = create_app(title="t", service="notifications", settings=service.settings,
                     routers=[api.build_router(service.sessions, webhook_policy=WebhookPolicy())])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://nt") as c:
        response = await c.put("/subscriptions/me", headers=auth(service, EP),
                               json={"webhook_url": url, "webhook_secret": "s" * 20})
        assert response.status_code == 422, response.text
        assert (await c.get("/subscriptions/me", headers=auth(service, EP))).status_code == 404


async def test_outside_development_an_http_webhook_is_refused(service):
    app = create_app(title="t", service="notifications", settings=service.settings,
                     routers=[api.build_router(service.sessions, webhook_policy=WebhookPolicy())])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://nt") as c:
        response = await c.put("/subscriptions/me", headers=auth(service, EP),
                               json={"webhook_url": "http://hooks.example.test/x", "webhook_secret": "s" * 20})

    assert response.status_code == 422 and response.json()["field"] == "webhook_url"


# --- the team is the legitimate relationship -------------------------------------------------------


async def test_an_agency_kind_consent_tells_an_organisation_only_once_it_is_on_the_team(client, service):
    await client.put("/subscriptions/me", json={}, headers=auth(service, EP))
    child = uuid4()
    apply(service, envelope(r.ChildRegistered(setting_organisation_id=SETTING.organisation_id), child, by=SETTING),
          consent_granted(child, agencies=(Agency.EP_SERVICE,), categories=(Category.CONCERN,)))
    before = concern(child)
    apply(service, before)
    assert (await client.get("/inbox", headers=auth(service, EP))).json()["items"] == []

    apply(service, envelope(r.TeamMemberJoined(organisation_id=EP.organisation_id, agency=Agency.EP_SERVICE,
                                               role="ep", joined_through=TeamJoinRoute.INVITATION), child,
                            by=SETTING, at=datetime.now(timezone.utc)))
    after = concern(child)
    apply(service, after)
    items = (await client.get("/inbox", headers=auth(service, EP))).json()["items"]
    assert [i["about_event_id"] for i in items] == [str(after.id)]


async def test_an_organisation_removed_from_the_team_is_told_nothing_more(client, service):
    await client.put("/subscriptions/me", json={}, headers=auth(service, EP))
    child, _ = child_with_ep_consent(service)
    told = concern(child)
    apply(service, told)
    apply(service, envelope(r.TeamMemberLeft(organisation_id=EP.organisation_id,
                                             ended_by=TeamLeaveRoute.REMOVED_BY_PARENT), child,
                            by=PARENT, at=datetime.now(timezone.utc)))
    apply(service, concern(child))

    items = (await client.get("/inbox", headers=auth(service, EP))).json()["items"]
    # The earlier item is hidden too: the decision at read time needs the team as well.
    assert items == []


async def test_the_settings_dsl_is_told_of_break_glass_access_in_their_inbox(client, service):
    dsl = Actor(practitioner_id="dsl-hana", organisation_id=SETTING.organisation_id, agency=Agency.SETTING,
                role="designated_safeguarding_lead")
    await client.put("/subscriptions/me", json={}, headers=auth(service, dsl))
    await client.put("/subscriptions/me", json={}, headers=auth(service, SETTING))
    child, _ = child_with_ep_consent(service)
    now = datetime.now(timezone.utc)
    grant = envelope(c.SafeguardingAccessGranted(
        grant_id=uuid4(), organisation_id=EP.organisation_id, justification="Disclosure at drop-off; urgent today.",
        granted_at=now, expires_at=now + timedelta(hours=24)), child, by=EP, at=now)
    apply(service, grant)

    [item] = (await client.get("/inbox", headers=auth(service, dsl))).json()["items"]
    assert item["about_event_id"] == str(grant.id)
    assert EP.organisation_id in item["text"] and "until" in item["text"]
    assert "Disclosure" not in item["text"]
    assert datetime.fromisoformat(item["until"]) == grant.data.expires_at and item["due_on"] is None
    assert (await client.get("/inbox", headers=auth(service, SETTING))).json()["items"] == []
