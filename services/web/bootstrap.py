"""Composition of the web interface: the only place real adapters are built.

`build_app(settings)` returns the FastAPI app: the API clients over one shared httpx
connection pool (opened in the lifespan, closed after), the templates, the sign-in provider
(development people, or the OIDC provider), static files from node_modules and build/, and
the middleware (outermost first): correlation id -> security headers -> problem page ->
session cookie -> idle timeout. Tests pass `apis=`, `sign_in=` and `clock=` to swap adapters.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import structlog
from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from services.common.auth import TokenVerifier
from services.common.directory import Directory
from services.common.logging import CorrelationIdMiddleware
from services.common.web import CatchAllMiddleware
from services.web.api_clients import Apis
from services.web.config import WebSettings
from services.web.pages import problem_page_middleware, register_error_pages
from services.web.security import IdleTimeoutMiddleware, SecurityHeadersMiddleware
from services.web.session import wall_clock
from services.web.signin import DevSignIn, OidcSignIn, SignInProvider
from services.web.templating import build_templates
from services.web.timing import ServerTimingMiddleware
from services.web.words import install_words
from services.web.views import ROUTERS
from services.web.views.deps import csrf_protect

log = structlog.get_logger(__name__)

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
BUILD_DIR = HERE / "build"
GOVUK_DIST = HERE / "node_modules" / "govuk-frontend" / "dist" / "govuk"
SESSION_COOKIE = "tac_session"


def build_app(
    settings: WebSettings,
    *,
    apis: Apis | None = None,
    sign_in: SignInProvider | None = None,
    clock: Callable[[], float] = wall_clock,
    directory: Directory | None = None,
) -> FastAPI:
    production = settings.environment == "production"
    templates = build_templates()
    # The organisation directory (reference data, TAC_DIRECTORY_PATH): names, never ids. A
    # missing or malformed file fails at start. Templates name organisations with `org_name`.
    directory = directory if directory is not None else Directory.load(settings.directory_path)
    install_words(templates, directory)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        http = None
        if apis is None:
            http = httpx.AsyncClient(
                timeout=httpx.Timeout(settings.api_timeout_s, connect=min(5.0, settings.api_timeout_s)),
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
                follow_redirects=False,
            )
            app.state.apis = Apis.connect(http, settings)
        if not (BUILD_DIR / "tac.css").is_file():
            log.warning("stylesheet_missing", hint="run `make install` to build services/web/build/tac.css")
        try:
            yield
        finally:
            if http is not None:
                await http.aclose()

    app = FastAPI(title="TAC", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.templates = templates
    app.state.apis = apis
    app.state.clock = clock
    app.state.directory = directory
    if sign_in is None:
        sign_in = DevSignIn(settings) if settings.development else OidcSignIn(settings, TokenVerifier.from_settings(settings))
    app.state.sign_in = sign_in

    register_error_pages(app, templates)
    # Added innermost first (each add_middleware wraps what is there).
    app.add_middleware(IdleTimeoutMiddleware, idle_timeout_s=settings.idle_timeout_minutes * 60, clock=clock)
    app.add_middleware(
        SessionMiddleware, secret_key=settings.session_secret, session_cookie=SESSION_COOKIE,
        max_age=settings.session_max_age_hours * 3600, same_site="lax", https_only=not settings.development,
    )
    app.add_middleware(CatchAllMiddleware, **problem_page_middleware(templates))
    app.add_middleware(SecurityHeadersMiddleware, hsts=production)
    app.add_middleware(CorrelationIdMiddleware)
    if settings.server_timing:
        app.add_middleware(ServerTimingMiddleware)

    app.include_router(_probes())
    for router in ROUTERS:
        app.include_router(router, dependencies=[Depends(csrf_protect)])
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/assets", StaticFiles(directory=GOVUK_DIST / "assets", check_dir=False), name="assets")
    app.mount("/govuk-frontend", StaticFiles(directory=GOVUK_DIST, check_dir=False), name="govuk-frontend")
    app.mount("/build", StaticFiles(directory=BUILD_DIR, check_dir=False), name="build")
    return app


def _probes() -> APIRouter:
    router = APIRouter()

    @router.get("/health")
    async def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "service": "web"}

    @router.get("/ready")
    async def ready() -> JSONResponse:
        """Ready when the stylesheet and GOV.UK Frontend's files are in place. The APIs are
        not asked: a backend down is a page saying so, not a web service taken out of rotation."""
        ok = (BUILD_DIR / "tac.css").is_file() and (GOVUK_DIST / "govuk-frontend.min.js").is_file()
        return JSONResponse({"status": "ready" if ok else "not ready", "service": "web"}, status_code=200 if ok else 503)

    return router
