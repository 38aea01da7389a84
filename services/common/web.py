"""The FastAPI shell every service's HTTP API is built in (DESIGN §6).

    app = create_app(title="TAC consent", service="consent", settings=settings,
                     routers=[api.router], lifespan=lifespan)
    app.state.readiness = store.ping          # optional: sync or async, False/raise = not ready

    @router.get("/children/{child_id}/consents")
    def list_consents(child_id: UUID, principal: CurrentPrincipal) -> ...: ...

It gives: bearer-token authentication (`CurrentPrincipal`, 401 + `WWW-Authenticate: Bearer`),
correlation ids (`X-Correlation-ID` in, bound for logs, echoed out), DomainError -> HTTP status
with `{"detail", "field"}`, a clean JSON 500 for anything unexpected, `GET /health`,
`GET /ready`, `GET /metrics` (Prometheus), and request count/latency metrics.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import time
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from starlette.concurrency import run_in_threadpool

from services.common.auth import AuthError, Principal, TokenVerifier
from services.common.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from services.common.logging import CorrelationIdMiddleware, get_correlation_id
from services.common.settings import BaseServiceSettings

log = structlog.get_logger(__name__)

# HTTP status per domain error; the most specific class in an exception's MRO wins.
DOMAIN_ERROR_STATUS: dict[type[DomainError], int] = {
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Invalid: 422,
    DomainError: 400,
}

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


# ---------------------------------------------------------------------------- errors


def status_for(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in DOMAIN_ERROR_STATUS:
            return DOMAIN_ERROR_STATUS[cls]  # type: ignore[index]
    return 400


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = status_for(exc)
    # The detail may name case facts; the log keeps only what kind of refusal it was.
    log.info("request_refused", error=type(exc).__name__, status=status, field=exc.field)
    return JSONResponse({"detail": exc.detail, "field": exc.field}, status_code=status)


def json_safe(value: Any, _depth: int = 0) -> Any:
    """`value` made strictly JSON-serialisable: bytes decoded (invalid UTF-8 replaced),
    NaN/Infinity as strings, lone surrogates (which UTF-8 cannot encode) replaced, unknown
    objects via FastAPI's encoder or str()."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if _depth > 32:
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, Mapping):
        return {json_safe(str(k)): json_safe(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v, _depth + 1) for v in value]
    if isinstance(value, BaseException):
        return str(value)
    try:
        encoded = jsonable_encoder(value)
    except Exception:
        return str(value)
    return str(value) if encoded is value else json_safe(encoded, _depth + 1)


async def _request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    # FastAPI's default body (`{"detail": [{"type", "loc", "msg", "input", ...}]}`), made safe
    # for inputs the default cannot serialise (bytes that are not UTF-8, NaN, Infinity).
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": json_safe(exc.errors())}, status_code=422)


def _internal_error_response() -> JSONResponse:
    return JSONResponse(
        {"detail": "internal server error", "correlation_id": get_correlation_id()}, status_code=500
    )


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    # Last resort for errors outside the middleware below (Starlette's ServerErrorMiddleware).
    log.error("unhandled_error", error=type(exc).__name__, exc_info=exc)
    return _internal_error_response()


Scope = MutableMapping[str, Any]
ASGIApp = Callable[..., Any]


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or _UNMATCHED


class _CatchAllMiddleware:
    """Turns any exception that escaped the route into a logged, clean 500 JSON answer
    (no stack trace or message to the caller), with the correlation id still bound."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
            await _internal_error_response()(scope, receive, send)


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
        """Readiness: `app.state.readiness()` (sync or async) did not return False or raise."""
        check = getattr(request.app.state, "readiness", None)
        ok = True
        if check is not None:
            try:
                if inspect.iscoroutinefunction(check):
                    result = await asyncio.wait_for(check(), READINESS_TIMEOUT_S)
                else:
                    result = await asyncio.wait_for(run_in_threadpool(check), READINESS_TIMEOUT_S)
                    if inspect.isawaitable(result):
                        result = await asyncio.wait_for(result, READINESS_TIMEOUT_S)
                ok = result is not False
            except Exception as exc:
                log.warning("readiness_check_failed", error=type(exc).__name__, exc_info=exc)
                ok = False
        body = {"status": "ready" if ok else "not ready", "service": service}
        return JSONResponse(body, status_code=200 if ok else 503)

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

    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(Exception, _unhandled)

    # Added innermost first: CorrelationId -> metrics -> catch-all -> FastAPI's own handlers.
    app.add_middleware(_CatchAllMiddleware)
    app.add_middleware(_RequestMetricsMiddleware, service=service)
    app.add_middleware(CorrelationIdMiddleware)

    app.include_router(_probe_router(service, version))
    for router in routers:
        app.include_router(router)
    return app
