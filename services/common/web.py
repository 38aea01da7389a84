"""The FastAPI shell every service's HTTP API is built in (DESIGN §6).

    app = create_app(title="TAC consent", service="consent", settings=settings,
                     routers=[api.router], lifespan=lifespan)
    app.state.readiness = runtime.ready       # optional: sync or async; False, a raise or {dependency: why} = 503

    @router.get("/children/{child_id}/consents")
    def list_consents(child_id: UUID, principal: CurrentPrincipal) -> ...: ...

It gives: bearer-token authentication (`CurrentPrincipal`, 401 + `WWW-Authenticate: Bearer`),
correlation ids (`X-Correlation-ID` in, bound for logs, echoed out), every error as RFC 9457
Problem Details (services/common/problems.py: DomainError -> status, validation, a clean 500),
`GET /health`,
`GET /ready`, `GET /metrics` (Prometheus), and request count/latency metrics.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from starlette.concurrency import run_in_threadpool

from services.common.auth import AuthError, Principal, TokenVerifier
from services.common import problems
from services.common.logging import CorrelationIdMiddleware
from services.common.problems import internal_error_response
from services.common.settings import BaseServiceSettings

log = structlog.get_logger(__name__)

HTTP_REQUESTS = Counter(
    "tac_http_requests_total", "HTTP requests answered", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "tac_http_request_duration_seconds", "Time to answer an HTTP request", ["service", "method", "route"]
)

_PROBES = frozenset({"/health", "/ready", "/metrics"})
_UNMATCHED = "<unmatched>"  # one label for every unknown path, so scanners cannot blow up cardinality
READINESS_TIMEOUT_S = 5.0


# ---------------------------------------------------------------------------- authentication

_bearer = HTTPBearer(auto_error=False, description="A TAC JWT (`tac token ...` issues development ones)")


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(status_code=401, detail=reason, headers={"WWW-Authenticate": "Bearer"})


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from `Authorization: Bearer <jwt>`, verified with
    `request.app.state.token_verifier`. A plain function: FastAPI runs it in a worker thread,
    so a JWKS fetch never blocks the event loop."""
    verifier: TokenVerifier | None = getattr(request.app.state, "token_verifier", None)
    if verifier is None:
        raise RuntimeError("app.state.token_verifier is not set: build the app with create_app()")
    if credentials is None:
        raise _unauthorized("missing bearer token")
    try:
        principal = verifier.verify(credentials.credentials)
    except AuthError as e:
        raise _unauthorized(e.reason) from None
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


Scope = MutableMapping[str, Any]
ASGIApp = Callable[..., Any]


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or _UNMATCHED


class CatchAllMiddleware:
    """Turns any exception that escaped the route into a logged, clean 500 (no stack trace or
    message to the caller), with the correlation id still bound. `respond` makes the answer:
    a Problem Details 500 for the APIs, the "Sorry, there is a problem" page for the web."""

    def __init__(self, app: ASGIApp, respond: Callable[[], Response] = internal_error_response) -> None:
        self.app = app
        self.respond = respond

    async def __call__(self, scope: Scope, receive: ASGIApp, send: ASGIApp) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Scope) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception as exc:
            log.error(
                "unhandled_error",
                error=type(exc).__name__,
                method=scope.get("method"),
                route=_route_template(scope),
                exc_info=exc,
            )
            if started:
                raise
            await self.respond()(scope, receive, send)


class _RequestMetricsMiddleware:
    """Counts and times requests by route template (never by raw path, which holds ids) and
    logs one line per request."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: ASGIApp, send: ASGIApp) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        start = time.perf_counter()

        async def send_recording(message: Scope) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_recording)
        finally:
            elapsed = time.perf_counter() - start
            route = _route_template(scope)
            method = str(scope.get("method", ""))
            HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
            HTTP_LATENCY.labels(self.service, method, route).observe(elapsed)
            if route not in _PROBES:
                log.info("http_request", method=method, route=route, status=status, duration_ms=round(elapsed * 1000, 1))


# ---------------------------------------------------------------------------- probes


def _probe_router(service: str, version: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/health")
    async def health() -> dict[str, str]:
        """Liveness: the process answers. Never touches a dependency."""
        return {"status": "ok", "service": service, "version": version}

    @router.get("/ready")
    async def ready(request: Request) -> JSONResponse:
        """Readiness: `app.state.readiness()` (sync or async) returns True, None or an empty
        mapping. A mapping of failing dependency -> why (ServiceRuntime.ready), False or an
        exception is 503 with Problem Details naming what fails."""
        check = getattr(request.app.state, "readiness", None)
        failing: Mapping[str, str] = {}
        if check is not None:
            try:
                if inspect.iscoroutinefunction(check):
                    result = await asyncio.wait_for(check(), READINESS_TIMEOUT_S)
                else:
                    result = await asyncio.wait_for(run_in_threadpool(check), READINESS_TIMEOUT_S)
                    if inspect.isawaitable(result):
                        result = await asyncio.wait_for(result, READINESS_TIMEOUT_S)
                if isinstance(result, Mapping):
                    failing = dict(result)
                elif result is False:
                    failing = {"readiness": "the readiness check said not ready"}
            except Exception as exc:
                log.warning("readiness_check_failed", error=type(exc).__name__, exc_info=exc)
                failing = {"readiness": f"the readiness check failed ({type(exc).__name__})"}
        if not failing:
            return JSONResponse({"status": "ready", "service": service})
        log.warning("not_ready", failing=failing)
        detail = "; ".join(f"{name}: {reason}" for name, reason in failing.items())
        return JSONResponse(
            {"type": problems.problem_type("not-ready"), "title": "The service is not ready", "status": 503,
             "detail": detail, "service": service, "failing": failing},
            status_code=503, media_type=problems.MEDIA_TYPE,
        )

    @router.get("/metrics")
    async def metrics() -> Response:
        """Prometheus exposition of this process's default registry."""
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return router


# ---------------------------------------------------------------------------- the app


def create_app(
    *,
    title: str,
    service: str,
    settings: BaseServiceSettings,
    routers: Sequence[APIRouter] = (),
    lifespan: Callable[[FastAPI], Any] | None = None,
    version: str = "1",
    token_verifier: TokenVerifier | None = None,
) -> FastAPI:
    """A service's FastAPI app. `token_verifier` defaults to one built from `settings`
    (PEM key or JWKS URL). Interactive docs are off in production."""
    production = settings.environment == "production"
    app = FastAPI(
        title=title,
        version=version,
        lifespan=lifespan,
        docs_url=None if production else "/docs",
        redoc_url=None,
        openapi_url=None if production else "/openapi.json",
    )
    app.state.service = service
    app.state.settings = settings
    app.state.token_verifier = token_verifier or TokenVerifier.from_settings(settings)
    app.state.readiness = None

    problems.install(app)

    # Added innermost first: CorrelationId -> metrics -> catch-all -> FastAPI's own handlers.
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(_RequestMetricsMiddleware, service=service)
    app.add_middleware(CorrelationIdMiddleware)

    app.include_router(_probe_router(service, version))
    for router in routers:
        app.include_router(router)
    return app
