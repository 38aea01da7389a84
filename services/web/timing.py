"""`Server-Timing` on the web's answers (off unless TAC_WEB_SERVER_TIMING=true; `make bench`
switches it on): `api;dur=<ms>;desc="<n> calls"` — the time spent waiting on the four APIs,
counted once while calls overlap (a page asks for the header's unread count beside its own
calls: services.web.views.deps) — and `app;dur=<ms>` — everything from the request reaching
the web to its answer's headers (so app - api is the web's own work: session, wording,
rendering). Durations only: no path, no id, nothing of the case.

The ApiClient makes each call inside `api_call()`; a request-scoped accumulator in a context
variable is set by the middleware (child tasks copy the context, so they share it)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass
class _Spent:
    api_s: float = 0.0
    api_calls: int = 0
    in_flight: int = 0
    waiting_since: float = 0.0

    def call_began(self, now: float) -> None:
        if self.in_flight == 0:
            self.waiting_since = now
        self.in_flight += 1

    def call_ended(self, now: float) -> None:
        self.in_flight -= 1
        self.api_calls += 1
        if self.in_flight == 0:
            self.api_s += now - self.waiting_since


_SPENT: ContextVar[_Spent | None] = ContextVar("tac_web_server_timing", default=None)


@contextmanager
def api_call() -> Iterator[None]:
    """One call to an API, counted in the request's accumulator (nowhere outside a request)."""
    spent = _SPENT.get()
    if spent is None:
        yield
        return
    spent.call_began(time.perf_counter())
    try:
        yield
    finally:
        spent.call_ended(time.perf_counter())


def server_timing_value(app_s: float, spent: _Spent) -> str:
    return (f'api;dur={spent.api_s * 1000:.1f};desc="{spent.api_calls} calls", '
            f"app;dur={app_s * 1000:.1f}")


class ServerTimingMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        spent = _Spent()
        reset = _SPENT.set(spent)

        async def send_with_timing(message: Message) -> None:
            if message["type"] == "http.response.start":
                value = server_timing_value(time.perf_counter() - started, spent)
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"server-timing", value.encode("latin-1"))]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_timing)
        finally:
            _SPENT.reset(reset)
