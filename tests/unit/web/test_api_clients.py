"""The API clients over httpx's MockTransport (a whole transport swapped, nothing patched):
what each answer becomes."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from demo.cast import CAST
from services.web.api_clients import (
    Apis, ApiValidationError, Conflict, NotAuthenticated, NotFound, ReferralsClient, ServiceUnavailable,
)
from services.web.config import WebSettings
from services.web.dev_people import BY_KEY


def _client(handler) -> ReferralsClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return ReferralsClient(http, "http://referrals").as_person("the-token")


def _run(coro):
    return asyncio.run(coro)


def test_a_call_forwards_the_persons_bearer_token_and_returns_the_json():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["auth"] = request.headers.get("authorization")
        seen["url"] = str(request.url)
        return httpx.Response(200, json={"items": [], "total": 0})

    assert _run(_client(handler).caseload(overdue_only=True)) == {"items": [], "total": 0}
    assert seen["auth"] == "Bearer the-token"
    assert seen["url"].startswith("http://referrals/caseload?") and "overdue_only=true" in seen["url"]


def test_a_domain_422_names_its_field():
    client = _client(lambda r: httpx.Response(422, json={"detail": "must be in the past", "field": "date_of_birth"}))
    with pytest.raises(ApiValidationError) as e:
        _run(client.register_child({}))
    assert e.value.fields == {"date_of_birth": "must be in the past"}


def test_a_request_validation_422_names_each_field_without_its_location():
    body = {"type": "urn:tac:problem:invalid-request", "title": "The request is not valid", "status": 422,
            "detail": "email: Value error, is not an e-mail address", "field": "email",
            "errors": [{"field": "email", "loc": ["body", "email"], "msg": "Value error, is not an e-mail address",
                        "type": "value_error"},
                       {"field": "recipients.0.agency", "loc": ["body", "recipients", 0, "agency"],
                        "msg": "Input should be 'setting'", "type": "enum"}]}
    with pytest.raises(ApiValidationError) as e:
        _run(_client(lambda r: httpx.Response(422, json=body)).register_child({}))
    assert e.value.fields == {"email": "is not an e-mail address", "recipients.0.agency": "Input should be 'setting'"}


def test_a_search_by_name_posts_the_name_and_puts_it_in_no_url():
    seen: list[tuple[str, str, bytes]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, str(request.url), request.content))
        return httpx.Response(200, json={"items": [], "total": 0})

    _run(_client(handler).find_children(name="Amara Okoro", limit=200))
    _run(_client(handler).find_children(limit=20))
    (method, url, body), (list_method, list_url, _) = seen
    assert method == "POST" and url == "http://referrals/search/children?limit=200&offset=0"
    assert body == b'{"name":"Amara Okoro"}'
    assert list_method == "GET" and list_url == "http://referrals/children?limit=20&offset=0"


@pytest.mark.parametrize(("status", "error"), [(404, NotFound), (409, Conflict), (401, NotAuthenticated),
                                               (500, ServiceUnavailable), (503, ServiceUnavailable)])
def test_each_refusal_or_failure_becomes_its_exception(status, error):
    client = _client(lambda r: httpx.Response(status, json={"detail": "already accepted", "field": None}))
    with pytest.raises(error):
        _run(client.referral("00000000-0000-0000-0000-000000000001"))


def test_a_conflict_keeps_the_apis_message():
    client = _client(lambda r: httpx.Response(409, json={"detail": "the referral is already accepted", "field": None}))
    with pytest.raises(Conflict) as e:
        _run(client.referral("00000000-0000-0000-0000-000000000001"))
    assert e.value.message == "the referral is already accepted"


@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])
def test_a_backend_that_cannot_be_reached_or_is_too_slow_is_unavailable(failure):
    def handler(request):
        raise failure

    with pytest.raises(ServiceUnavailable):
        _run(_client(handler).caseload())


def test_the_four_clients_share_one_connection_pool_and_bind_the_token_together():
    http = httpx.AsyncClient()
    apis = Apis.connect(http, WebSettings(environment="development")).as_person("t")
    clients = (apis.referrals, apis.consent, apis.timeline, apis.notifications)
    assert all(c._http is http and c._token == "t" for c in clients)
    assert [c._base_url for c in clients] == ["http://127.0.0.1:8001", "http://127.0.0.1:8002",
                                             "http://127.0.0.1:8003", "http://127.0.0.1:8004"]


def test_the_development_people_are_the_demo_cast():
    for person in CAST:
        mine = BY_KEY[person.key]
        assert (mine.organisation_id, mine.agency, mine.role) == (person.organisation_id, person.agency, person.role)


def test_with_server_timing_on_the_page_says_how_long_it_waited_on_the_apis():
    from fastapi.testclient import TestClient

    from services.web.bootstrap import build_app
    from services.web.timing import ServerTimingMiddleware, _SPENT, _Spent, api_call, server_timing_value
    from tests.unit.web.fakes import FakeApis

    # Off by default; on, every answer carries api (time waiting on the APIs, n calls) and app.
    plain = build_app(WebSettings(environment="development"), apis=FakeApis().as_apis())
    assert "server-timing" not in TestClient(plain).get("/sign-in").headers
    timed = build_app(WebSettings(environment="development", server_timing=True), apis=FakeApis().as_apis())
    header = TestClient(timed).get("/sign-in").headers["server-timing"]
    assert header.startswith('api;dur=0.0;desc="0 calls", app;dur=')
    assert ServerTimingMiddleware  # the one bootstrap adds

    # A real client's call is counted in the request's accumulator, and only there.
    spent = _Spent()
    token = _SPENT.set(spent)
    try:
        _run(_client(lambda request: httpx.Response(200, json={"child_id": "c"})).child("c"))  # type: ignore[arg-type]
    finally:
        _SPENT.reset(token)
    with api_call():  # outside a request: nowhere to count, no error
        pass
    assert spent.api_calls == 1 and spent.api_s > 0

    # Calls that overlap (the header's count beside the page's own) are waited on once.
    overlapping = _Spent()
    overlapping.call_began(10.0)
    overlapping.call_began(10.5)
    overlapping.call_ended(11.0)
    overlapping.call_ended(12.0)
    overlapping.call_began(20.0)
    overlapping.call_ended(20.25)
    assert (overlapping.api_calls, overlapping.api_s) == (3, 2.25)
    assert server_timing_value(0.0125, _Spent(api_s=0.0031, api_calls=3)) == 'api;dur=3.1;desc="3 calls", app;dur=12.5'
