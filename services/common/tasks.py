"""Background loops of a service process (outbox relay, consumers, timers)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)


async def supervise(name: str, run: Callable[[], Awaitable[None]], stop: asyncio.Event) -> None:
    """Keep a background loop alive: log a crash and restart it with backoff until stopped.
    A loop that dies silently would stop publishing or consuming while /health says all is well."""
    backoff = 0.5
    while not stop.is_set():
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a background loop must outlive one failure
            log.error("background_task_failed", task=name, error=repr(exc), retry_in_s=backoff)
            await sleep_or_stop(stop, backoff)
            backoff = min(backoff * 2, 10.0)


async def stop_all(stop: asyncio.Event, tasks: list[asyncio.Task], timeout_s: float = 10.0) -> None:
    """Ask the loops to finish (`stop`), give them `timeout_s`, then cancel what is left."""
    stop.set()
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=timeout_s)
        for task in pending:
            task.cancel()


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less if `stop` is set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        pass


async def wait_any(stop: asyncio.Event, wakeup: asyncio.Event, timeout: float) -> None:
    """Wait until `stop` or `wakeup` is set, or `timeout` seconds pass (a poll loop's nap that
    new work or shutdown cuts short)."""
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wakeup.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def repeat(stop: asyncio.Event, interval_s: float, tick: Callable[[], Awaitable[int]], *, done: str,
                 failed: str, after_each: Callable[[], None] | None = None) -> None:
    """A timer: `tick()` every `interval_s` until `stop`, logging `done` with how many things it
    did (when any) and `failed` when it raised; a failed tick waits for the next (the database
    may be back by then)."""
    while not stop.is_set():
        try:
            count = await tick()
            if count:
                log.info(done, count=count)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the timer outlives a database hiccup
            log.warning(failed, error=type(exc).__name__, exc_info=exc)
        if after_each is not None:
            after_each()
        await sleep_or_stop(stop, interval_s)
