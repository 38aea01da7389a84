"""Kafka topics of TAC (DESIGN §2). Every topic is keyed by the child's pseudonymous id, so
one child's events stay in order within a partition."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    name: str
    description: str
    key: str = "child id (the envelope's `subject`), UTF-8"


REFERRALS = Topic("tac.referrals.v1", "Facts about a child's case: registration, concerns, referrals, team, reports, EHC, transition.")
CONSENT = Topic("tac.consent.v1", "Parental consent granted, withdrawn and expired; safeguarding (break-glass) access.")
AUDIT = Topic("tac.audit.v1", "Who viewed which child's timeline, how many entries, on what basis.")
NOTIFICATIONS = Topic("tac.notifications.v1", "Notifications sent and failed.")
DEADLETTER = Topic(
    "tac.deadletter.v1",
    "Messages that could not be processed, with the error and the original bytes.",
    key="the original message's key, if any",
)

ALL_TOPICS: tuple[Topic, ...] = (REFERRALS, CONSENT, AUDIT, NOTIFICATIONS, DEADLETTER)

DEFAULT_PARTITIONS = 6
