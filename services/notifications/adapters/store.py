"""The notifications store: the service's own copy of each child's team and consent events
(the decision's state), the subscription directory and reminders. Tables in .tables (re-exported
here with the queries); inbox items and delivery jobs in .jobs.

Functions take a Session and never commit: the caller's one transaction holds the consumed
event's claim and every effect of it (STYLE "What we adopt" 6).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from schemas.envelope import Actor
from schemas.events.referrals import ChildRegistered, TeamMemberJoined
from schemas.vocabulary import Agency
from services.common.clock import utc
from services.notifications.adapters.tables import (  # noqa: F401 - tables re-exported for tests
    consent_copy, consent_events, delivery_jobs, inbox, metadata, outbox, parent_children, processed_events,
    reminder_sends, reminders, subscriptions,
)
from services.notifications.domain.recipients import PARENT_SCOPE, Audience, Subscriber
from services.notifications.domain.reminders import Cancellation, Reminder


@dataclass(frozen=True)
class Source:
    """Where a consumed event came from (kept for the dead-letter record of a failed delivery)
    and who caused it (for the envelopes that report on the notification)."""

    topic: str
    partition: int
    offset: int
    actor: Actor
    correlationid: str

    def columns(self) -> dict[str, Any]:
        return {"source_topic": self.topic, "source_partition": self.partition, "source_offset": self.offset,
                "cause_actor": self.actor.model_dump_json(), "correlationid": self.correlationid}

    @classmethod
    def of_row(cls, row: Any) -> "Source":
        return cls(row.source_topic, row.source_partition, row.source_offset,
                   Actor.model_validate_json(row.cause_actor), row.correlationid)


# --- events, team, consent -----------------------------------------------------------------------


# The decision's state for one child (consent events from tac.consent.v1, team events from
# tac.referrals.v1), and the child's setting (the latest ChildRegistered kept, by event time).
store_consent_event = consent_copy.record
consent_state = consent_copy.state_for
setting_of = consent_copy.setting_of


# --- subscriptions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    subscriber: Subscriber
    webhook_secret: str | None
    updated_at: datetime


def put_subscription(session: Session, subscriber: Subscriber, webhook_secret: str | None, now: datetime) -> None:
    """Create or replace the subscription of (person, organisation or "parent")."""
    delete_subscription(session, subscriber.person_id, subscriber.scope)
    session.execute(insert(subscriptions).values(
        person_id=subscriber.person_id, scope=subscriber.scope, organisation_id=subscriber.organisation_id,
        agency=str(subscriber.agency), role=subscriber.role, email=subscriber.email,
        webhook_url=subscriber.webhook_url, webhook_secret=webhook_secret, updated_at=now,
        children_valid_until=(None if not subscriber.is_parent or subscriber.children_valid_until is None
                              else utc(subscriber.children_valid_until))))
    if subscriber.is_parent:
        for child in sorted(subscriber.children, key=str):
            session.execute(insert(parent_children).values(person_id=subscriber.person_id, child_id=str(child)))


def delete_subscription(session: Session, person_id: str, scope: str) -> bool:
    gone = session.execute(delete(subscriptions).where(
        subscriptions.c.person_id == person_id, subscriptions.c.scope == scope)).rowcount
    if scope == PARENT_SCOPE:
        session.execute(delete(parent_children).where(parent_children.c.person_id == person_id))
    return bool(gone)


def get_subscription(session: Session, person_id: str, scope: str) -> Subscription | None:
    row = session.execute(select(subscriptions).where(
        subscriptions.c.person_id == person_id, subscriptions.c.scope == scope)).first()
    if row is None:
        return None
    children = _children_of(session, [person_id]).get(person_id, frozenset()) if scope == PARENT_SCOPE else frozenset()
    return Subscription(_subscriber(row, children), row.webhook_secret, utc(row.updated_at))


def subscribers_for(session: Session, child_id: UUID, audience: Audience) -> list[Subscriber]:
    """Everyone who could be told about this child: practitioners of the audience's
    organisations and the child's parents. The decision then picks among them."""
    orgs = set(audience.team) | {org for org, _ in audience.oversight}
    practitioners = session.execute(
        select(subscriptions).where(subscriptions.c.organisation_id.in_(sorted(orgs)))).all() if orgs else []
    parent_ids = [r.person_id for r in session.execute(
        select(parent_children.c.person_id).where(parent_children.c.child_id == str(child_id)))]
    parents = session.execute(select(subscriptions).where(
        subscriptions.c.scope == PARENT_SCOPE, subscriptions.c.person_id.in_(parent_ids))).all() if parent_ids else []
    children = _children_of(session, parent_ids)
    return ([_subscriber(r) for r in practitioners]
            + [_subscriber(r, children.get(r.person_id, frozenset())) for r in parents])


def subscribed_organisations(session: Session) -> frozenset[str]:
    """Every organisation at least one practitioner is subscribed for (the subscription
    directory is small: a row per person and organisation)."""
    return frozenset(session.execute(select(subscriptions.c.organisation_id).distinct().where(
        subscriptions.c.organisation_id.is_not(None))).scalars())


def children_with_parents(session: Session, child_ids: Iterable[UUID]) -> frozenset[str]:
    """Which of the children (as strings) have a subscribed parent, IN lists of at most 500 ids."""
    wanted = sorted({str(c) for c in child_ids})
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found.update(session.execute(select(parent_children.c.child_id).distinct().where(
            parent_children.c.child_id.in_(wanted[start:start + 500]))).scalars())
    return frozenset(found)


# The events that put an organisation on a child's team (consent_policy.state), and where they name it.
_JOINING = {ChildRegistered.TYPE: "setting_organisation_id", TeamMemberJoined.TYPE: "organisation_id"}


def organisations_joined(envelope: Any) -> set[str]:
    """The organisation `envelope` (parsed) puts on its child's team, if any."""
    field = _JOINING.get(envelope.type)
    named = getattr(envelope.data, field, None) if field else None
    return {named} if named else set()


def teams_ever_joined(session: Session, child_ids: Sequence[str]) -> dict[str, set[str]]:
    """Per child (as given, strings), every organisation a kept event ever put on its team
    (whether or not it has left since): a superset of its team at any moment, read from the
    JSON without folding or validating (the copy's own rows, validated when kept)."""
    out: dict[str, set[str]] = {child: set() for child in child_ids}
    table = consent_copy.table
    for start in range(0, len(child_ids), 500):
        rows = session.execute(select(table.c.child_id, table.c.event_type, table.c.envelope).where(
            table.c.child_id.in_(child_ids[start:start + 500]), table.c.event_type.in_(sorted(_JOINING))))
        for child_id, event_type, raw in rows:
            named = orjson.loads(raw).get("data", {}).get(_JOINING[event_type])
            if named:
                out[child_id].add(named)
    return out


def webhook_secret_of(session: Session, person_id: str, scope: str) -> str | None:
    return session.execute(select(subscriptions.c.webhook_secret).where(
        subscriptions.c.person_id == person_id, subscriptions.c.scope == scope)).scalar()


def _children_of(session: Session, person_ids: Sequence[str]) -> dict[str, frozenset[UUID]]:
    out: dict[str, set[UUID]] = {}
    if person_ids:
        for r in session.execute(select(parent_children).where(parent_children.c.person_id.in_(list(person_ids)))):
            out.setdefault(r.person_id, set()).add(UUID(r.child_id))
    return {k: frozenset(v) for k, v in out.items()}


def _subscriber(row: Any, children: frozenset[UUID] = frozenset()) -> Subscriber:
    valid_until = None if row.children_valid_until is None else utc(row.children_valid_until)
    return Subscriber(row.person_id, row.organisation_id, Agency(row.agency), row.role, children,
                      row.email, row.webhook_url, valid_until)


# --- reminders -----------------------------------------------------------------------------------


def schedule_reminder(session: Session, reminder: Reminder, source: Source) -> None:
    """Insert the reminder, or move a still-pending one to a new date (a review rescheduled)."""
    row = session.execute(select(reminders.c.status, reminders.c.due_on).where(reminders.c.key == reminder.key)).first()
    if row is None:
        session.execute(insert(reminders).values(reminder_row(reminder, source)))
    elif row.status == "pending" and row.due_on != reminder.due_on:
        move_reminder(session, reminder)


def reminder_row(reminder: Reminder, source: Source) -> dict[str, Any]:
    """The row of a newly scheduled reminder (`schedule_reminder` inserts it; a caller that
    knows the key is new may queue it instead)."""
    return dict(key=reminder.key, kind=reminder.kind, child_id=str(reminder.child_id), ref=reminder.ref,
                offset_days=reminder.offset_days, due_on=reminder.due_on, send_on=reminder.send_on,
                category=reminder.category, about_event_id=str(reminder.about_event_id),
                author_organisation_id=reminder.author_organisation_id, reference=reminder.reference,
                status="pending", **source.columns())


def move_reminder(session: Session, reminder: Reminder) -> None:
    session.execute(update(reminders).where(reminders.c.key == reminder.key).values(
        due_on=reminder.due_on, send_on=reminder.send_on, about_event_id=str(reminder.about_event_id)))


def reminders_known(session: Session, keys: Iterable[str]) -> dict[str, tuple[str, date]]:
    """(status, due_on) of each of `keys` already scheduled; IN lists of at most 500 keys."""
    wanted = sorted(set(keys))
    out: dict[str, tuple[str, date]] = {}
    for start in range(0, len(wanted), 500):
        for key, status, due_on in session.execute(select(reminders.c.key, reminders.c.status, reminders.c.due_on)
                                                   .where(reminders.c.key.in_(wanted[start:start + 500]))):
            out[key] = (status, due_on)
    return out


def copied_already(session: Session, event_ids: Iterable[str]) -> set[str]:
    """Which of the event ids the consent copy keeps already; IN lists of at most 500 ids."""
    wanted = sorted(set(event_ids))
    table = consent_copy.table
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found.update(session.execute(select(table.c.event_id).where(
            table.c.event_id.in_(wanted[start:start + 500]))).scalars())
    return found


def cancel_reminders(session: Session, cancellation: Cancellation, now: datetime) -> int:
    where = [reminders.c.child_id == str(cancellation.child_id), reminders.c.ref == cancellation.ref,
             reminders.c.status == "pending"]
    if cancellation.kinds is not None:
        where.append(reminders.c.kind.in_(sorted(cancellation.kinds)))
    return session.execute(update(reminders).where(*where).values(status="cancelled", settled_at=now)).rowcount


def pending_reminders(session: Session, today: date, limit: int = 1000) -> list[tuple[Reminder, Source]]:
    rows = session.execute(select(reminders).where(reminders.c.status == "pending", reminders.c.send_on <= today)
                           .order_by(reminders.c.send_on, reminders.c.key).limit(limit))
    return [(_reminder(r), Source.of_row(r)) for r in rows]


def settle_reminders(session: Session, settled: Iterable[Reminder], status: str, now: datetime) -> None:
    keys = [r.key for r in settled]
    if keys:
        session.execute(update(reminders).where(reminders.c.key.in_(keys), reminders.c.status == "pending")
                        .values(status=status, settled_at=now))


def reminder_status(session: Session, key: str) -> str | None:
    return session.execute(select(reminders.c.status).where(reminders.c.key == key)).scalar()


def claim_send_key(session: Session, key: str, now: datetime) -> bool:
    """True the first time (and records it); False when this reminder already went to this person."""
    if session.execute(select(reminder_sends.c.key).where(reminder_sends.c.key == key)).first():
        return False
    session.execute(insert(reminder_sends).values(key=key, created_at=now))
    return True


def _reminder(row: Any) -> Reminder:
    return Reminder(row.kind, UUID(row.child_id), row.ref, row.due_on, row.offset_days, row.category,
                    UUID(row.about_event_id), row.author_organisation_id, row.reference)

