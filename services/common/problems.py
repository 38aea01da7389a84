"""Every HTTP error of every service as an RFC 9457 Problem Details document.

    HTTP/1.1 422 Unprocessable Content
    Content-Type: application/problem+json

    {"type": "urn:tac:problem:invalid", "title": "A value breaks a rule", "status": 422,
     "detail": "a consent lasts at most 24 months", "field": "expires_at"}

`type` names the kind of refusal (a URN: stable, never fetched); `title` is the same for every
problem of a type; `detail` is for this occurrence and written for a person; `field` (an
extension member, RFC 9457 §3.2) names the input at fault, dotted from the body, query or path
root; a request that fails validation lists every fault in `errors`. A 500 carries only the
correlation id, never the exception.

`install(app)` registers the handlers (domain errors, request validation, Starlette's HTTP
errors, anything unexpected) and documents, in the app's OpenAPI, every status each operation
can answer with the `Problem` schema, so a client generated from the document knows them all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from services.common.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from services.common.logging import get_correlation_id

log = structlog.get_logger(__name__)

MEDIA_TYPE = "application/problem+json"

# Status and problem type per domain error; the most specific class in an exception's MRO wins.
DOMAIN_ERRORS: dict[type[DomainError], tuple[int, str, str]] = {
    NotFound: (404, "not-found", "Not found"),
    Conflict: (409, "conflict", "The request clashes with the current state"),
    Forbidden: (403, "forbidden", "Not allowed"),
    Invalid: (422, "invalid", "A value breaks a rule"),
    DomainError: (400, "refused", "The request was refused"),
}
INVALID_REQUEST = "invalid-request"

# What every operation may answer besides its success (401 only where a token is required).
_ERROR_STATUSES = (400, 403, 404, 409, 422)


class FieldError(BaseModel):
    field: str = Field(description="The input at fault, dotted from the body, query or path root")
    loc: list[str | int] = Field(description="Where it is: ['body' | 'query' | 'path' | 'header', ...]")
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 Problem Details, with TAC's extension members `field`, `errors`, `correlation_id`."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(description="A URI naming the kind of problem (urn:tac:problem:..., or about:blank)")
    title: str
    status: int
    detail: str | None = None
    field: str | None = None
    errors: list[FieldError] | None = None
    correlation_id: str | None = None


def problem_type(name: str) -> str:
    return f"urn:tac:problem:{name}"


def problem_response(status: int, *, type_: str = "about:blank", title: str | None = None,
                     detail: str | None = None, headers: Mapping[str, str] | None = None,
                     **extensions: Any) -> JSONResponse:
    body = {"type": type_, "title": title or HTTPStatus(status).phrase, "status": status}
    if detail is not None:
        body["detail"] = detail
    body.update({k: v for k, v in extensions.items() if v is not None})
    return JSONResponse(body, status_code=status, headers=dict(headers or {}), media_type=MEDIA_TYPE)


def domain_problem(error: DomainError) -> tuple[int, str, str]:
    for cls in type(error).__mro__:
        if cls in DOMAIN_ERRORS:
            return DOMAIN_ERRORS[cls]  # type: ignore[index]
    return DOMAIN_ERRORS[DomainError]


def status_for(error: DomainError) -> int:
    return domain_problem(error)[0]


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status, name, title = domain_problem(exc)
    # The detail may name case facts; the log keeps only what kind of refusal it was.
    log.info("request_refused", error=type(exc).__name__, status=status, field=exc.field)
    return problem_response(status, type_=problem_type(name), title=title, detail=exc.detail, field=exc.field)


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


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors():
        loc = [part if isinstance(part, int) else json_safe(str(part)) for part in error.get("loc", ())]
        field = ".".join(str(part) for part in loc[1:]) or (str(loc[0]) if loc else "")
        errors.append({"field": field, "loc": loc, "msg": json_safe(str(error.get("msg", ""))),
                       "type": json_safe(str(error.get("type", "")))})
    return errors


async def _request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    # The input itself is never echoed: it may be anything (bytes, NaN, personal data).
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc)
    first = errors[0] if errors else None
    detail = f"{first['field']}: {first['msg']}" if first else "the request is not valid"
    return problem_response(422, type_=problem_type(INVALID_REQUEST), title="The request is not valid",
                            detail=detail, field=first["field"] if first else None, errors=errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    return problem_response(exc.status_code, detail=detail, headers=headers)


def allowed_methods(request: Request) -> str:
    """Every method the request's path answers. Starlette's 405 names only the methods of the
    first route whose path matched, so `OPTIONS /children/{id}/consents` said `Allow: POST`
    although `GET` is served there too (RFC 9110 §15.5.6: Allow lists the resource's methods)."""
    methods: set[str] = set()
    # iter_route_contexts flattens included routers (FastAPI >= 0.16x keeps them nested).
    for route in iter_route_contexts(request.app.router.routes):
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= set(route.methods or ())
    return ", ".join(sorted(methods))


def internal_error_response() -> JSONResponse:
    return problem_response(500, detail="internal server error", correlation_id=get_correlation_id())


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    # Last resort for errors outside the app's middleware (Starlette's ServerErrorMiddleware).
    log.error("unhandled_error", error=type(exc).__name__, exc_info=exc)
    return internal_error_response()


def install(app: FastAPI) -> None:
    """The problem handlers, and the OpenAPI document that lists them."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled)
    app.openapi = lambda: _openapi_with_problems(app)  # type: ignore[method-assign]


def _openapi_with_problems(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        document = get_openapi(title=app.title, version=app.version, routes=app.routes,
                               description=app.description)
        document_problems(document)
        app.openapi_schema = document
    return app.openapi_schema


def document_problems(document: dict[str, Any]) -> None:
    """Each operation lists every error status it can answer, with the Problem schema."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    ref = {"$ref": "#/components/schemas/Problem"}
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            statuses = [*_ERROR_STATUSES, *([401] if operation.get("security") else [])]
            for status in sorted(statuses):
                responses[str(status)] = {
                    "description": HTTPStatus(status).phrase,
                    "content": {MEDIA_TYPE: {"schema": ref}},
                }
