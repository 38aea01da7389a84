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


def test_a_pydantic_422_names_each_field_without_its_location():
    body = {"detail": [{"loc": ["body", "email"], "msg": "Value error, is not an e-mail address", "type": "value_error"},
                       {"loc": ["body", "recipients", 0, "agency"], "msg": "Input should be 'setting'", "type": "enum"}]}
    with pytest.raises(ApiValidationError) as e:
        _run(_client(lambda r: httpx.Response(422, json=body)).register_child({}))
    assert e.value.fields == {"email": "is not an e-mail address", "recipients.0.agency": "Input should be 'setting'"}


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
