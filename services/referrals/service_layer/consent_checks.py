"""The checks of a write that names another organisation (domain.access, "Writes"):
an active consent must cover the organisation named, for the category of what it is being
given, and it must be in the organisation directory as the agency it is named as.

This service's consent state is its own copy of tac.consent.v1, so it trails the consent
service by the time the event takes to arrive: a consent recorded a moment ago may not be here
yet. A write refused only for a missing consent is tried again (its handler is
`@retried_for_missing_consent`), each time in a new transaction, for up to
`Deps.consent_catch_up_s` (0: refuse at once) before the 409 is given. Every attempt takes
the decision afresh on the consent state of that moment, so waiting never lets through
anything that state does not permit.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar
from uuid import UUID

from schemas.vocabulary import Agency, Category
from services.common.directory import Organisation
from services.common.errors import Conflict
from services.referrals.domain import access
from services.referrals.service_layer.unit_of_work import Deps, UnitOfWork

_POLL_S = 0.1


T = TypeVar("T")
P = ParamSpec("P")


class MissingConsent(Conflict):
    """No active consent covers the organisation named (HTTP 409)."""


def catching_up(deps: Deps, attempt: Callable[[], T]) -> T:
    """Run `attempt` (one whole unit of work); while it fails only for a missing consent, run it
    again until the catch-up time is over, then let the 409 through."""
    deadline = time.monotonic() + deps.consent_catch_up_s
    while True:
        try:
            return attempt()
        except MissingConsent:
            if time.monotonic() + _POLL_S > deadline:
                raise
        time.sleep(_POLL_S)


def retried_for_missing_consent(handler: Callable[Concatenate[Deps, P], T]) -> Callable[Concatenate[Deps, P], T]:
    """The command handler `handler(deps, ...)`, one whole unit of work, run through
    catching_up: for a write naming an organisation that a consent must cover."""

    @functools.wraps(handler)
    def handle(deps: Deps, *args: P.args, **kwargs: P.kwargs) -> T:
        return catching_up(deps, lambda: handler(deps, *args, **kwargs))

    return handle


def require_consent(uow: UnitOfWork, child_id: UUID, organisation_id: str, agency: Agency | str, category: Category) -> UUID:
    """The consent that covers the named organisation now (409 naming what is missing)."""
    consent_id = access.consent_covering(access.named(organisation_id, agency), child_id, category, uow.now,
                                         uow.store.consent_state_for(child_id))
    if consent_id is None:
        raise MissingConsent(access.missing_consent(organisation_id, agency, category))
    return consent_id


def require_named_in_consent(uow: UnitOfWork, child_id: UUID, organisation_id: str, agency: Agency | str) -> UUID:
    """An active consent names the organisation or its agency, for any category (409 otherwise):
    what naming the child to an organisation the family has not tied to a request needs."""
    consent_id = access.consent_naming(access.named(organisation_id, agency), child_id, uow.now,
                                       uow.store.consent_state_for(child_id))
    if consent_id is None:
        raise MissingConsent(f"no active consent names {organisation_id}/{Agency(str(agency)).value}")
    return consent_id


def require_may_see(uow: UnitOfWork, caller, child_id: UUID, author_organisation_id: str | None, category: Category) -> None:
    """The caller itself must be permitted to see `category` about the child (409 otherwise):
    for work it records about a child whose record someone else made."""
    state = uow.store.consent_state_for(child_id)
    if not access.may_see(access.viewer_of(caller), child_id, author_organisation_id, category, uow.now, state):
        raise MissingConsent(access.missing_consent(caller.organisation_id, caller.agency, category))


def require_named(uow: UnitOfWork, organisation_id: str, agency: Agency | str | None, id_field: str,
                  agency_field: str | None = None) -> Organisation:
    """The organisation a request names, as the directory knows it (422 naming the field)."""
    return access.named_organisation(uow.deps.directory, organisation_id, agency, id_field=id_field,
                                     agency_field=agency_field)
