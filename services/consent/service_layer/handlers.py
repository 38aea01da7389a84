"""The consent service's use cases. Each command runs in one unit of work that writes the state
change and the outbox row of the one event it causes (service_layer.unit_of_work).

Handlers are plain functions whose first parameter, `deps`, names what they need from the
outside world; only bootstrap builds real dependencies, and the unit tests swap in fakes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from uuid import UUID, uuid4

import structlog
from pydantic import ValidationError

from consent_policy.holds import UNKNOWN_TYPE, Hold, restricts_access
from schemas.envelope import EnvelopeBase
from schemas.topics import REFERRALS
from schemas.events.referrals import ChildRegistered, TeamMemberJoined, TeamMemberLeft
from services.common.errors import Conflict, Invalid, NotFound
from services.common.messagebus import Handlers, is_unknown, skipped_unknown
from services.consent import domain
from services.consent.domain import Caller, StoredConsent
from services.consent.service_layer.unit_of_work import Deps, UnitOfWork
from services.consent.service_layer.views import consent_view, safeguarding_view

log = structlog.get_logger(__name__)

__all__ = [
    "HANDLERS", "Deps", "grant_consent", "grant_safeguarding_access", "list_consents", "list_safeguarding_access",
    "hold_children", "record_referrals_event", "withdraw_consent",
]


@contextmanager
def _contract_errors() -> Iterator[None]:
    """The domain checks every rule of the contracts first; should one slip through, the
    caller still gets a 422 naming the field rather than a 500."""
    try:
        yield
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        field = ".".join(str(p) for p in err["loc"]) or "body"
        raise Invalid(f"{field}: {err['msg']}", field=field) from None


# -- commands -------------------------------------------------------------------------------


def grant_consent(deps: Deps, caller: Caller, child_id: UUID, cmd: domain.GrantConsent) -> dict:
    with deps.begin() as uow:
        child = uow.relationship(child_id)
        with _contract_errors():
            consent, event = domain.grant_consent(caller, child_id, child, cmd, consent_id=uuid4(), now=uow.now,
                                                  directory=deps.directory, max_months=deps.max_consent_months)
        event_id = uow.emit(caller.as_actor(), child_id, event)
        uow.add_consent(consent, event_id)
        stored = StoredConsent(consent, str(event_id), None, {})
    return {**consent_view(stored, uow.now, deps), "event_id": event_id}


def withdraw_consent(deps: Deps, caller: Caller, child_id: UUID, consent_id: UUID, cmd: domain.WithdrawConsent) -> dict:
    with deps.begin() as uow:
        child = uow.relationship(child_id)
        # Who may withdraw is checked before the consent is looked up, so a caller with no
        # relationship to the child learns nothing, and a team member (403) not even whether
        # the consent id exists.
        domain.require_parent_or_setting_on_behalf(caller, child_id, child, "withdraw consent")
        stored = _load_consent(uow, child_id, consent_id)
        with _contract_errors():
            withdrawn, event = domain.withdraw_consent(caller, stored.consent, child, cmd, now=uow.now)
        event_id = uow.emit(caller.as_actor(), child_id, event)
        if not uow.record_withdrawal(withdrawn, event_id):
            raise Conflict(f"consent {consent_id} is already withdrawn")
        result = StoredConsent(withdrawn, stored.granted_event_id, str(event_id), stored.notice_event_ids)
    # Answered once the withdrawal is on the topic: a read the team makes after this answer then
    # waits for the timeline to apply it (its freshness gate) instead of racing the relay.
    if not deps.await_published(event_id):
        log.warning("consent_withdrawal_answered_unpublished", event_id=str(event_id))
    return {**consent_view(result, uow.now, deps), "event_id": event_id}


def _load_consent(uow: UnitOfWork, child_id: UUID, consent_id: UUID) -> StoredConsent:
    stored = uow.get_consent(consent_id)
    # A consent of another child is "not found" here: the path names the child.
    if stored is None or stored.consent.child_id != child_id:
        raise NotFound(f"child {child_id} has no consent {consent_id}")
    return stored


def grant_safeguarding_access(deps: Deps, caller: Caller, child_id: UUID, cmd: domain.GrantSafeguardingAccess) -> dict:
    with deps.begin() as uow:
        child = uow.relationship(child_id)
        with _contract_errors():
            access, event = domain.grant_safeguarding_access(caller, child_id, child, cmd, grant_id=uuid4(), now=uow.now)
        event_id = uow.emit(caller.as_actor(), child_id, event)
        uow.add_safeguarding_access(access, event_id)
    return {**safeguarding_view(access, str(event_id), uow.now, deps, caller), "event_id": event_id}


# -- queries --------------------------------------------------------------------------------


def list_consents(deps: Deps, caller: Caller, child_id: UUID) -> dict:
    with deps.read() as uow:
        domain.require_parent_or_setting(caller, child_id, uow.relationship(child_id), "see consents")
        found = uow.consents_of_child(child_id)
    return {"child_id": child_id, "as_of": uow.now, "consents": [consent_view(s, uow.now, deps) for s in found]}


def list_safeguarding_access(deps: Deps, caller: Caller, child_id: UUID) -> dict:
    """The caller's organisation's grants for the child; for the child's setting's DSL, every
    organisation's (scope `setting`)."""
    with deps.read() as uow:
        scope = domain.require_may_list_safeguarding(caller, child_id, uow.relationship(child_id))
        holder = None if scope is domain.SafeguardingScope.SETTING else caller.organisation_id
        found = uow.safeguarding_access_of(child_id, holder)
    return {"child_id": child_id, "organisation_id": caller.organisation_id,
            "organisation": deps.summary(caller.organisation_id), "scope": scope.value, "as_of": uow.now,
            "grants": [safeguarding_view(a, e, uow.now, deps, caller) for a, e in found]}


# -- the copy of each child's setting and team ----------------------------------------------


def keep_team_fact(envelope: EnvelopeBase, uow: UnitOfWork) -> None:
    """Into the copy of the decision's state (consent_policy.store): who works with the child."""
    uow.keep_state_event(envelope)


def record_setting(envelope: EnvelopeBase, uow: UnitOfWork) -> None:
    uow.record_child_setting(envelope.subject, envelope.data.setting_organisation_id, envelope.id)


# What this service does with what it consumes from tac.referrals.v1: the team events the
# decision folds (FOLDED_TYPES) go into its copy; a registration also names the child's setting.
# Anything else on the topic is not this service's business: skipped, not even claimed.
HANDLERS: Handlers = {
    ChildRegistered: [keep_team_fact, record_setting],
    TeamMemberJoined: [keep_team_fact],
    TeamMemberLeft: [keep_team_fact],
}


def record_referrals_event(deps: Deps, envelope: EnvelopeBase) -> bool:
    """Apply one consumed event by HANDLERS, once by event id; True when applied. An event of a
    type this build does not know is skipped, counted and not claimed (so after an upgrade it is
    applied when read again); a new version of a team event (consent_policy.holds) also holds
    the child: it may have been a leave this copy cannot apply."""
    if is_unknown(envelope):
        skipped_unknown("consent", envelope)
        if restricts_access(REFERRALS, envelope.type, parsed=True):
            with deps.begin() as uow:
                uow.hold([Hold(child_id=envelope.subject, why=UNKNOWN_TYPE, held_at=uow.now,
                               event_type=envelope.type, event_id=envelope.id,
                               reason=f"unknown event type {envelope.type!r} (a new version of a team event): "
                                      "this build cannot apply it")])
        return False
    todo = HANDLERS.get(type(envelope.data), ())
    if not todo:
        return False
    with deps.begin() as uow:
        if not uow.claim(envelope.id):
            return False
        for handler in todo:
            handler(envelope, uow)
    return True


def hold_children(deps: Deps, holds: Sequence[Hold]) -> int:
    """Record holds the consumer asks for (a team event that could never be parsed): the held
    child's team fails closed in this service's copy until a person releases it."""
    with deps.begin() as uow:
        return uow.hold(holds)
