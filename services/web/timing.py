"""`Server-Timing` on the web's answers (off unless TAC_WEB_SERVER_TIMING=true; `make bench`
switches it on): `api;dur=<ms>;desc="<n> calls"` — the time spent waiting on the four APIs —
and `app;dur=<ms>` — everything from the request reaching the web to its answer's headers
(so app - api is the web's own work: session, wording, rendering). Durations only: no path,
no id, nothing of the case.

The ApiClient adds each call's time with `record_api_call`; a request-scoped accumulator in a
context variable is set by the middleware (child tasks copy the context, so they share it)."""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass
class _Spent:
    api_s: float = 0.0
    api_calls: int = 0


_SPENT: ContextVar[_Spent | None] = ContextVar("tac_web_server_timing", default=None)


def record_api_call(seconds: float) -> None:
    spent = _SPENT.get()
    if spent is not None:
        spent.api_s += seconds
        spent.api_calls += 1


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
