"""What the service does, called by the thin entry points (the Faust agent and timer, the
delivery worker, the HTTP routes). Plain synchronous functions over a Session: the callers run
them in worker threads so the event loop never waits on the database.

* `handle_event`: one consumed event, applied once. The event's claim and all its effects —
  the decision's state (consent and team events), reminder rows, inbox items, delivery jobs, NotificationSent for the
  inbox — are one transaction. Nothing is sent here: e-mails and webhooks are jobs the
  delivery worker picks up, so a slow or failing channel never holds up the stream.
* `send_due_reminders`: each due reminder in its own transaction, each recipient's copy
  claimed under a unique idempotency key first, so a restart or a second worker resends none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from schemas.catalogue import make_envelope
from schemas.envelope import EnvelopeBase
from schemas.events.audit import NotificationFailed, NotificationSent
from schemas.events.consent import SafeguardingAccessGranted
from schemas.vocabulary import NotificationChannel
from services.common.directory import Directory
from services.common.outbox import add_to_outbox
from consent_policy.state import FOLDED_TYPES
from services.notifications import jobs, metrics, store
from services.notifications.domain.messages import (
    NO_DIRECTORY, Message, entry_message, reminder_message, safeguarding_message, webhook_body,
)
from services.notifications.domain.recipients import (
    NOT_ANNOUNCED, About, Addressed, Audience, Subscriber, recipients,
)
from services.notifications.domain.reminders import (
    Reminder, cancellations, due_now, reminded, reminder_audience, reminders_for,
)
from services.notifications.store import Source

SOURCE = "/tac/notifications"
# Statutory days are calendar days in England: "on the day" is the day in London.
ENGLAND = ZoneInfo("Europe/London")
MAX_ERROR_CHARS = 2000


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


# --- consumed events -----------------------------------------------------------------------------


def handle_event(session: Session, envelope: EnvelopeBase, source: Source, out: Outputs, now: datetime) -> int:
    """Apply one event at most once; return how many people were notified."""
    if not store.claim(session, envelope.id):
        return 0
    child = envelope.subject
    if envelope.type in FOLDED_TYPES:
        # The decision's state: consent facts, and the team (rule 5 needs it).
        store.store_consent_event(session, envelope)
    for reminder in reminders_for(envelope):
        store.schedule_reminder(session, reminder, source)
    for cancellation in cancellations(envelope):
        store.cancel_reminders(session, cancellation, now)
    if envelope.type in NOT_ANNOUNCED:
        return 0
    about = About.from_envelope(envelope)
    state = store.consent_state(session, child)
    # The team at this moment: an organisation that has left is told nothing more.
    audience = Audience.for_entry(envelope, state.team_members(child, now), store.setting_of(session, child))
    candidates = store.subscribers_for(session, child, audience)
    told = recipients(about, audience, candidates, now=now, state=state)
    if isinstance(envelope.data, SafeguardingAccessGranted):
        message = safeguarding_message(about, envelope.data.organisation_id, envelope.data.expires_at, out.public_url,
                                       out.directory)
    else:
        message = entry_message(about, out.public_url, out.directory)
    for addressed in told:
        _notify(session, addressed, about, message, source, out, now)
    return len(told)


def _notify(session: Session, addressed: Addressed, about: About, message: Message, source: Source, out: Outputs,
            now: datetime) -> None:
    """The inbox item (delivered on commit, so reported sent now) and one job per other channel.

    The jobs wait `external_hold_s` before their first attempt. Consent facts and case facts
    travel on different topics, so a withdrawal made just before an entry can be consumed
    just after it; the delivery worker decides again on the consent state at the attempt, and
    the hold gives a withdrawal already on its way the time to arrive first. The inbox needs
    no hold: it is decided again at every read."""
    subscriber = addressed.subscriber
    notification_id = uuid4()
    jobs.add_inbox_item(session, notification_id, subscriber, about, message, now)
    add_to_outbox(session, store.outbox, notification_sent(
        notification_id, subscriber.person_id, subscriber.organisation_id, NotificationChannel.INBOX, about, source,
        now), topic=out.notifications_topic)
    body = webhook_body(notification_id, message, now)
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
    with sessions.begin() as session:
        pending = store.pending_reminders(session, today)
        selection = due_now([r for r, _ in pending], today, late_grace_days=out.late_grace_days)
        store.settle_reminders(session, selection.superseded, "superseded", now)
        store.settle_reminders(session, selection.expired, "expired", now)
    sources = {r.key: s for r, s in pending}
    told = 0
    for reminder in selection.send:
        try:
            with sessions.begin() as session:
                if store.reminder_status(session, reminder.key) != "pending":
                    continue  # settled meanwhile (cancelled, or sent by another worker)
                reminded = _send_reminder(session, reminder, sources[reminder.key], out, now, today)
                store.settle_reminders(session, [reminder], "sent", now)
            told += reminded
            metrics.REMINDERS.inc(reminded)
        except IntegrityError:
            # Another worker sent it to someone at the same moment: its unique send key won and
            # this transaction rolled back whole. The next tick finds the reminder settled.
            continue
    return told


def _send_reminder(session: Session, reminder: Reminder, source: Source, out: Outputs, now: datetime,
                   today: date) -> int:
    state = store.consent_state(session, reminder.child_id)
    team = state.team_members(reminder.child_id, now)
    about = reminder.about()
    candidates = store.subscribers_for(session, reminder.child_id, reminder_audience(team, reminder))
    message = reminder_message(reminder, today, out.public_url)
    told = 0
    for addressed in reminded(reminder, team, candidates, now=now, state=state):
        # Claimed under a unique key first: a replay, a restart or a second worker sends none again.
        if store.claim_send_key(session, reminder.send_key(addressed.subscriber), now):
            _notify(session, addressed, about, message, source, out, now)
            told += 1
    return told


# --- the envelopes reporting on a notification ---------------------------------------------------


def notification_sent(notification_id: UUID, person_id: str, organisation_id: str | None,
                      channel: NotificationChannel, about: About, source: Source, at: datetime) -> EnvelopeBase:
    data = NotificationSent(
        notification_id=notification_id, recipient_id=person_id, recipient_organisation_id=organisation_id,
        channel=channel, about_event_id=about.event_id, about=about.about, sent_at=at,
    )
    return _envelope(data, about, source, at)


def notification_failed(notification_id: UUID, person_id: str, organisation_id: str | None,
                        channel: NotificationChannel, about: About, source: Source, attempts: int, error: str,
                        at: datetime) -> EnvelopeBase:
    data = NotificationFailed(
        notification_id=notification_id, recipient_id=person_id, recipient_organisation_id=organisation_id,
        channel=channel, about_event_id=about.event_id, about=about.about, attempts=attempts,
        error=(error.strip() or "unknown error")[:MAX_ERROR_CHARS], failed_at=at,
    )
    return _envelope(data, about, source, at)


def _envelope(data: NotificationSent | NotificationFailed, about: About, source: Source, at: datetime) -> EnvelopeBase:
    # The actor is whoever caused the notification (the entry's author, or whoever set the
    # date reminded of); the correlation id follows the causing event's.
    return make_envelope(data, subject=about.child_id, actor=source.actor, source=SOURCE,
                         correlationid=source.correlationid, causationid=str(about.event_id), time=at)
