"""The one HTTP client shape every API client has (notifications-admin's `*_api_client.py`):
a shared `httpx.AsyncClient` (one connection pool for the process, built in bootstrap), the
service's base URL and, once bound with `as_person(token)`, the signed-in person's bearer token.
Answers come back as parsed JSON; refusals and failures as the exceptions of `errors`."""

from __future__ import annotations

import string
from collections.abc import Awaitable, Callable
from typing import Any, Self

import httpx
import structlog

from services.common.logging import HTTP_CORRELATION_HEADER, get_correlation_id
from services.web.api_clients.errors import (
    ApiValidationError, Conflict, Forbidden, NotAuthenticated, NotFound, ServiceUnavailable,
)
from services.web.timing import api_call

log = structlog.get_logger(__name__)

def validation_fields(body: Any) -> dict[str, str]:
    """The fields of a 422 Problem Details answer (services/common/problems.py): each entry of
    `errors` (a request that failed validation) by its `field`, else the one `field` a domain
    rule names with its `detail`."""
    if not isinstance(body, dict):
        return {"": "The information given was not accepted"}
    fields: dict[str, str] = {}
    errors = body.get("errors")
    if isinstance(errors, list):
        for err in errors:
            if isinstance(err, dict):
                message = str(err.get("msg") or "is not valid").removeprefix("Value error, ")
                fields.setdefault(str(err.get("field") or ""), message)
    elif isinstance(body.get("detail"), str):
        fields[str(body.get("field") or "")] = body["detail"]
    return fields or {"": "The information given was not accepted"}


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    detail = body.get("detail") if isinstance(body, dict) else None
    return detail if isinstance(detail, str) else ""


def endpoint(method: str, path: str) -> Callable[..., Awaitable[Any]]:
    """An API call as a client method: `client.call(*ids, body)` fills the path's `{names}` from
    the ids, in order, and sends the body (POST, PUT) when there is one:

        decline_referral = endpoint("POST", "/referrals/{referral_id}/decline")
    """
    names = [name for _, name, _, _ in string.Formatter().parse(path) if name]

    async def call(self: ApiClient, *args: Any) -> Any:
        ids, rest = args[:len(names)], args[len(names):]
        url = path.format(**dict(zip(names, ids, strict=True)))
        return await self._request(method, url, **({"json": rest[0]} if rest else {}))

    call.__doc__ = f"{method} {path}"
    return call


class ApiClient:
    service: str = "api"

    def __init__(self, http: httpx.AsyncClient, base_url: str, token: str | None = None) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._token = token

    def as_person(self, token: str) -> Self:
        """This client, calling as the person whose access token this is."""
        return type(self)(self._http, self._base_url, token)

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return await self._request("GET", path, params=params)

    async def _post(self, path: str, json: Any = None) -> Any:
        return await self._request("POST", path, json=json)

    async def _put(self, path: str, json: Any = None) -> Any:
        return await self._request("PUT", path, json=json)

    async def _delete(self, path: str) -> Any:
        return await self._request("DELETE", path)

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        cid = get_correlation_id()
        if cid:
            headers[HTTP_CORRELATION_HEADER] = cid
        if "params" in kwargs and kwargs["params"] is not None:
            kwargs["params"] = {k: v for k, v in kwargs["params"].items() if v is not None}
        try:
            with api_call():
                response = await self._http.request(method, self._base_url + path, headers=headers, **kwargs)
        except httpx.TimeoutException:
            log.warning("api_unavailable", service=self.service, reason="timeout")
            raise ServiceUnavailable(self.service, "timed out") from None
        except httpx.TransportError as e:
            log.warning("api_unavailable", service=self.service, reason=type(e).__name__)
            raise ServiceUnavailable(self.service, "could not connect") from None
        return self._answer(response)

    def _answer(self, response: httpx.Response) -> Any:
        status = response.status_code
        if status < 300:
            if status == 204 or not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                raise ServiceUnavailable(self.service, "answered with something that is not JSON") from None
        # Log the status only: the API's words may name case facts.
        log.info("api_refused", service=self.service, status=status)
        if status == 422:
            try:
                body = response.json()
            except ValueError:
                body = None
            raise ApiValidationError(validation_fields(body))
        if status == 404:
            raise NotFound(_detail(response))
        if status == 409:
            raise Conflict(_detail(response) or "This has already been done or cannot be done now")
        if status == 403:
            raise Forbidden(_detail(response))
        if status == 401:
            raise NotAuthenticated(_detail(response))
        if status >= 500:
            raise ServiceUnavailable(self.service, f"answered {status}")
        raise ApiValidationError({"": _detail(response) or "The request was not accepted"})
