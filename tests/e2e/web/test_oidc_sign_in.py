"""Signing in through a real OpenID Connect provider: the web service in production-like mode
(TAC_ENVIRONMENT=test, so no development sign-in) against the local Keycloak, with the APIs
verifying Keycloak's tokens by its JWKS. Dana Hughes types her username and password into
Keycloak's own login form and arrives at "Your work"."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.web.stacks import WebStack, running_stack
from tests.idp import Idp, dev_password

OIDC_STACK_BASE_PORT = 29000


@pytest.fixture(scope="module")
def oidc_stack(idp: Idp, kafka_bootstrap, tmp_path_factory) -> Iterator[WebStack]:
    env = {"TAC_ENVIRONMENT": "test", "TAC_WEB_SESSION_SECRET": secrets.token_urlsafe(48), **idp.web_oidc_env()}
    with running_stack(tmp_path_factory.mktemp("e2e-oidc-stack"), kafka_bootstrap, OIDC_STACK_BASE_PORT, env) as stack:
        yield stack


def test_dana_signs_in_with_keycloak_and_reaches_her_work(oidc_stack, idp, checked_page_for):
    pages = checked_page_for(oidc_stack.web_url)
    page = pages.page

    with page.expect_navigation(url=re.compile(re.escape(idp.issuer) + r"/protocol/openid-connect/auth")):
        page.goto(f"{oidc_stack.web_url}/sign-in")
    pages.seen("keycloak-sign-in")  # Keycloak's own form: photographed, not ours to judge
    page.locator("#username").fill("dana-hughes")
    page.locator("#password").fill(dev_password("dana-hughes"))
    pages.follow(lambda: page.locator("#kc-login").click(), "your-work")

    expect(page).to_have_url(f"{oidc_stack.web_url}/")
    expect(page).to_have_title(re.compile(r"^Your work"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your work")
    expect(page.locator("body")).to_contain_text("Dana Hughes")
    expect(page.locator("body")).to_contain_text("Northbridge Early Years Inclusion")


def test_a_wrong_password_stays_on_keycloaks_form(oidc_stack, idp, checked_page_for):
    pages = checked_page_for(oidc_stack.web_url)
    page = pages.page

    pages.goto("/sign-in", "keycloak-sign-in")
    page.locator("#username").fill("dana-hughes")
    page.locator("#password").fill("not-her-password")
    pages.follow(lambda: page.locator("#kc-login").click(), "keycloak-invalid-password")

    assert page.url.startswith(idp.issuer)
    expect(page.locator("body")).to_contain_text("Invalid username or password")


def test_a_page_asked_for_before_signing_in_is_where_signing_in_arrives(oidc_stack, idp, checked_page_for):
    """A link followed while signed out (a notification's, a bookmark) goes through Keycloak's
    form and arrives at the page asked for, not at the home page."""
    pages = checked_page_for(oidc_stack.web_url)
    page = pages.page

    with page.expect_navigation(url=re.compile(re.escape(idp.issuer) + r"/protocol/openid-connect/auth")):
        page.goto(f"{oidc_stack.web_url}/integrated-reviews")
    pages.seen("keycloak-sign-in")
    page.locator("#username").fill("dana-hughes")
    page.locator("#password").fill(dev_password("dana-hughes"))
    pages.follow(lambda: page.locator("#kc-login").click(), "integrated-reviews")

    expect(page).to_have_url(f"{oidc_stack.web_url}/integrated-reviews")
    expect(page.locator("body")).to_contain_text("Dana Hughes")
