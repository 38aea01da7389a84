"""The steps every command handler shares: domain refusals turned into services.common.errors
(403 / 409), the caller's view of the child (the 404 of an unknown id to whoever may not know
of it), the dates of a child's casework, and a compare-and-set that lost a race (409)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

from services.common.errors import Conflict, Forbidden, Invalid, NotFound
from services.referrals.domain import clock
from services.referrals.domain.rules import ChildRecord, NotPermitted
from services.referrals.domain.state_machine import IllegalTransition, Machine
from services.referrals.service_layer import membership
from services.referrals.service_layer.unit_of_work import UnitOfWork


def allow(rule: Callable[..., Any], *args: Any) -> Any:
    try:
        return rule(*args)
    except NotPermitted as e:
        raise Forbidden(str(e)) from None


def advance(machine: Machine, current: str, action: str) -> str:
    try:
        return machine.next(current, action)
    except IllegalTransition as e:
        raise Conflict(str(e)) from None


def load_child(uow: UnitOfWork, caller, child_id: UUID, *, missing: NotFound | None = None,
               addressees: tuple[str, ...] = ()) -> ChildRecord:
    """The child, or the 404 of an unknown id when the caller may not know of it
    (domain.team)."""
    return membership.known_child(uow.store, caller, child_id, uow.now, missing=missing, addressees=addressees)


def load_record(uow: UnitOfWork, caller, row, missing: NotFound) -> ChildRecord:
    """The child a record (a row of the store) is about, or `missing` — the 404 of an unknown
    id — when there is no such record or the caller may not know of its child."""
    if row is None:
        raise missing
    return load_child(uow, caller, UUID(row["child_id"]), missing=missing)


def within_early_years(value: date, child: ChildRecord, field: str) -> date:
    """A date of the child's casework lies between the child's birth and the 1 September after
    the fifth birthday (clock.casework_ends: compulsory school age, Education Act 1996 s.8)."""
    if value < child.date_of_birth:
        raise Invalid(f"{field} must not be before the child's date of birth", field=field)
    last = clock.casework_ends(child.date_of_birth)
    if value > last:
        raise Invalid(f"{field} must not be after {last}, the 1 September following the child's fifth birthday "
                      f"({clock.REF_CASEWORK_END})", field=field)
    return value


def not_in_future(value: date, today: date, field: str) -> date:
    if value > today:
        raise Invalid(f"{field} must not be in the future", field=field)
    return value


def moved(ok: bool, what: str) -> None:
    if not ok:
        raise Conflict(f"{what} was changed by someone else at the same time; reload and try again")
