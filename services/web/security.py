"""Response headers every page carries, and the idle timeout of signed-in sessions.

CSP: no inline script or style, nothing from another origin, no framing, forms post only
here (UI.md). GOV.UK Frontend needs none of it: its one inline script is served as a file
(templating.py), and its images are same-origin or data: URIs."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

from services.web.session import Clock, touch

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
_NAMES = {name for name, _ in SECURITY_HEADERS}

# Static files carry no session: they neither count as activity nor rewrite the cookie's age.
STATIC_PREFIXES = ("/static/", "/assets/", "/govuk-frontend/")

Scope = MutableMapping[str, Any]
ASGIApp = Callable[..., Any]


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.extra = ((b"strict-transport-security", b"max-age=31536000; includeSubDomains"),) if hsts else ()

    async def __call__(self, scope: Scope, receive: ASGIApp, send: ASGIApp) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Scope) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers") or () if k.lower() not in _NAMES]
                headers += [*SECURITY_HEADERS, *self.extra]
                path = scope.get("path", "")
                if not path.startswith(STATIC_PREFIXES):
                    # Pages name children: never kept by the browser's or a proxy's cache.
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class IdleTimeoutMiddleware:
    """Inside SessionMiddleware: a signed-in session unused for `idle_timeout_s` is emptied
    before the page sees it, so the page finds nobody signed in."""

    def __init__(self, app: ASGIApp, *, idle_timeout_s: float, clock: Clock) -> None:
        self.app = app
        self.idle_timeout_s = idle_timeout_s
        self.clock = clock

    async def __call__(self, scope: Scope, receive: ASGIApp, send: ASGIApp) -> None:
        if scope["type"] == "http" and "session" in scope and not scope.get("path", "").startswith(STATIC_PREFIXES):
            touch(scope["session"], self.clock(), self.idle_timeout_s)
        await self.app(scope, receive, send)
