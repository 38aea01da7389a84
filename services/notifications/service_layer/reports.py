"""The envelopes reporting on a notification: NotificationSent (the inbox at once, other
channels when delivered) and NotificationFailed (when the delivery worker gives up)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from schemas.catalogue import make_envelope
from schemas.envelope import EnvelopeBase
from schemas.events.audit import NotificationFailed, NotificationSent
from schemas.vocabulary import NotificationChannel
from services.notifications.adapters.store import Source
from services.notifications.domain.recipients import About

SOURCE = "/tac/notifications"
MAX_ERROR_CHARS = 2000


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
