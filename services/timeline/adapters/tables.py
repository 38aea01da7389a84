"""The timeline's tables: entries, the events the consent decision folds (consent and team
events: FOLDED_TYPES), children's settings, the access log, and the two shared tables
(processed events, outbox). Alembic migrations in ../migrations create them."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, Text

from consent_policy.store import ConsentCopy
from services.common.idempotency import define_processed_events_table
from services.common.outbox import define_outbox_table

metadata = MetaData()

ID = String(36)  # a UUID as text: the same on SQLite and PostgreSQL

entries = Table(
    "timeline_entries",
    metadata,
    Column("event_id", ID, primary_key=True),
    Column("child_id", ID, nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("category", String(64), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("author_practitioner_id", String(128), nullable=False),
    Column("author_organisation_id", String(128), nullable=True),
    Column("author_agency", String(32), nullable=False),
    Column("author_role", String(64), nullable=False),
    Column("summary", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("stored_at", DateTime(timezone=True), nullable=False),
    # The organisation whose request the entry answers (the decision's rule 3, own_request).
    Column("answers_request_of", String(128), nullable=True),
    # The entry as the API shows it, rendered when stored (services.timeline.adapters.shown_as):
    # what a read returns. The columns above keep the entry itself, from which a migration
    # renders it again if the API's shape changes.
    Column("shown_as", Text, nullable=False),
)
# Newest-first pages of one child's timeline walk this index backwards.
Index("ix_timeline_entries_child_time", entries.c.child_id, entries.c.occurred_at, entries.c.event_id)

# The copy of the decision's state (consent and team events), defined once for every service.
consent_copy = ConsentCopy(metadata)
consent_events = consent_copy.table

children = Table(
    "children",
    metadata,
    Column("child_id", ID, primary_key=True),
    Column("setting_organisation_id", String(128), nullable=False),
    Column("registered_event_id", ID, nullable=False),
)

access_log = Table(
    "access_log",
    metadata,
    Column("view_id", ID, primary_key=True),
    Column("child_id", ID, nullable=False),
    Column("viewer_practitioner_id", String(128), nullable=False),
    Column("viewer_organisation_id", String(128), nullable=True),
    Column("viewer_agency", String(32), nullable=False),
    Column("viewer_role", String(64), nullable=False),
    Column("viewed_at", DateTime(timezone=True), nullable=False),
    Column("entries_shown", Integer, nullable=False),
    Column("bases", Text, nullable=False),
)
Index("ix_access_log_child_time", access_log.c.child_id, access_log.c.viewed_at)

processed_events = define_processed_events_table(metadata)
outbox = define_outbox_table(metadata)
