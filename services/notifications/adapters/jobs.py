"""Delivery jobs and inbox items in the store: a job per (recipient, channel) is written with
the event that caused it, then leased, decided again, attempted and settled by the delivery
worker; an inbox item is what a settled inbox job leaves (the inbox is a channel like the others,
so it passes the same freshness gate before anything is told).

A job is leased (``leased_until``) before it is attempted, so two workers sharing a database
never send the same job at once; a worker that dies mid-attempt leaves a lease that simply
runs out. Functions take a Session and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.orm import Session

from schemas.vocabulary import NotificationChannel
from services.notifications.domain.messages import Message
from services.notifications.domain.recipients import PARENT_SCOPE, About, Subscriber
from services.common.clock import utc
from services.notifications.adapters.store import Source
from services.notifications.adapters.tables import delivery_jobs, inbox

PENDING, SENT, FAILED, WITHHELD = "pending", "sent", "failed", "withheld"
# An inbox job's target: the inbox item is written for the job's own person and scope.
INBOX_TARGET = "inbox"


def _about_columns(about: About, message: Message) -> dict[str, Any]:
    return {
        "child_id": str(about.child_id), "about_event_id": str(about.event_id), "about": about.about,
        "category": about.category, "author_organisation_id": about.author_organisation_id,
        "title": message.title, "text": message.text, "link": message.link,
        "answers_request_of": about.answers_request_of, "named_organisation_id": message.organisation_id,
        "due_on": message.due_on, "until": message.until,
    }


def _about(row: Any) -> About:
    return About(UUID(row.about_event_id), UUID(row.child_id), row.about, row.category, row.author_organisation_id,
                 answers_request_of=row.answers_request_of)


# --- inbox ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxItem:
    notification_id: UUID
    person_id: str
    scope: str
    about: About
    title: str
    text: str
    link: str
    created_at: datetime
    read_at: datetime | None
    organisation_id: str | None = None  # the organisation the message names
    due_on: date | None = None  # Message.due_on
    until: datetime | None = None  # Message.until


def add_inbox_item(session: Session, notification_id: UUID, person_id: str, scope: str, about: About,
                   message: Message, created_at: datetime) -> None:
    session.execute(insert(inbox).values(
        notification_id=str(notification_id), person_id=person_id, scope=scope,
        created_at=created_at, read_at=None, **_about_columns(about, message)))


def inbox_items(session: Session, person_id: str, scope: str, *, unread_only: bool, limit: int,
                before: datetime | None = None) -> list[InboxItem]:
    query = select(inbox).where(inbox.c.person_id == person_id, inbox.c.scope == scope)
    if unread_only:
        query = query.where(inbox.c.read_at.is_(None))
    if before is not None:
        query = query.where(inbox.c.created_at < before)
    rows = session.execute(query.order_by(inbox.c.created_at.desc(), inbox.c.notification_id.desc()).limit(limit))
    return [_inbox_item(r) for r in rows]


def inbox_item(session: Session, notification_id: UUID, person_id: str, scope: str) -> InboxItem | None:
    row = session.execute(select(inbox).where(
        inbox.c.notification_id == str(notification_id), inbox.c.person_id == person_id,
        inbox.c.scope == scope)).first()
    return None if row is None else _inbox_item(row)


def mark_read(session: Session, notification_id: UUID, now: datetime) -> None:
    session.execute(update(inbox).where(inbox.c.notification_id == str(notification_id), inbox.c.read_at.is_(None))
                    .values(read_at=now))


def _inbox_item(row: Any) -> InboxItem:
    return InboxItem(UUID(row.notification_id), row.person_id, row.scope, _about(row), row.title, row.text, row.link,
                     utc(row.created_at), None if row.read_at is None else utc(row.read_at),
                     row.named_organisation_id, row.due_on, None if row.until is None else utc(row.until))


# --- delivery jobs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    job_id: UUID
    notification_id: UUID
    channel: NotificationChannel
    person_id: str
    scope: str
    target: str
    about: About
    title: str
    text: str
    link: str
    body: bytes
    attempts: int
    source: Source
    status: str = PENDING
    last_error: str | None = None
    named_organisation_id: str | None = None
    due_on: date | None = None
    until: datetime | None = None

    @property
    def organisation_id(self) -> str | None:
        return None if self.scope == PARENT_SCOPE else self.scope

    @property
    def message(self) -> Message:
        return Message(self.title, self.text, self.link, self.about.child_id, self.about.about, self.about.event_id,
                       organisation_id=self.named_organisation_id, due_on=self.due_on, until=self.until)


def add_job(session: Session, *, notification_id: UUID, channel: NotificationChannel, subscriber: Subscriber,
            target: str, about: About, message: Message, body: bytes, source: Source, now: datetime,
            first_attempt_at: datetime | None = None) -> UUID:
    job_id = uuid4()
    session.execute(insert(delivery_jobs).values(
        job_id=str(job_id), notification_id=str(notification_id), channel=str(channel),
        person_id=subscriber.person_id, scope=subscriber.scope, target=target, body=body, status=PENDING,
        attempts=0, next_attempt_at=first_attempt_at or now, leased_until=None, last_error=None, created_at=now,
        **_about_columns(about, message), **source.columns()))
    return job_id


def due_jobs(session: Session, now: datetime, *, limit: int, exclude: set[str] = frozenset(),
             channels: frozenset[NotificationChannel] = frozenset(NotificationChannel)) -> list[Job]:
    c = delivery_jobs.c
    query = (select(delivery_jobs)
             .where(c.status == PENDING, c.next_attempt_at <= now, or_(c.leased_until.is_(None), c.leased_until < now),
                    c.channel.in_(sorted(str(ch) for ch in channels)))
             # In the order the causing events were consumed, so a round writes inbox items in
             # that order (a batch's jobs share one moment).
             .order_by(c.next_attempt_at, c.source_topic, c.source_partition, c.source_offset, c.job_id)
             .limit(limit + len(exclude)))
    return [j for j in (_job(r) for r in session.execute(query)) if str(j.job_id) not in exclude][:limit]


def lease(session: Session, job_id: UUID, now: datetime, until: datetime) -> bool:
    """Take the job for one attempt; False when someone else holds it or it is settled."""
    c = delivery_jobs.c
    taken = session.execute(update(delivery_jobs).where(
        c.job_id == str(job_id), c.status == PENDING, or_(c.leased_until.is_(None), c.leased_until < now),
    ).values(leased_until=until)).rowcount
    return taken == 1


def record_sent(session: Session, job_id: UUID, attempts: int, now: datetime) -> None:
    _settle(session, job_id, status=SENT, attempts=attempts, finished_at=now, leased_until=None)


def record_retry(session: Session, job_id: UUID, attempts: int, error: str, next_attempt_at: datetime) -> None:
    _settle(session, job_id, status=PENDING, attempts=attempts, last_error=error, next_attempt_at=next_attempt_at,
            leased_until=None)


def record_failed(session: Session, job_id: UUID, attempts: int, error: str, now: datetime) -> None:
    _settle(session, job_id, status=FAILED, attempts=attempts, last_error=error, finished_at=now, leased_until=None)


def record_withheld(session: Session, job_id: UUID, reason: str, now: datetime) -> None:
    _settle(session, job_id, status=WITHHELD, last_error=reason, finished_at=now, leased_until=None)


def _settle(session: Session, job_id: UUID, **values: Any) -> None:
    session.execute(update(delivery_jobs).where(delivery_jobs.c.job_id == str(job_id)).values(**values))


def failed_not_deadlettered(session: Session, limit: int = 100) -> list[Job]:
    c = delivery_jobs.c
    rows = session.execute(select(delivery_jobs).where(and_(c.status == FAILED, c.deadlettered_at.is_(None)))
                           .order_by(c.finished_at).limit(limit))
    return [_job(r) for r in rows]


def mark_deadlettered(session: Session, job_id: UUID, now: datetime) -> None:
    _settle(session, job_id, deadlettered_at=now)


def jobs_for(session: Session, notification_id: UUID) -> list[Job]:
    rows = session.execute(select(delivery_jobs).where(delivery_jobs.c.notification_id == str(notification_id)))
    return [_job(r) for r in rows]


def _job(row: Any) -> Job:
    return Job(UUID(row.job_id), UUID(row.notification_id), NotificationChannel(row.channel), row.person_id,
               row.scope, row.target, _about(row), row.title, row.text, row.link, bytes(row.body), row.attempts,
               Source.of_row(row), row.status, row.last_error, row.named_organisation_id, row.due_on,
               None if row.until is None else utc(row.until))
