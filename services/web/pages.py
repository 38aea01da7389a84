"""Errors as pages (UI.md): what went wrong said in words, with the right status, never a
stack trace. Registered on the app by bootstrap; views just raise."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.web.api_clients.errors import (
    ApiValidationError, Conflict, Forbidden, NotAuthenticated, NotFound, ServiceUnavailable,
)
from services.web.session import sign_out

log = structlog.get_logger(__name__)

SIGN_IN_PATH = "/sign-in"


class PageNotFound(Exception):
    """This person has no page here (including: a parent on a practitioner's page, and back)."""


class NotSignedIn(Exception):
    """The page needs a signed-in person: to the sign-in page."""


class CsrfRefused(Exception):
    """A form came without this session's CSRF token."""


def _render(templates: Jinja2Templates, request: Request, name: str, status: int, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"person": None, **context}, status_code=status)


def register_error_pages(app: FastAPI, templates: Jinja2Templates) -> None:
    async def not_found(request: Request, exc: Exception) -> Response:
        return _render(templates, request, "errors/not_found.html", 404)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return await not_found(request, exc)
        if exc.status_code == 405:
            return _render(templates, request, "errors/not_found.html", 405)
        return _render(templates, request, "errors/problem.html", exc.status_code if exc.status_code >= 400 else 500)

    async def not_signed_in(request: Request, exc: Exception) -> Response:
        return RedirectResponse(SIGN_IN_PATH, status_code=303)

    async def token_refused(request: Request, exc: Exception) -> Response:
        # The API no longer accepts the token (it expired): the person signs in again.
        sign_out(request.session)
        return RedirectResponse(SIGN_IN_PATH, status_code=303)

    async def conflict(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Conflict)
        return _render(templates, request, "errors/conflict.html", 409, message=exc.message)

    async def forbidden(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Forbidden)
        return _render(templates, request, "errors/forbidden.html", 403, message=exc.message)

    async def csrf(request: Request, exc: Exception) -> Response:
        log.warning("csrf_refused", method=request.method)
        return _render(templates, request, "errors/csrf.html", 403)

    async def unavailable(request: Request, exc: Exception) -> Response:
        return _render(templates, request, "errors/problem.html", 503)

    async def refused_by_api(request: Request, exc: Exception) -> Response:
        # A form catches its API's 422 and shows it on its fields (forms.py). One that reaches
        # here came from a page that passed on something the API would not take: the request
        # was bad, and it is a 400, never the 500 of an unexpected error. Logged by field name
        # only: the API's words can name case facts.
        assert isinstance(exc, ApiValidationError)
        log.warning("api_refused_page_request", method=request.method, fields=sorted(exc.fields))
        return _render(templates, request, "errors/problem.html", 400)

    async def bad_request(request: Request, exc: Exception) -> Response:
        # A malformed id in the path (/children/made-up) is "Page not found", like an unknown one.
        errors = getattr(exc, "errors", lambda: [])()
        if any((e.get("loc") or ("",))[0] == "path" for e in errors):
            return await not_found(request, exc)
        return _render(templates, request, "errors/problem.html", 400)

    app.add_exception_handler(RequestValidationError, bad_request)
    app.add_exception_handler(PageNotFound, not_found)
    app.add_exception_handler(NotFound, not_found)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(NotSignedIn, not_signed_in)
    app.add_exception_handler(NotAuthenticated, token_refused)
    app.add_exception_handler(Conflict, conflict)
    app.add_exception_handler(Forbidden, forbidden)
    app.add_exception_handler(CsrfRefused, csrf)
    app.add_exception_handler(ServiceUnavailable, unavailable)
    app.add_exception_handler(ApiValidationError, refused_by_api)


def problem_page_middleware(templates: Jinja2Templates) -> dict[str, Any]:
    """The arguments of services.common.web.CatchAllMiddleware for the web: anything
    unexpected becomes the "Sorry, there is a problem" page (500), logged with its type and
    route only; never a stack trace to the person."""

    def respond() -> HTMLResponse:
        html = templates.get_template("errors/problem.html").render(person=None, request=None)
        return HTMLResponse(html, status_code=500)

    return {"respond": respond}
