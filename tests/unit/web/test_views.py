"""The web's pages against fake API clients (no browser, no backend)."""

from __future__ import annotations

import asyncio
import re

from fastapi.testclient import TestClient
from starlette.requests import Request
from starlette.responses import RedirectResponse

from services.web.api_clients import ApiValidationError, Conflict, ServiceUnavailable
from services.web.config import WebSettings
from services.web.security import CONTENT_SECURITY_POLICY
from services.web.session import SignedInPerson
from services.web.signin import OidcSignIn
from tests.unit.web.conftest import make_web

OVERDUE = {"kind": "referral", "id": "1", "child_id": "c1", "child_name": "Amara Okoro", "state": "made",
           "since": "2026-01-01", "days_waiting": 12, "next_action": "accept or decline the referral",
           "next_due": {"kind": "referral_target", "due_on": "2026-01-10", "reference": "target"},
           "overdue": True, "days_overdue": 3, "excused_by": []}
ON_TIME = {**OVERDUE, "id": "2", "child_name": "Ben Ward", "days_waiting": 1, "overdue": False, "days_overdue": 0,
           "next_due": {"kind": "referral_target", "due_on": "2026-02-03", "reference": "target"}}


def test_the_sign_in_page_lists_the_people_of_the_story_in_development(web):
    page = web.client.get("/sign-in")
    assert page.status_code == 200
    for name in ("Priya Shah", "Dana Hughes", "Grace Mensah", "Dr Lee Chen", "Ada Okoro", "Kit Ward"):
        assert name in page.text


class FakeProvider:
    async def start(self, request: Request, redirect_uri: str):
        return RedirectResponse("https://idp.example/authorize?client_id=tac-web", status_code=302)

    async def complete(self, request: Request) -> SignedInPerson:
        raise AssertionError("not reached")


def test_the_sign_in_page_sends_people_to_the_identity_provider_in_production_and_lists_nobody():
    settings = WebSettings(environment="production", session_secret="s" * 40, oidc_issuer="https://idp.example",
                           oidc_client_id="tac-web", oidc_client_secret="secret", jwt_jwks_url="https://idp.example/jwks")
    web = make_web(settings, sign_in=FakeProvider())
    web.client.base_url = "https://testserver"
    with web.client:
        page = web.client.get("/sign-in", follow_redirects=False)
        assert page.status_code == 302 and page.headers["location"].startswith("https://idp.example/")
        assert "Priya Shah" not in page.text
        assert web.client.post("/sign-in", data={"person": "priya-shah"}).status_code in (403, 404)


def test_an_identity_provider_that_cannot_be_reached_is_the_sorry_page_with_503():
    # Port 9 (discard) on this host: nothing listens, the connection is refused at once.
    settings = WebSettings(environment="test", session_secret="s" * 40, oidc_issuer="http://127.0.0.1:9/realms/tac",
                           oidc_client_id="tac-web", oidc_client_secret="secret")

    class NoTokens:
        def verify(self, token):
            raise AssertionError("not reached")

    web = make_web(settings, sign_in=OidcSignIn(settings, NoTokens()))  # type: ignore[arg-type]
    with web.client:
        page = web.client.get("/sign-in", follow_redirects=False)
        assert page.status_code == 503 and "Sorry, there is a problem with the service" in page.text
        # Back from the provider with a state this session never sent: refused in words, not a crash.
        back = web.client.get("/auth/callback?code=c&state=s", follow_redirects=False)
        assert back.status_code == 400 and "The sign-in did not complete" in back.text


def test_a_page_asked_for_by_nobody_signed_in_redirects_to_sign_in(web):
    response = web.client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/sign-in"


def test_a_post_without_the_csrf_token_is_refused_with_a_page(web):
    web.sign_in_as("priya-shah")
    response = web.client.post("/notifications/email", data={"email": "priya@example.org"})
    assert response.status_code == 403
    assert "Your form could not be sent" in response.text
    assert web.apis.notifications.subscribed is None


def test_a_post_with_a_wrong_csrf_token_is_refused(web):
    web.sign_in_as("priya-shah")
    response = web.client.post("/notifications/email", data={"email": "p@example.org", "csrf_token": "x" * 43})
    assert response.status_code == 403


def test_signing_in_without_the_csrf_token_is_refused(web):
    response = web.client.post("/sign-in", data={"person": "priya-shah"}, follow_redirects=False)
    assert response.status_code == 403
    assert web.client.get("/", follow_redirects=False).status_code == 303


def test_every_response_carries_the_security_headers(web):
    for path in ("/sign-in", "/", "/no-such-page", "/static/js-enabled.js", "/health"):
        headers = web.client.get(path, follow_redirects=False).headers
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY and "'unsafe-inline'" not in CONTENT_SECURITY_POLICY


def test_pages_have_no_inline_script(web):
    web.sign_in_as("dana-hughes")
    html = web.client.get("/").text
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert "js-enabled.js" in html


def test_the_session_cookie_is_http_only_and_same_site_lax(web):
    response = web.client.post("/sign-in", data={"person": "priya-shah", "csrf_token": web.csrf()},
                               follow_redirects=False)
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_your_work_shows_the_caseload_overdue_first_with_days_waiting_in_words(web):
    web.apis.referrals.items = [OVERDUE, ON_TIME]
    web.apis.notifications.unread = 3
    web.sign_in_as("dana-hughes")
    page = web.client.get("/")
    assert page.status_code == 200
    text = page.text
    assert text.index("Amara Okoro") < text.index("Ben Ward")
    assert "12 days waiting" in text and "1 day waiting" in text
    assert "govuk-tag--red" in text and "Overdue" in text
    assert "10 January 2026" in text
    assert "Notifications (3 unread)" in text
    assert web.apis.referrals.token and web.apis.referrals.token.count(".") == 2  # the person's JWT was forwarded


def test_a_page_asks_for_the_headers_unread_count_beside_its_own_calls(web, monkeypatch):
    """The page's own call here waits until the count has been asked for: asked after the
    page's calls, as it used to be, the count would never come and the page would fail."""
    notifications, referrals = web.apis.notifications, web.apis.referrals
    count_asked = asyncio.Event()
    unread_count, caseload = notifications.unread_count, referrals.caseload

    async def counting() -> int:
        count_asked.set()
        return await unread_count()

    async def waiting_for_the_count(**params):
        await asyncio.wait_for(count_asked.wait(), timeout=5)
        return await caseload(**params)

    monkeypatch.setattr(notifications, "unread_count", counting)
    monkeypatch.setattr(referrals, "caseload", waiting_for_the_count)
    notifications.unread = 2
    web.sign_in_as("dana-hughes")
    page = web.client.get("/")
    assert page.status_code == 200 and "Notifications (2 unread)" in page.text
    assert [name for name, _ in notifications.calls].count("unread_count") == 1


def test_the_inbox_header_counts_every_unread_notification_with_one_call_for_the_count(web):
    """The inbox shows 50 at most; its header counts what the API counts, asked for once."""
    web.apis.notifications.unread = 70
    web.sign_in_as("dana-hughes")
    page = web.client.get("/notifications")
    assert page.status_code == 200 and "Notifications (70 unread)" in page.text
    assert sorted(name for name, _ in web.apis.notifications.calls) == ["inbox", "unread_count"]


def test_a_parent_never_reaches_a_practitioners_page_and_a_practitioner_never_a_parents(web):
    web.sign_in_as("ada-okoro")
    assert web.client.get("/").status_code == 404
    assert web.client.get("/your-child").status_code == 200
    web.client.post("/sign-out", data={"csrf_token": web.csrf("/your-child")})
    web.sign_in_as("priya-shah")
    assert web.client.get("/your-child").status_code == 404


def test_an_api_422_is_shown_as_an_error_summary_linked_to_the_field(web):
    web.apis.notifications.subscribe_fails_with = ApiValidationError({"email": "is not an e-mail address"})
    web.sign_in_as("priya-shah")
    response = web.client.post("/notifications/email", data={"email": "nope", "csrf_token": web.csrf("/notifications/email")})
    assert response.status_code == 400
    assert "There is a problem" in response.text
    assert 'href="#email"' in response.text
    assert 'id="email-error"' in response.text
    assert "Enter an email address in the correct format" in response.text
    assert "<title>Error: " in response.text


def test_a_backend_that_is_down_shows_the_sorry_page_with_503(web):
    web.sign_in_as("dana-hughes")
    web.apis.referrals.fail_with = ServiceUnavailable("referrals", "could not connect")
    response = web.client.get("/")
    assert response.status_code == 503
    assert "Sorry, there is a problem with the service" in response.text
    assert "Traceback" not in response.text


def test_a_conflict_from_the_api_is_a_page_saying_what_happened(web):
    web.sign_in_as("dana-hughes")
    web.apis.referrals.fail_with = Conflict("the referral has already been accepted")
    response = web.client.get("/")
    assert response.status_code == 409
    assert "the referral has already been accepted" in response.text


def test_input_an_api_refuses_on_a_page_that_is_not_a_form_is_a_400_never_a_500(web):
    web.sign_in_as("dana-hughes")
    web.apis.referrals.fail_with = ApiValidationError({"since": "a date in the future"})
    client = TestClient(web.client.app, raise_server_exceptions=False, cookies=web.client.cookies)
    response = client.get("/")
    assert response.status_code == 400
    assert "Sorry, there is a problem with the service" in response.text
    assert "a date in the future" not in response.text


def test_an_unexpected_error_is_the_sorry_page_never_a_stack_trace(web):
    web.sign_in_as("dana-hughes")
    web.apis.referrals.fail_with = RuntimeError("boom with details")
    client = TestClient(web.client.app, raise_server_exceptions=False, cookies=web.client.cookies)
    response = client.get("/")
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in response.text
    assert "boom" not in response.text


def test_an_unknown_page_is_page_not_found(web):
    response = web.client.get("/no-such-page")
    assert response.status_code == 404 and "Page not found" in response.text


def test_after_signing_out_a_page_redirects_to_sign_in(web):
    web.sign_in_as("dana-hughes")
    assert web.client.get("/").status_code == 200
    response = web.client.post("/sign-out", data={"csrf_token": web.csrf("/")}, follow_redirects=False)
    assert response.status_code == 303
    response = web.client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/sign-in"


def test_a_session_left_idle_past_the_timeout_is_signed_out(web):
    web.sign_in_as("dana-hughes")
    web.clock.now += 29 * 60
    assert web.client.get("/").status_code == 200
    web.clock.now += 31 * 60
    response = web.client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/sign-in"


def test_a_parent_signs_in_with_the_children_of_the_setting(tmp_path):
    child = "7c9e6679-7425-40de-944b-e07fc1f66afe"
    web = make_web(WebSettings(environment="development", dev_parent_children=child))
    with web.client:
        web.sign_in_as("ada-okoro")
        web.client.get("/your-child")
        import jwt

        claims = jwt.decode(web.apis.notifications.token, options={"verify_signature": False})
        assert claims["children"] == [child] and "org" not in claims


def test_health_and_ready_answer_without_signing_in(web):
    assert web.client.get("/health").json()["status"] == "ok"
    assert web.client.get("/ready").status_code in (200, 503)
