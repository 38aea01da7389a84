"""Audit facts: timeline views (`tac.audit.v1`) and notifications (`tac.notifications.v1`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from schemas import topics
from schemas.envelope import Contract, Event
from schemas.formats import Timestamp, Uuid
from schemas.vocabulary import AUDIT, NotificationChannel


class ShownEntry(Contract):
    event_id: Uuid
    basis: str = Field(min_length=1, max_length=160, description="own | parent | consent:<id> | safeguarding:<id>")


class TimelineViewed(Event):
    """Every read of a child's timeline is recorded; parents can see this access log (DESIGN §3)."""

    TYPE: ClassVar = "tac.audit.timeline_viewed.v1"
    CATEGORY: ClassVar = AUDIT
    TOPIC: ClassVar = topics.AUDIT
    viewed_at: Timestamp
    entries_shown: int = Field(ge=0)
    shown: tuple[ShownEntry, ...] = ()


class _Notification(Event):
    """What a sent and a failed notification both say: to whom, how, and about what."""

    CATEGORY: ClassVar = AUDIT
    TOPIC: ClassVar = topics.NOTIFICATIONS
    notification_id: Uuid
    recipient_id: str = Field(min_length=1, max_length=128)
    recipient_organisation_id: str | None = Field(default=None, max_length=128)
    channel: NotificationChannel
    about_event_id: Uuid | None = None
    about: str = Field(min_length=1, max_length=200, description="The entry type or reminder kind")


class NotificationSent(_Notification):
    TYPE: ClassVar = "tac.notifications.notification_sent.v1"
    sent_at: Timestamp


class NotificationFailed(_Notification):
    TYPE: ClassVar = "tac.notifications.notification_failed.v1"
    attempts: int = Field(ge=1)
    error: str = Field(min_length=1, max_length=2000)
    failed_at: Timestamp


EVENTS: tuple[type[Event], ...] = (TimelineViewed, NotificationSent, NotificationFailed)
