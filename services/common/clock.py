"""The one clock of every service: aware UTC, injectable.

Handlers take `now` from their unit of work, which reads it once from the service's clock, so
a command or a consumed batch sees one instant throughout. Tests pass their own `Clock` (any
callable returning an aware datetime) to `bootstrap.build`; nothing else reads the wall clock.

Pure (standard library only).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def utc(value: datetime) -> datetime:
    """`value` in UTC; a naive value (SQLite keeps no zone) is taken to be UTC already."""
    zone = value.tzinfo
    if zone is None:
        return value.replace(tzinfo=timezone.utc)
    return value if zone is timezone.utc else value.astimezone(timezone.utc)
