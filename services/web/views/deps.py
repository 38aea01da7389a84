"""The request dependencies pages are written with (explicit, never globals):

    @router.get("/")
    async def your_work(page: PractitionerPage) -> Response:
        caseload = await page.apis.referrals.caseload()
        return await page.render("home/your_work.html", caseload=caseload)

`SignedInPage` any signed-in person; `PractitionerPage` practitioners only and `ParentPage`
parents only (anyone else gets "Page not found"); `AnyonePage` for pages with nobody signed in.
`page.apis` are the four API clients calling as the signed-in person.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from services.web.api_clients import Apis, ApiError, ApiValidationError, Conflict
from services.web.config import WebSettings
from services.web.forms import FormErrors
from services.web.pages import CsrfRefused, NotSignedIn, PageNotFound
from services.web.session import SignedInPerson, csrf_matches, csrf_token, remember_page, signed_in_person

log = structlog.get_logger(__name__)

CSRF_FIELD = "csrf_token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class Page:
    request: Request
    templates: Jinja2Templates
    settings: WebSettings
    person: SignedInPerson | None
    apis: Apis | None
    # The header's unread count, asked for as a GET's page begins (`_page`), beside the page's
    # own calls rather than after them.
    unread: asyncio.Task[int] | None = None

    async def render(self, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
        """The template with what every page's layout needs: the person, the CSRF token, the
        unread count for the header (left out, not failed, when notifications is down)."""
        unread = None
        if self.person is not None and self.apis is not None and "unread_count" not in context:
            try:
                asked = self.unread if self.unread is not None else self.apis.notifications.unread_count()
                unread = await asked
            except ApiError as e:
                log.info("unread_count_unavailable", error=type(e).__name__)
        base = {"person": self.person, "csrf_token": csrf_token(self.request.session),
                "development": self.settings.development, "unread_count": unread}
        return self.templates.TemplateResponse(self.request, template, {**base, **context},
                                               status_code=status_code)


    async def form(self, template: str, *, values: dict[str, Any] | None = None, **context: Any) -> HTMLResponse:
        """A form, empty but for `values`."""
        return await self.render(template, values=values or {}, errors=FormErrors(), **context)

    async def submit(
        self, errors: FormErrors, send: Callable[[], Awaitable[Any]], *, done: str | Callable[[Any], str],
        template: str, fields: Mapping[str, str], messages: Mapping[str, str] | None = None,
        conflict_on: str | None = None, **context: Any,
    ) -> Response:
        """A form posted: with no `errors`, `send()` it and go on to `done` (or `done(result)`).
        Otherwise the form again (400) with `context`: the page's own errors, or the API's 422
        each by its field (`fields`: API field -> input id, `messages` its words), or a 409 on
        `conflict_on` where given."""
        if not errors:
            try:
                result = await send()
                return RedirectResponse(done(result) if callable(done) else done, status_code=303)
            except ApiValidationError as e:
                errors = FormErrors.from_api(e, fields=dict(fields), messages=messages)
            except Conflict as e:
                if conflict_on is None:
                    raise
                errors = FormErrors().add(conflict_on, e.message)
        return await self.render(template, errors=errors, status_code=400, **context)


def _page(request: Request, person: SignedInPerson | None) -> Page:
    """The page; for a signed-in person's GET, with the header's unread count already asked for,
    so that it waits beside the page's own calls to the APIs instead of after them (the child
    page asked for it only once its three reads, made at once, had all come back:
    bench/results/web-*). A POST mostly redirects: it asks for the count only if it renders a
    page."""
    state = request.app.state
    apis = state.apis.as_person(person.access_token) if person is not None else None
    unread = None
    if apis is not None and request.method in ("GET", "HEAD"):
        unread = asyncio.create_task(apis.notifications.unread_count())
    return Page(request=request, templates=state.templates, settings=state.settings, person=person, apis=apis,
                unread=unread)


def _settle(page: Page) -> None:
    """Once the page is answered: a count never awaited is cancelled, and a failed one's error
    taken, so asyncio does not report it as lost (`render` logs one it awaited)."""
    unread = page.unread
    if unread is None:
        return
    if not unread.done():
        unread.cancel()
    elif not unread.cancelled():
        unread.exception()


async def anyone_page(request: Request) -> AsyncIterator[Page]:
    page = _page(request, signed_in_person(request.session))
    try:
        yield page
    finally:
        _settle(page)


async def signed_in_page(request: Request) -> AsyncIterator[Page]:
    person = signed_in_person(request.session)
    if person is None:
        if request.method == "GET":
            # Its path only: a query may hold what was typed (a search for a child by name),
            # which has no place in a cookie.
            remember_page(request.session, request.url.path, request.app.state.clock())
        raise NotSignedIn()
    page = _page(request, person)
    try:
        yield page
    finally:
        _settle(page)


def practitioner_page(page: Annotated[Page, Depends(signed_in_page)]) -> Page:
    if page.person is None or page.person.is_parent:
        raise PageNotFound()
    return page


def parent_page(page: Annotated[Page, Depends(signed_in_page)]) -> Page:
    if page.person is None or not page.person.is_parent:
        raise PageNotFound()
    return page


AnyonePage = Annotated[Page, Depends(anyone_page)]
SignedInPage = Annotated[Page, Depends(signed_in_page)]
PractitionerPage = Annotated[Page, Depends(practitioner_page)]
ParentPage = Annotated[Page, Depends(parent_page)]


async def csrf_protect(request: Request) -> None:
    """On every router bootstrap includes: any request that is not GET/HEAD/OPTIONS must carry
    this session's token in the form field `csrf_token` (constant-time comparison)."""
    if request.method in _SAFE_METHODS:
        return
    submitted = None
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # cached on the request: the route reads the same form
        submitted = form.get(CSRF_FIELD)
    if not csrf_matches(request.session, submitted):
        raise CsrfRefused()
