"""Signing in and out. Development: `/sign-in` lists the people of SCENARIO.md. Anywhere else:
`/sign-in` sends the person to the identity provider and `/auth/callback` brings them back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from services.web.forms import FormErrors
from services.web.pages import PageNotFound
from services.web.session import SignedInPerson, sign_in, sign_out
from services.web.signin import DevSignIn, SignInFailed
from services.web.views.deps import AnyonePage, Page

router = APIRouter()

HOME = "/"
PARENT_HOME = "/your-child"


@router.get("/sign-in")
async def sign_in_page(page: AnyonePage) -> Response:
    provider = page.request.app.state.sign_in
    if isinstance(provider, DevSignIn):
        return await page.render("auth/dev_sign_in.html", people=provider.people, unread_count=None)
    return await provider.start(page.request, _redirect_uri(page.request))


@router.post("/sign-in")
async def sign_in_as(page: AnyonePage, person: Annotated[str, Form()] = "") -> Response:
    provider = page.request.app.state.sign_in
    if not isinstance(provider, DevSignIn):
        raise PageNotFound()
    chosen = provider.person(person) if person else None
    if chosen is None:
        errors = FormErrors().add("person", "Select who you are")
        return await page.render("auth/dev_sign_in.html", people=provider.people, errors=errors,
                                 unread_count=None, status_code=400)
    return _signed_in(page, chosen)


@router.get("/auth/callback")
async def auth_callback(page: AnyonePage) -> Response:
    provider = page.request.app.state.sign_in
    if isinstance(provider, DevSignIn):
        raise PageNotFound()
    try:
        person = await provider.complete(page.request)
    except SignInFailed as e:
        return await page.render("auth/sign_in_failed.html", message=str(e), unread_count=None, status_code=400)
    return _signed_in(page, person)


@router.post("/sign-out")
async def sign_out_now(request: Request) -> Response:
    sign_out(request.session)
    return RedirectResponse("/signed-out", status_code=303)


@router.get("/signed-out")
async def signed_out(page: AnyonePage) -> Response:
    return await page.render("auth/signed_out.html", unread_count=None)


def _signed_in(page: Page, person: SignedInPerson) -> Response:
    """Signed in: on to the page they asked for before, else their home (also when what they
    asked for was the home page: a parent's is not a practitioner's)."""
    home = PARENT_HOME if person.is_parent else HOME
    asked = sign_in(page.request.session, person, page.request.app.state.clock())
    return RedirectResponse(asked if asked and asked != HOME else home, status_code=303)


def _redirect_uri(request: Request) -> str:
    public = request.app.state.settings.public_url
    return f"{public}/auth/callback" if public else str(request.url_for("auth_callback"))
