"""The referrals service's tables: the schema its migrations build (migrations/env.py compares
against `metadata`), read and written only by the *_store modules beside this one.

Personal details (name, date of birth) live here and nowhere else (DESIGN §2). Ids are kept
as 36-character strings so SQLite and PostgreSQL store them alike. Every write happens inside
a transaction the handler opened, together with the outbox row of the event it causes.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import JSON, Column, Date, DateTime, ForeignKey, Index, MetaData, String, Table, Text

from consent_policy.store import ConsentCopy
from services.common.idempotency import define_processed_events_table
from services.common.outbox import define_outbox_table

metadata = MetaData()
outbox = define_outbox_table(metadata)
processed_events = define_processed_events_table(metadata)

ID = lambda: String(36)  # noqa: E731
ORG = lambda: String(128)  # noqa: E731
TS = lambda: DateTime(timezone=True)  # noqa: E731


def _about_a_child(name: str, id_column: str, *columns: Column) -> Table:
    """A table of records each about one child: the record's id, then the child's (indexed)."""
    return Table(name, metadata, Column(id_column, ID(), primary_key=True),
                 Column("child_id", ID(), ForeignKey("children.child_id"), nullable=False, index=True), *columns)


children = Table(
    "children", metadata,
    Column("child_id", ID(), primary_key=True),
    Column("given_name", String(100), nullable=False),
    Column("family_name", String(100), nullable=False),
    Column("date_of_birth", Date, nullable=False, index=True),
    Column("setting_organisation_id", ORG(), nullable=False, index=True),
    Column("registered_at", TS(), nullable=False),
    # The child's key person and buddy (EYFS statutory framework 3.27), named by the setting:
    # names stay here; KeyPersonNamed carries the ids only.
    Column("key_person_id", String(128)),
    Column("key_person_name", String(100)),
    Column("buddy_id", String(128)),
    Column("buddy_name", String(100)),
)

concerns = _about_a_child(
    "concerns", "concern_id",
    Column("areas_of_need", JSON, nullable=False),
    Column("summary", Text, nullable=False),
    Column("evidence", Text),
    Column("raised_on", Date, nullable=False),
    Column("raised_by_organisation_id", ORG(), nullable=False),
)

referrals = _about_a_child(
    "referrals", "referral_id",
    Column("from_organisation_id", ORG(), nullable=False, index=True),
    Column("from_agency", String(32), nullable=False),
    Column("to_organisation_id", ORG(), nullable=False, index=True),
    Column("to_agency", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("consent_id", ID(), nullable=False),
    Column("state", String(16), nullable=False),
    Column("made_on", Date, nullable=False),
    Column("updated_at", TS(), nullable=False),
    Column("note", Text),  # decline reason, withdrawal reason or outcome
)

team_members = Table(
    "team_members", metadata,
    Column("child_id", ID(), ForeignKey("children.child_id"), primary_key=True),
    Column("organisation_id", ORG(), primary_key=True),
    Column("agency", String(32), nullable=False),
    Column("role", String(64), nullable=False),
    Column("joined_at", TS(), nullable=False),
    Column("left_at", TS()),
    # How it joined (schemas.vocabulary.TeamJoinRoute), who invited it, and how it left.
    Column("joined_through", String(32)),
    Column("invited_by_organisation_id", ORG()),
    Column("ended_by", String(32)),
)
Index("ix_team_members_organisation_id", team_members.c.organisation_id)

# Invitations to a child's team (InvitationSent); answered once, by the organisation invited.
invitations = _about_a_child(
    "invitations", "invitation_id",
    Column("organisation_id", ORG(), nullable=False, index=True),
    Column("agency", String(32), nullable=False),
    Column("invited_by_organisation_id", ORG(), nullable=False),
    Column("message", Text),
    Column("sent_on", Date, nullable=False),
    Column("expires_on", Date, nullable=False),
    Column("state", String(16), nullable=False),  # pending, accepted, declined, withdrawn
    Column("answered_at", TS()),
    Column("reason", Text),
)

integrated_reviews = _about_a_child(
    "integrated_reviews", "review_id",
    Column("state", String(16), nullable=False),
    Column("recorded_on", Date, nullable=False),
    Column("scheduled_for", Date, nullable=False),
    Column("scheduled_by_organisation_id", ORG(), nullable=False, index=True),
    Column("with_organisation_id", ORG(), index=True),
    Column("completed_on", Date),
    Column("with_agency", String(32)),  # what the partner was named as (None: the child's setting)
)

ehc_requests = _about_a_child(
    "ehc_requests", "request_id",
    Column("la_organisation_id", ORG(), nullable=False, index=True),
    Column("requested_on", Date, nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("decided_on", Date),
    Column("draft_issued_on", Date),
    Column("comments_due_on", Date),
    Column("finalised_on", Date),
    Column("exceptions", JSON, nullable=False),
    # The organisation that recorded the request (None when a parent made it): its author for
    # the consent decision (services.referrals.domain.access).
    Column("requested_by_organisation_id", ORG()),
)

ehc_advice = Table(
    "ehc_advice", metadata,
    Column("advice_id", ID(), primary_key=True),
    Column("request_id", ID(), ForeignKey("ehc_requests.request_id"), nullable=False, index=True),
    Column("child_id", ID(), ForeignKey("children.child_id"), nullable=False),
    Column("from_organisation_id", ORG(), nullable=False, index=True),
    Column("from_agency", String(32), nullable=False),
    Column("requested_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("submitted_on", Date),
)

# A parent's views, wishes and feelings and the child's, given during an EHC needs assessment
# (SEND Regulations 2014 reg. 6(1)(a), 7; EHCParentViewsGiven): the parent's advice received.
ehc_parent_views = Table(
    "ehc_parent_views", metadata,
    Column("views_id", ID(), primary_key=True),
    Column("request_id", ID(), ForeignKey("ehc_requests.request_id"), nullable=False, index=True),
    Column("child_id", ID(), ForeignKey("children.child_id"), nullable=False),
    Column("given_by", String(128), nullable=False),  # the parent's person id, from the token
    Column("given_on", Date, nullable=False),
    Column("given_at", TS(), nullable=False),
    Column("parent_views", Text, nullable=False),
    Column("child_views", Text),
)

transitions = Table(
    "transitions", metadata,
    Column("child_id", ID(), ForeignKey("children.child_id"), primary_key=True),
    Column("school_organisation_id", ORG(), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("state", String(16), nullable=False),
    Column("completed_on", Date),
)

# This service's copy of the decision's state (consent_policy.state.FOLDED_TYPES), per child,
# folded into ConsentState when needed: the consent events of tac.consent.v1, and the team
# events this service emits itself (ChildRegistered, TeamMemberJoined, TeamMemberLeft), written
# in the transaction of the command that emits them. The table, its fold and its loaders are
# consent_policy.store's, mounted here, in this service's own database.
consent_copy = ConsentCopy(metadata)
consent_events = consent_copy.table

# Announcements the service made about a child on its own (IntegratedReviewWindowOpened), one
# row per (child, notice), written in the same transaction as the event's outbox row: the key
# makes the announcement exactly once, across restarts and replicas.
child_notices = Table(
    "child_notices", metadata,
    Column("child_id", ID(), ForeignKey("children.child_id"), primary_key=True),
    Column("notice", String(64), primary_key=True),
    Column("event_id", ID(), nullable=False),
    Column("emitted_at", TS(), nullable=False),
)


def key(value: UUID | str) -> str:
    """An id as the tables keep it."""
    return str(value)
