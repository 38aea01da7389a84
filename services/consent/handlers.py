"""The consent service's use cases. Each command runs in one transaction that writes the state
change and the outbox row of the one event it causes; the relay is woken only after commit
(STYLE 6), so an event is never published for a change that rolled back.

Handlers are plain functions whose first parameter, `deps`, names what they need from the
outside world; only bootstrap builds real dependencies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from uuid import UUID, uuid4

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from schemas.catalogue import make_envelope
from schemas.envelope import Actor, EnvelopeBase, Event
from schemas.events.referrals import ChildRegistered
from services.common.directory import Directory
from services.common.errors import Conflict, Invalid, NotFound
from services.common.idempotency import claim_event
from services.common.logging import get_correlation_id
from services.common.outbox import add_to_outbox
from services.consent import domain, store
from consent_policy.state import FOLDED_TYPES
from services.consent.domain import Caller

SOURCE = "/tac/consent"


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Deps:
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime] = system_clock
    consent_topic: str | None = None  # None: the contract's topic (tests use fresh ones)
    on_commit: Callable[[], None] = lambda: None
    # The organisation directory: recipients are checked against it, answers carry names.
    directory: Directory = Directory.of()
    max_consent_months: int = domain.MAX_CONSENT_MONTHS

    def now(self) -> datetime:
        return self.clock().astimezone(timezone.utc)

    def summary(self, organisation_id: str | None) -> dict | None:
        """How an answer names an organisation: id, display name and agency (name and agency
        None for an id the directory no longer holds)."""
        if organisation_id is None:
            return None
        org = self.directory.get(organisation_id)
        return org.summary() if org else {"organisation_id": organisation_id, "name": None, "agency": None}


def relationship(session: Session, child_id: UUID, now: datetime) -> domain.Relationship:
    """Who works with the child now: its setting and its team, from this service's copy."""
    setting = store.child_setting(session, child_id)
    if setting is None:
        return domain.UNKNOWN
    return domain.Relationship(setting, store.consent_copy.state_for(session, child_id).team_members(child_id, now))


class UnitOfWork:
    def __init__(self, deps: Deps, session: Session) -> None:
        self.deps = deps
        self.session = session
        self.now = deps.now()

    def emit(self, actor: Actor, child_id: UUID, payload: Event, *, causationid: str | None = None) -> UUID:
        envelope = make_envelope(payload, subject=child_id, actor=actor, source=SOURCE,
                                 correlationid=get_correlation_id(), causationid=causationid, time=self.now)
        add_to_outbox(self.session, store.outbox, envelope, topic=self.deps.consent_topic)
        return envelope.id


@contextmanager
def unit_of_work(deps: Deps) -> Iterator[UnitOfWork]:
    with deps.sessions.begin() as session:
        yield UnitOfWork(deps, session)
    deps.on_commit()


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


# -- views ----------------------------------------------------------------------------------


def consent_view(stored: store.StoredConsent, now: datetime, deps: Deps) -> dict:
    c = stored.consent
    w = c.withdrawal
    return {
        "consent_id": c.consent_id,
        "child_id": c.child_id,
        "status": c.status(now),
        "given_by": {"name": c.given_by.name, "relationship": c.given_by.relationship,
                     "person_id": c.given_by.person_id,
                     "has_parental_responsibility": c.given_by.has_parental_responsibility},
        "recorded_on_behalf": c.recorded_on_behalf,
        "recorded_by": c.recorded_by.model_dump(mode="json"),
        "recorded_at": c.recorded_at,
        "recorded_by_organisation": deps.summary(c.recorded_by.organisation_id),
        "recipients": {"organisation_ids": list(c.recipient_organisations),
                       "organisations": [deps.summary(o) for o in c.recipient_organisations],
                       "agencies": [a.value for a in c.recipient_agencies]},
        "categories": [x.value for x in c.categories],
        "purposes": [x.value for x in c.purposes],
        "valid_from": c.valid_from,
        "expires_at": c.expires_at,
        "withdrawal": None if w is None else {
            "withdrawn_at": w.withdrawn_at, "recorded_at": w.recorded_at,
            "recorded_on_behalf": w.recorded_on_behalf, "recorded_by": w.recorded_by.model_dump(mode="json"),
            "event_id": stored.withdrawal_event_id,
        },
        "granted_event_id": stored.granted_event_id,
        "expired_event_id": stored.notice_event_ids.get(domain.Notice.EXPIRED),
        "reminder_event_id": stored.notice_event_ids.get(domain.Notice.EXPIRY_REMINDER),
    }


def safeguarding_view(access: domain.SafeguardingAccess, event_id: str, now: datetime, deps: Deps,
                      caller: Caller) -> dict:
    """A grant as `caller` may see it. The justification only to the granting organisation's
    designated safeguarding lead (domain.may_read_justification); a grant of another
    organisation (the setting's DSL's listing) as which organisation, from when, until when."""
    status = "active" if access.is_active(now) else ("expired" if now >= access.expires_at else "not_yet_started")
    view = {
        "grant_id": access.grant_id,
        "child_id": access.child_id,
        "organisation_id": access.organisation_id,
        "organisation": deps.summary(access.organisation_id),
        "granted_at": access.granted_at,
        "expires_at": access.expires_at,
        "status": status,
        "event_id": event_id,
    }
    if caller.organisation_id == access.organisation_id:
        view |= {"granted_by": access.granted_by.model_dump(mode="json"), "notify_role": access.notify_role}
    if domain.may_read_justification(caller, access):
        view["justification"] = access.justification
    return view


# -- commands -------------------------------------------------------------------------------


def grant_consent(deps: Deps, caller: Caller, child_id: UUID, cmd: domain.GrantConsent) -> dict:
    with unit_of_work(deps) as uow:
        child = relationship(uow.session, child_id, uow.now)
        with _contract_errors():
            consent, event = domain.grant_consent(caller, child_id, child, cmd, consent_id=uuid4(), now=uow.now,
                                                  directory=deps.directory, max_months=deps.max_consent_months)
        event_id = uow.emit(caller.as_actor(), child_id, event)
        store.add_consent(uow.session, consent, event_id)
        stored = store.StoredConsent(consent, str(event_id), None, {})
    return {**consent_view(stored, uow.now, deps), "event_id": event_id}


def withdraw_consent(deps: Deps, caller: Caller, child_id: UUID, consent_id: UUID, cmd: domain.WithdrawConsent) -> dict:
    with unit_of_work(deps) as uow:
        child = relationship(uow.session, child_id, uow.now)
        # Who may withdraw is checked before the consent is looked up, so a caller with no
        # relationship to the child learns nothing, and a team member (403) not even whether
        # the consent id exists.
        domain.require_parent_or_setting_on_behalf(caller, child_id, child, "withdraw consent")
        stored = _load_consent(uow, child_id, consent_id)
        with _contract_errors():
            withdrawn, event = domain.withdraw_consent(caller, stored.consent, child, cmd, now=uow.now)
        event_id = uow.emit(caller.as_actor(), child_id, event)
        if not store.record_withdrawal(uow.session, withdrawn, event_id):
            raise Conflict(f"consent {consent_id} is already withdrawn")
        result = store.StoredConsent(withdrawn, stored.granted_event_id, str(event_id), stored.notice_event_ids)
    return {**consent_view(result, uow.now, deps), "event_id": event_id}


def _load_consent(uow: UnitOfWork, child_id: UUID, consent_id: UUID) -> store.StoredConsent:
    stored = store.get_consent(uow.session, consent_id)
    # A consent of another child is "not found" here: the path names the child.
    if stored is None or stored.consent.child_id != child_id:
        raise NotFound(f"child {child_id} has no consent {consent_id}")
    return stored


def list_consents(deps: Deps, caller: Caller, child_id: UUID) -> dict:
    with deps.sessions() as session:
        now = deps.now()
        domain.require_parent_or_setting(caller, child_id, relationship(session, child_id, now), "see consents")
        found = store.consents_of_child(session, child_id)
    return {"child_id": child_id, "as_of": now, "consents": [consent_view(s, now, deps) for s in found]}


def grant_safeguarding_access(deps: Deps, caller: Caller, child_id: UUID, cmd: domain.GrantSafeguardingAccess) -> dict:
    with unit_of_work(deps) as uow:
        child = relationship(uow.session, child_id, uow.now)
        with _contract_errors():
            access, event = domain.grant_safeguarding_access(caller, child_id, child, cmd, grant_id=uuid4(), now=uow.now)
        event_id = uow.emit(caller.as_actor(), child_id, event)
        store.add_safeguarding_access(uow.session, access, event_id)
    return {**safeguarding_view(access, str(event_id), uow.now, deps, caller), "event_id": event_id}


def list_safeguarding_access(deps: Deps, caller: Caller, child_id: UUID) -> dict:
    """The caller's organisation's grants for the child; for the child's setting's DSL, every
    organisation's (scope `setting`)."""
    with deps.sessions() as session:
        now = deps.now()
        scope = domain.require_may_list_safeguarding(caller, child_id, relationship(session, child_id, now))
        holder = None if scope is domain.SafeguardingScope.SETTING else caller.organisation_id
        found = store.safeguarding_access_of(session, child_id, holder)
    return {"child_id": child_id, "organisation_id": caller.organisation_id,
            "organisation": deps.summary(caller.organisation_id), "scope": scope.value, "as_of": now,
            "grants": [safeguarding_view(a, e, now, deps, caller) for a, e in found]}


# -- the copy of each child's setting and team ----------------------------------------------


def record_referrals_event(deps: Deps, envelope: EnvelopeBase) -> bool:
    """Keep what the decision folds (FOLDED_TYPES) as it arrives on tac.referrals.v1 — the
    team events — and (child id -> setting organisation) from ChildRegistered, so the service
    knows who works with each child. Idempotent by event id; other event types are not this
    service's business and are skipped. Returns True when applied."""
    if envelope.type not in FOLDED_TYPES:
        return False
    with deps.sessions.begin() as session:
        if not claim_event(session, store.processed_events, envelope.id):
            return False
        store.consent_copy.record(session, envelope, received_at=deps.now())
        if isinstance(envelope.data, ChildRegistered):
            store.record_child_setting(session, envelope.subject, envelope.data.setting_organisation_id,
                                       envelope.id, deps.now())
    return True
