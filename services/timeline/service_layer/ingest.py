"""What the timeline does with each event it consumes from tac.referrals.v1 and tac.consent.v1:
the table of contents of its ingest (services.common.messagebus).

Every fact about a child's case becomes an entry; the consent events that change sharing are
entries too; every event the consent decision folds (consent and team events: FOLDED_TYPES) is
kept in the timeline's copy of the decision's state; a registration names the child's setting.
A safeguarding (break-glass) grant is folded but is not an entry (services.timeline.domain).
An event of a type this build does not know is an entry too, filed under its envelope's
category (who did something, and when); on the consent topic it also holds the child
(services.common.messagebus: fail closed).

Entries and consent events are queued on the unit of work and written with one INSERT per
table per batch, so a batch of 500 costs a few statements, not a thousand.
"""

from __future__ import annotations


from sqlalchemy import delete, insert, select

from schemas.envelope import EnvelopeBase
from schemas.events import consent as c
from schemas.events import referrals as r
from services.common.messagebus import Handlers, MessageBus, UnknownEvent
from services.common.unit_of_work import UnitOfWork
from services.timeline.adapters.rows import entry_row
from services.timeline.adapters.tables import children, consent_copy, consent_events, entries
from services.timeline.domain.entries import entry_from_envelope, entry_from_unknown


def drop_placeholder(envelope: EnvelopeBase, uow: UnitOfWork) -> None:
    """An event stored as an unknown type's placeholder before this build knew its type: the
    placeholder goes, and the known event's handlers store what it really is (the same event
    id), so what it says is shown and decided as such (or not shown, if it is never an entry)."""
    if uow.replacing:
        uow.session.execute(delete(entries).where(entries.c.event_id == str(envelope.id)))


def add_entry(envelope: EnvelopeBase, uow: UnitOfWork) -> None:
    uow.add_row(entries, entry_row(entry_from_envelope(envelope), stored_at=uow.now))


def add_unknown_entry(envelope: EnvelopeBase, uow: UnitOfWork) -> None:
    uow.add_row(entries, entry_row(entry_from_unknown(envelope), stored_at=uow.now))


def keep_consent_state(envelope: EnvelopeBase, uow: UnitOfWork) -> None:
    uow.add_row(consent_events, consent_copy.row(envelope, received_at=uow.now))


def register_child(envelope: EnvelopeBase, uow: UnitOfWork) -> None:
    """A child is registered once, by their setting; a second registration (a producer bug)
    must not move the access log to another organisation: the first one seen stays."""
    child = str(envelope.subject)
    known = uow.session.execute(select(children.c.child_id).where(children.c.child_id == child)).first()
    if known is None:  # written at once: a second registration later in the batch must find it
        uow.session.execute(insert(children).values(
            child_id=child, setting_organisation_id=envelope.data.setting_organisation_id,
            registered_event_id=str(envelope.id)))


_FOLDED_AND_SHOWN = [add_entry, keep_consent_state]

_HANDLERS: Handlers = {
    **{event: [add_entry] for event in r.EVENTS},  # every fact about a child's case is an entry
    r.ChildRegistered: [add_entry, keep_consent_state, register_child],
    r.TeamMemberJoined: _FOLDED_AND_SHOWN,
    r.TeamMemberLeft: _FOLDED_AND_SHOWN,
    c.ConsentGranted: _FOLDED_AND_SHOWN,
    c.ConsentWithdrawn: _FOLDED_AND_SHOWN,
    c.ConsentExpired: _FOLDED_AND_SHOWN,
    c.SafeguardingAccessGranted: [keep_consent_state],  # folded, never shown (see the docstring)
    c.ConsentExpiryReminderDue: [],  # the consent service's own trigger: neither shown nor folded
    UnknownEvent: [add_unknown_entry],  # a newer producer's type: shown by its category
}
HANDLERS: Handlers = {event: (handlers if event is UnknownEvent else [drop_placeholder, *handlers])
                      for event, handlers in _HANDLERS.items()}

BUS = MessageBus(HANDLERS, service="timeline", consent_copy=consent_copy)
