"""`SqlStore`: the referrals store bound to one transaction's session — what the service layer
calls as `uow.store` (writes) and `deps.reading()` (reads). Each method is the function of the
same name in one of the *_store modules (split by aggregate) with the session filled in, so the
store's interface is exactly the names those modules export (`__all__` below); a fake for unit
tests implements the same names in memory (tests/unit/referrals/fakes.py)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from datetime import datetime
from uuid import UUID

from sqlalchemy.orm import Session

from schemas.envelope import Actor, Event
from services.common.unit_of_work import UnitOfWork
from services.referrals.adapters import (
    casework_store, caseload_store, children_store, consent_store, referrals_store, team_store,
)

AGGREGATES = (children_store, referrals_store, team_store, casework_store, consent_store, caseload_store)


def store_functions() -> dict[str, Callable[..., Any]]:
    """Every public function of the aggregate modules, by name (the store's interface)."""
    found: dict[str, Callable[..., Any]] = {}
    for module in AGGREGATES:
        for name, value in vars(module).items():
            if callable(value) and not name.startswith("_") and getattr(value, "__module__", None) == module.__name__:
                assert name not in found, f"{name} is defined by two store modules"
                found[name] = value
    return found


class SqlStore:
    """On a read's session, or on a write's common unit of work (`unit`): its session, its
    instant, and its outbox for `emit`."""

    def __init__(self, session: Session, *, unit: UnitOfWork | None = None):
        self.session = session
        self._unit = unit
        self.now: datetime | None = unit.now if unit is not None else None

    def emit(self, actor: Actor, child_id: UUID, payload: Event, *, event_id: UUID | None = None) -> UUID:
        if self._unit is None:
            raise RuntimeError("a read emits nothing")
        return self._unit.emit(actor, child_id, payload, event_id=event_id)

    def flush(self) -> None:
        self.session.flush()


def _bound(function: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(function)
    def method(self: SqlStore, *args: Any, **kwargs: Any) -> Any:
        return function(self.session, *args, **kwargs)
    return method


for _name, _function in store_functions().items():
    setattr(SqlStore, _name, _bound(_function))
