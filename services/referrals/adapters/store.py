"""`SqlStore`: the referrals store bound to one transaction's session — what the service layer
calls as `uow.store` (writes) and `deps.reading()` (reads). Each method is the function of the
same name in one of the *_store modules (split by aggregate) with the session filled in, so the
store's interface is exactly the names those modules export (`__all__` below); a fake for unit
tests implements the same names in memory (tests/unit/referrals/fakes.py)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from sqlalchemy.orm import Session

from schemas.envelope import EnvelopeBase
from services.common.outbox import add_to_outbox
from services.referrals.adapters import (
    casework_store, caseload_store, children_store, consent_store, referrals_store, team_store, tables,
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
    def __init__(self, session: Session):
        self.session = session

    def add_to_outbox(self, envelope: EnvelopeBase, topic: str | None) -> None:
        add_to_outbox(self.session, tables.outbox, envelope, topic=topic)

    def flush(self) -> None:
        self.session.flush()


def _bound(function: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(function)
    def method(self: SqlStore, *args: Any, **kwargs: Any) -> Any:
        return function(self.session, *args, **kwargs)
    return method


for _name, _function in store_functions().items():
    setattr(SqlStore, _name, _bound(_function))
