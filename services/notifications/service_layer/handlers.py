"""What the service does, called by the thin entry points (the Faust agent and timer, the
delivery worker, the HTTP routes). Plain synchronous functions over a unit of work: the callers
run them in worker threads so the event loop never waits on the database.

* `handler_table(out)`: what each consumed event does, in order (services.common.messagebus):
  keep it in the decision's state (consent and team events), schedule or cancel reminders,
  announce it to whoever may see it (a delivery job per recipient and channel, the inbox
  included). A unit's claims and all its effects are one transaction (bootstrap: up to
  UNIT_EVENTS events of a fetched batch). Nothing is told here: the delivery worker decides
  each job again on a consent copy known to be fresh and then writes the inbox item, sends the
  e-mail or posts the webhook, so neither a lagging copy nor a slow or failing channel leaks or
  holds up the stream.
* `send_due_reminders`: each due reminder in its own transaction, each recipient's copy
  claimed under a unique idempotency key first, so a restart or a second worker resends none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from uuid import uuid4
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from consent_policy.state import FOLDED_TYPES, ConsentState

from schemas.envelope import EnvelopeBase
from schemas.events import consent as c
from schemas.events import referrals as r
from schemas.vocabulary import NotificationChannel
from services.common.directory import Directory
from services.common.messagebus import Handlers, MessageBus
from services.common.incoming import Incoming
from services.common.unit_of_work import UnitOfWork, UnitOfWorkFactory
from services.notifications import metrics
from services.notifications.adapters import jobs, store
from services.notifications.adapters.store import Source
from services.notifications.domain.messages import (
    NO_DIRECTORY, Message, entry_message, reminder_message, safeguarding_message, webhook_body,
)
from services.notifications.domain.recipients import About, Addressed, Audience, Subscriber, recipients
from services.notifications.service_layer.reports import SOURCE
from services.notifications.domain.reminders import (
    Reminder, cancellations, due_now, reminded, reminder_audience, reminders_for,
)

# Statutory days are calendar days in England: "on the day" is the day in London.
ENGLAND = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class Outputs:
    """What the handlers need to know about the outside world."""

    public_url: str
    notifications_topic: str
    email_enabled: bool
    late_grace_days: int = 1
    # E-mails and webhooks wait this long before their first attempt (see `_notify`).
    external_hold_s: float = 0.0
    # Names organisations in messages (services.common.directory; TAC_DIRECTORY_PATH).
    directory: Directory = NO_DIRECTORY


def england_today(now: datetime) -> date:
    return now.astimezone(ENGLAND).date()


def transactions(sessions: sessionmaker[Session], **options) -> UnitOfWorkFactory:
    """The service's units of work (bootstrap adds its clock and `on_commit`)."""
    return UnitOfWorkFactory(sessions, outbox=store.outbox, processed=store.processed_events, source=SOURCE,
                             **options)


# --- consumed events -----------------------------------------------------------------------------


def handler_table(out: Outputs) -> Handlers:
    announce = partial(announce_entry, out=out)
    return {
        **{event: [announce] for event in r.EVENTS},  # every case fact, to whoever may see it
        r.ChildRegistered: [keep_consent_state, schedule_reminders, announce],
        r.TeamMemberJoined: [keep_consent_state, announce],
        r.TeamMemberLeft: [keep_consent_state, announce],
        r.EHCAssessmentRequested: [schedule_reminders, announce],
        r.EHCAdviceRequested: [schedule_reminders, announce],
        r.EHCDraftPlanIssued: [schedule_reminders, announce],
        r.IntegratedReviewScheduled: [schedule_reminders, announce],
        r.EHCAdviceSubmitted: [cancel_reminders, announce],
        r.IntegratedReviewCompleted: [cancel_reminders, announce],
        r.EHCAssessmentDeclined: [cancel_reminders, announce],
        r.EHCPlanFinalised: [cancel_reminders, announce],
        # Reminded on the day to each person (domain.reminders), not announced as an entry.
        r.IntegratedReviewWindowOpened: [schedule_reminders, cancel_reminders],
        c.ConsentGranted: [keep_consent_state, schedule_reminders, announce],
        c.ConsentWithdrawn: [keep_consent_state, cancel_reminders, announce],
        c.ConsentExpired: [keep_consent_state, cancel_reminders, announce],
        c.SafeguardingAccessGranted: [keep_consent_state, announce],
        c.ConsentExpiryReminderDue: [schedule_reminders],  # the consent service's trigger: a reminder
    }


# Events per unit of work (transaction) when the consumer applies a batch: a whole fetch in one
# transaction would hold SQLite's write lock (and so the HTTP routes' writes) for as long as the
# fetch takes; one per event made PostgreSQL commit (and the handlers look up the same things)
# for every event, which could not keep up (bench/results/notifications-*).
UNIT_EVENTS = 100


def bus(out: Outputs) -> MessageBus:
    """The handler table as the consumer applies it: an event of a type this build does not
    know is skipped and counted; one on the consent topic also holds the child (fail closed).
    What `announce_entry` reads for every event is looked up once per unit (`prepare`)."""
    return MessageBus(handler_table(out), service="notifications", consent_copy=store.consent_copy,
                      prepare=prepare)


@dataclass
class Prepared:
    """Looked up once per unit of work, for the events it applies (services.common.messagebus
    `prepare`): every organisation anyone is subscribed for, which of the unit's children have
    a subscribed parent, and, per child, either every organisation ever put on its team (when
    none of them has a subscriber: no one could be told, so its consent state is never folded)
    or its consent state (kept current by `keep_consent_state` as the unit records the child's
    consent and team events). Read once, they are what reading them per event in the unit's
    one transaction would find, as of the unit's start; a subscription put while the unit runs
    counts from the next unit (as it would from the next transaction)."""

    organisations: frozenset[str]
    with_parents: frozenset[str]
    unheard: dict[str, set[str]] = field(default_factory=dict)  # child -> every organisation ever joined
    states: dict[str, ConsentState] = field(default_factory=dict)
    # Of the unit's events the copy folds, those it keeps (kept before, or queued by this unit);
    # of the reminders the unit's events set, each one scheduled (status, due_on), or None.
    copied: set[str] = field(default_factory=set)
    reminders: dict[str, tuple[str, date] | None] = field(default_factory=dict)

    def no_one_for(self, envelope: EnvelopeBase) -> bool:
        """True when no subscriber at all could be told of this event: no subscribed parent,
        and no organisation ever on the child's team has a subscriber. A break-glass grant is
        told to the safeguarding leads of the granted organisation and the setting: never
        decided here."""
        if isinstance(envelope.data, c.SafeguardingAccessGranted):
            return False
        child = str(envelope.subject)
        return child not in self.with_parents and child in self.unheard

    def no_one_on(self, envelope: EnvelopeBase, team: frozenset[str]) -> bool:
        """The same, knowing the child's team now (`store.subscribers_for`'s candidates)."""
        if isinstance(envelope.data, c.SafeguardingAccessGranted):
            return False
        return str(envelope.subject) not in self.with_parents and self.organisations.isdisjoint(team)

    def kept(self, envelope: EnvelopeBase) -> None:
        """`keep_consent_state` recorded `envelope`: bring what was prepared for its child up to date."""
        child = str(envelope.subject)
        if child in self.states:
            # The fold is order-insensitive and idempotent: the state as a read would now find it.
            self.states[child] = self.states[child].apply(envelope)
        elif child in self.unheard:
            self.unheard[child] |= store.organisations_joined(envelope)
            if not self.organisations.isdisjoint(self.unheard[child]):
                del self.unheard[child]  # a subscribed organisation joined: read in full from now on


def prepare(uow: UnitOfWork, envelopes: Sequence[EnvelopeBase]) -> None:
    session = uow.session
    children = sorted({str(e.subject) for e in envelopes})
    organisations = store.subscribed_organisations(session)
    with_parents = store.children_with_parents(session, children)
    joined = store.teams_ever_joined(session, children)
    unheard = {child: orgs for child, orgs in joined.items()
               if child not in with_parents and organisations.isdisjoint(orgs)}
    folded = [child for child in children if child not in unheard]
    copied = [str(e.id) for e in envelopes if e.type in FOLDED_TYPES]
    keys = [reminder.key for e in envelopes for reminder in reminders_for(e)]
    known = store.reminders_known(session, keys) if keys else {}
    uow.prepared = Prepared(organisations, with_parents, unheard,
                            store.consent_copy.states_for(session, folded) if folded else {},
                            store.copied_already(session, copied) if copied else set(),
                            {key: known.get(key) for key in keys})


def _consent_state(uow: UnitOfWork, child) -> ConsentState:
    prepared = uow.prepared
    if isinstance(prepared, Prepared) and str(child) in prepared.states:
        return prepared.states[str(child)]
    return store.consent_state(uow.session, child)


def handle_event(session: Session, envelope: EnvelopeBase, source: Source, out: Outputs, now: datetime) -> int:
    """Apply one event at most once in the caller's transaction, as the pipeline applies each
    event of a batch; return how many people were notified."""
    uow = transactions(None, clock=lambda: now).joining(session)  # type: ignore[arg-type]
    if not uow.claim([envelope.id]):
        return 0
    uow.consuming = Incoming(None, None, source.topic, source.partition, source.offset)
    return bus(out).handle(envelope, uow)


def source_of(envelope: EnvelopeBase, uow: UnitOfWork) -> Source:
    """Where the event being handled came from, and who caused it."""
    origin = uow.consuming
    return Source(origin.topic, origin.partition, origin.offset, envelope.actor, envelope.correlationid)


def keep_consent_state(envelope: EnvelopeBase, uow: UnitOfWork) -> None:
    """The decision's state: consent facts, and the team (rule 5 needs it)."""
    prepared = uow.prepared
    if not isinstance(prepared, Prepared):
        store.store_consent_event(uow.session, envelope)
        return
    if envelope.type in FOLDED_TYPES and str(envelope.id) not in prepared.copied:
        # What `store_consent_event` does, its look-up made for the whole unit: queued, written
        # with the unit's other new rows before anything next reads the session.
        uow.add_row(store.consent_events, store.consent_copy.row(envelope))
        prepared.copied.add(str(envelope.id))
    prepared.kept(envelope)


def schedule_reminders(envelope: EnvelopeBase, uow: UnitOfWork) -> None:
    prepared = uow.prepared if isinstance(uow.prepared, Prepared) else None
    for reminder in reminders_for(envelope):
        if prepared is None or reminder.key not in prepared.reminders:
            store.schedule_reminder(uow.session, reminder, source_of(envelope, uow))
            continue
        # What `schedule_reminder` does, its look-up made for the whole unit.
        known = prepared.reminders[reminder.key]
        if known is None:
            uow.add_row(store.reminders, store.reminder_row(reminder, source_of(envelope, uow)))
        elif known[0] == "pending" and known[1] != reminder.due_on:
            store.move_reminder(uow.session, reminder)
        else:
            continue
        prepared.reminders[reminder.key] = ("pending", reminder.due_on)


def cancel_reminders(envelope: EnvelopeBase, uow: UnitOfWork) -> None:
    prepared = uow.prepared if isinstance(uow.prepared, Prepared) else None
    for cancellation in cancellations(envelope):
        store.cancel_reminders(uow.session, cancellation, uow.now)
        if prepared is not None:
            # Whatever of the child's reminders the unit knew may be cancelled now: read again.
            for key in [k for k in prepared.reminders if f"{cancellation.child_id}" in k]:
                del prepared.reminders[key]


def announce_entry(envelope: EnvelopeBase, uow: UnitOfWork, *, out: Outputs) -> int:
    """Tell whoever may see the entry; return how many people were told."""
    prepared = uow.prepared if isinstance(uow.prepared, Prepared) else None
    if prepared is not None and prepared.no_one_for(envelope):
        return 0  # no subscriber could be told (most children): nothing to look up
    session, child, now = uow.session, envelope.subject, uow.now
    about = About.from_envelope(envelope)
    state = _consent_state(uow, child)
    # The team at this moment: an organisation that has left is told nothing more.
    team = state.team_members(child, now)
    if prepared is not None and prepared.no_one_on(envelope, team):
        return 0
    audience = Audience.for_entry(envelope, team, store.setting_of(session, child))
    candidates = store.subscribers_for(session, child, audience)
    told = recipients(about, audience, candidates, now=now, state=state)
    if isinstance(envelope.data, c.SafeguardingAccessGranted):
        message = safeguarding_message(about, envelope.data.organisation_id, envelope.data.expires_at, out.public_url,
                                       out.directory)
    else:
        message = entry_message(about, out.public_url, out.directory)
    source = source_of(envelope, uow)
    for addressed in told:
        _notify(uow, addressed, about, message, source, out)
    return len(told)


def _notify(uow: UnitOfWork, addressed: Addressed, about: About, message: Message, source: Source,
            out: Outputs) -> None:
    """One delivery job per channel: the inbox's due now, the others' after `external_hold_s`.

    Nothing is told here. The consent copy this decision ran on is fed by this same consumer
    from two topics, and consent facts and case facts travel on different ones: a withdrawal
    or a team departure published before this entry may not have been applied yet (after a
    restart, or while the consumer is behind). So every channel, the inbox too, is told by the
    delivery worker, which decides again once the copy has applied everything published up to
    that moment (the freshness gate). E-mails and webhooks wait longer still, as they cannot be
    unsent; an inbox item is also decided again at every read."""
    session, now = uow.session, uow.now
    subscriber = addressed.subscriber
    notification_id = uuid4()
    body = webhook_body(notification_id, message, now)
    jobs.add_job(session, notification_id=notification_id, channel=NotificationChannel.INBOX, subscriber=subscriber,
                 target=jobs.INBOX_TARGET, about=about, message=message, body=body, source=source, now=now)
    first_attempt_at = now + timedelta(seconds=out.external_hold_s)
    for channel, target in _external_channels(subscriber, out, now):
        jobs.add_job(session, notification_id=notification_id, channel=channel, subscriber=subscriber, target=target,
                     about=about, message=message, body=body, source=source, now=now,
                     first_attempt_at=first_attempt_at)


def _external_channels(subscriber: Subscriber, out: Outputs, now: datetime) -> list[tuple[NotificationChannel, str]]:
    if not subscriber.children_vouched_at(now):
        # A parent whose subscribing token has expired: their inbox (checked against their
        # current token at every read) still gets the item; nothing leaves the service.
        return []
    found = []
    if subscriber.email and out.email_enabled:
        found.append((NotificationChannel.EMAIL, subscriber.email))
    if subscriber.webhook_url:
        found.append((NotificationChannel.WEBHOOK, subscriber.webhook_url))
    return found


# --- reminders -----------------------------------------------------------------------------------


def send_due_reminders(sessions: sessionmaker[Session], out: Outputs, now: datetime) -> int:
    """Send what is due today (England); return how many people were reminded."""
    today = england_today(now)
    units = transactions(sessions, clock=lambda: now)
    with units() as uow:
        pending = store.pending_reminders(uow.session, today)
        selection = due_now([r for r, _ in pending], today, late_grace_days=out.late_grace_days)
        store.settle_reminders(uow.session, selection.superseded, "superseded", now)
        store.settle_reminders(uow.session, selection.expired, "expired", now)
    sources = {r.key: s for r, s in pending}
    told = 0
    for reminder in selection.send:
        try:
            with units() as uow:
                if store.reminder_status(uow.session, reminder.key) != "pending":
                    continue  # settled meanwhile (cancelled, or sent by another worker)
                reminded = _send_reminder(uow, reminder, sources[reminder.key], out, today)
                store.settle_reminders(uow.session, [reminder], "sent", now)
            told += reminded
            metrics.REMINDERS.inc(reminded)
        except IntegrityError:
            # Another worker sent it to someone at the same moment: its unique send key won and
            # this transaction rolled back whole. The next tick finds the reminder settled.
            continue
    return told


def _send_reminder(uow: UnitOfWork, reminder: Reminder, source: Source, out: Outputs, today: date) -> int:
    session, now = uow.session, uow.now
    state = store.consent_state(session, reminder.child_id)
    team = state.team_members(reminder.child_id, now)
    about = reminder.about()
    candidates = store.subscribers_for(session, reminder.child_id, reminder_audience(team, reminder))
    message = reminder_message(reminder, today, out.public_url)
    told = 0
    for addressed in reminded(reminder, team, candidates, now=now, state=state):
        # Claimed under a unique key first: a replay, a restart or a second worker sends none again.
        if store.claim_send_key(session, reminder.send_key(addressed.subscriber), now):
            _notify(uow, addressed, about, message, source, out)
            told += 1
    return told
