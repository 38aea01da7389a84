"""The notifications tables: the service's copy of the decision's state, the subscription
directory, inboxes, delivery jobs, reminders, processed events and outbox. Alembic migrations in
../migrations create them."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, DateTime, Index, Integer, LargeBinary, MetaData, String, Table, Text

from consent_policy.store import ConsentCopy
from services.common.idempotency import define_processed_events_table
from services.common.outbox import define_outbox_table

metadata = MetaData()
processed_events = define_processed_events_table(metadata)
outbox = define_outbox_table(metadata)

ID = String(36)
ORG = String(128)
PERSON = String(128)
TS = DateTime(timezone=True)

# The copy of the state the decision folds: every event of FOLDED_TYPES (the consent events and
# the team events), whichever topic it came on; the one definition every enforcing service mounts.
# The team is read from here alone: the `team_members` table it replaced was dropped by
# migration 0004, which put each already registered child's setting in here.
consent_copy = ConsentCopy(metadata)
consent_events = consent_copy.table

subscriptions = Table(
    "subscriptions", metadata,
    Column("person_id", PERSON, primary_key=True),
    Column("scope", ORG, primary_key=True),  # the organisation acted for, or "parent"
    Column("organisation_id", ORG, nullable=True, index=True),
    Column("agency", String(32), nullable=False),
    Column("role", String(64), nullable=False),
    Column("email", String(320), nullable=True),
    Column("webhook_url", String(2000), nullable=True),
    Column("webhook_secret", String(256), nullable=True),
    Column("updated_at", TS, nullable=False),
    # A parent's children (parent_children) are vouched for until the subscribing token's expiry.
    Column("children_valid_until", TS, nullable=True),
)

# A parent's children, as their token said when they subscribed: who may hear about whom (and,
# once `subscriptions.children_valid_until` has passed, whose inbox items are still written but
# to whom nothing more is pushed).
parent_children = Table(
    "parent_children", metadata,
    Column("person_id", PERSON, primary_key=True),
    Column("child_id", ID, primary_key=True, index=True),
)

_ABOUT_COLUMNS = lambda: [  # noqa: E731 - the same columns on inbox rows and delivery jobs
    Column("child_id", ID, nullable=False),
    Column("about_event_id", ID, nullable=False),
    Column("about", String(200), nullable=False),
    Column("category", String(64), nullable=False),
    Column("author_organisation_id", ORG, nullable=True),
    Column("title", String(300), nullable=False),
    Column("text", Text, nullable=False),
    Column("link", String(2000), nullable=False),
    # The organisation whose request the entry answers (the decision's rule 3, run again at
    # delivery and at inbox read), and the organisation the message names (given by name in
    # the inbox API). Both NULL on rows from before migration 0003.
    Column("answers_request_of", ORG, nullable=True),
    Column("named_organisation_id", ORG, nullable=True),
    # A reminder's due day and a break-glass grant's end (Message.due_on, .until), for the
    # inbox to show in words; NULL for other messages and on rows from before migration 0007.
    Column("due_on", Date, nullable=True),
    Column("until", TS, nullable=True),
]

# Where the causing event came from (for a dead-letter record) and who caused it (the actor and
# correlation id of the NotificationSent/Failed that report on it).
_CAUSE_COLUMNS = lambda: [  # noqa: E731
    Column("source_topic", String(249), nullable=False),
    Column("source_partition", Integer, nullable=False),
    Column("source_offset", BigInteger, nullable=False),
    Column("cause_actor", Text, nullable=False),
    Column("correlationid", String(128), nullable=False),
]

inbox = Table(
    "inbox", metadata,
    Column("notification_id", ID, primary_key=True),
    Column("person_id", PERSON, nullable=False),
    Column("scope", ORG, nullable=False),
    *_ABOUT_COLUMNS(),
    Column("created_at", TS, nullable=False),
    Column("read_at", TS, nullable=True),
    Index("ix_inbox_recipient", "person_id", "scope", "created_at"),
)

delivery_jobs = Table(
    "delivery_jobs", metadata,
    Column("job_id", ID, primary_key=True),
    Column("notification_id", ID, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("person_id", PERSON, nullable=False),
    Column("scope", ORG, nullable=False),
    Column("target", String(2000), nullable=False),  # e-mail address or webhook URL
    *_ABOUT_COLUMNS(),
    Column("body", LargeBinary, nullable=False),  # the webhook JSON, the same on every attempt
    Column("status", String(16), nullable=False),  # pending | sent | failed | withheld
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", TS, nullable=False),
    Column("leased_until", TS, nullable=True),
    Column("last_error", Text, nullable=True),
    *_CAUSE_COLUMNS(),
    Column("created_at", TS, nullable=False),
    Column("finished_at", TS, nullable=True),
    Column("deadlettered_at", TS, nullable=True),
    Index("ix_delivery_jobs_due", "status", "next_attempt_at"),
    Index("ix_delivery_jobs_notification", "notification_id", "channel", unique=True),
)

reminders = Table(
    "reminders", metadata,
    Column("key", String(500), primary_key=True),  # kind:child:ref:offset
    Column("kind", String(64), nullable=False),
    Column("child_id", ID, nullable=False),
    Column("ref", String(200), nullable=False),
    Column("offset_days", Integer, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("send_on", Date, nullable=False),
    Column("category", String(64), nullable=False),
    Column("about_event_id", ID, nullable=False),
    Column("author_organisation_id", ORG, nullable=True),
    Column("reference", Text, nullable=False),
    *_CAUSE_COLUMNS(),
    Column("status", String(16), nullable=False),  # pending | sent | superseded | expired | cancelled
    Column("settled_at", TS, nullable=True),
    Index("ix_reminders_due", "status", "send_on"),
    Index("ix_reminders_ref", "child_id", "ref"),
)

# One row per (reminder, recipient) ever sent: the unique key that makes a reminder go once.
reminder_sends = Table(
    "reminder_sends", metadata,
    Column("key", String(800), primary_key=True),
    Column("created_at", TS, nullable=False),
)
