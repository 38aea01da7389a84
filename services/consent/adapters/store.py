"""The consent service's own store: consents (with the giver's name, which never goes on the
bus), the notices the expiry task emitted, safeguarding grants, this service's copy of each
child's setting and team (the consent-state copy of consent_policy.store), processed-event
markers and the outbox.

Tables here mirror migrations/versions/; the migrations are what create them. Functions take
the caller's Session: the unit of work (adapters.unit_of_work) owns the transaction.

About 300 lines, over the usual 250: the tables and every query on them stay in one module, so
a column and the SQL that reads it change together, and the migration test compares this one
metadata with the Alembic history.
"""

from __future__ import annotations

from datetime import datetime, timezone
from uuid import UUID

from sqlalchemy import (
    JSON, Boolean, Column, DateTime, ForeignKey, MetaData, String, Table, Text, and_, insert, or_, select, update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from schemas.envelope import Actor
from schemas.vocabulary import Agency, Category, Purpose
from services.common.idempotency import define_processed_events_table
from services.common.outbox import define_outbox_table
from consent_policy.store import ConsentCopy
from services.consent.domain import (
    REMINDER_BEFORE, Consent, Giver, Notice, SafeguardingAccess, StoredConsent, Withdrawal,
)


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing to store a naive datetime")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _id() -> String:
    return String(36)


metadata = MetaData()

children = Table(
    "children", metadata,
    Column("child_id", _id(), primary_key=True),
    Column("setting_organisation_id", String(128), nullable=False),
    Column("registered_event_id", _id(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

consents = Table(
    "consents", metadata,
    Column("consent_id", _id(), primary_key=True),
    Column("child_id", _id(), nullable=False, index=True),
    Column("giver_name", String(200), nullable=False),
    Column("giver_relationship", String(64), nullable=False),
    Column("giver_person_id", String(128), nullable=False),
    Column("has_parental_responsibility", Boolean, nullable=False),
    Column("recorded_on_behalf", Boolean, nullable=False),
    Column("recorded_by", JSON, nullable=False),
    Column("recipient_organisations", JSON, nullable=False),
    Column("recipient_agencies", JSON, nullable=False),
    Column("categories", JSON, nullable=False),
    Column("purposes", JSON, nullable=False),
    Column("valid_from", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False, index=True),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("granted_event_id", _id(), nullable=False),
    Column("withdrawn_at", UtcDateTime()),
    Column("withdrawal_recorded_at", UtcDateTime()),
    Column("withdrawal_recorded_on_behalf", Boolean),
    Column("withdrawal_recorded_by", JSON),
    Column("withdrawal_event_id", _id()),
)

# One row per (consent, notice): the primary key makes "emit once" hold across restarts and
# concurrent expiry tasks, because the row is inserted in the same transaction as the outbox row.
consent_notices = Table(
    "consent_notices", metadata,
    Column("consent_id", _id(), ForeignKey("consents.consent_id"), primary_key=True),
    Column("notice", String(32), primary_key=True),
    Column("event_id", _id(), nullable=False, unique=True),
    Column("emitted_at", UtcDateTime(), nullable=False),
)

safeguarding_grants = Table(
    "safeguarding_grants", metadata,
    Column("grant_id", _id(), primary_key=True),
    Column("child_id", _id(), nullable=False, index=True),
    Column("organisation_id", String(128), nullable=False, index=True),
    Column("granted_by", JSON, nullable=False),
    Column("justification", Text, nullable=False),
    Column("granted_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("notify_role", String(64), nullable=False),
    Column("event_id", _id(), nullable=False),
)

# This service's copy of the state the decision folds (FOLDED_TYPES) as it arrives on
# tac.referrals.v1: the team events (ChildRegistered, TeamMemberJoined, TeamMemberLeft), kept
# whole and folded with ConsentState when a request names the child. The consents themselves
# are the `consents` table above, this service's authority; the copy is the table every
# enforcing service mounts (consent_policy.store).
consent_copy = ConsentCopy(metadata)

processed_events = define_processed_events_table(metadata)
outbox = define_outbox_table(metadata)


# -- children (the copy of ChildRegistered) -------------------------------------------------


def child_setting(session: Session, child_id: UUID) -> str | None:
    return session.execute(
        select(children.c.setting_organisation_id).where(children.c.child_id == str(child_id))
    ).scalar_one_or_none()


def record_child_setting(session: Session, child_id: UUID, setting_organisation_id: str, event_id: UUID,
                         now: datetime) -> None:
    """A later registration (the child moved setting) replaces the earlier one: one child's
    events arrive in order on one partition."""
    values = dict(setting_organisation_id=setting_organisation_id, registered_event_id=str(event_id), updated_at=now)
    updated = session.execute(update(children).where(children.c.child_id == str(child_id)).values(**values))
    if updated.rowcount == 0:
        session.execute(insert(children).values(child_id=str(child_id), **values))


# -- consents -------------------------------------------------------------------------------


def _actor(value: dict | None) -> Actor | None:
    return None if value is None else Actor.model_validate(value)


def _actor_json(actor: Actor) -> dict:
    return actor.model_dump(mode="json")


def add_consent(session: Session, consent: Consent, granted_event_id: UUID) -> None:
    session.execute(insert(consents).values(
        consent_id=str(consent.consent_id),
        child_id=str(consent.child_id),
        giver_name=consent.given_by.name,
        giver_relationship=consent.given_by.relationship,
        giver_person_id=consent.given_by.person_id,
        has_parental_responsibility=consent.given_by.has_parental_responsibility,
        recorded_on_behalf=consent.recorded_on_behalf,
        recorded_by=_actor_json(consent.recorded_by),
        recipient_organisations=list(consent.recipient_organisations),
        recipient_agencies=[a.value for a in consent.recipient_agencies],
        categories=[c.value for c in consent.categories],
        purposes=[p.value for p in consent.purposes],
        valid_from=consent.valid_from,
        expires_at=consent.expires_at,
        recorded_at=consent.recorded_at,
        granted_event_id=str(granted_event_id),
    ))


def record_withdrawal(session: Session, consent: Consent, event_id: UUID) -> bool:
    """Store the withdrawal; False when another request withdrew it first (the conditional
    update makes a concurrent double withdrawal a conflict, not two events)."""
    w = consent.withdrawal
    assert w is not None
    result = session.execute(
        update(consents)
        .where(and_(consents.c.consent_id == str(consent.consent_id), consents.c.withdrawn_at.is_(None)))
        .values(withdrawn_at=w.withdrawn_at, withdrawal_recorded_at=w.recorded_at,
                withdrawal_recorded_on_behalf=w.recorded_on_behalf,
                withdrawal_recorded_by=_actor_json(w.recorded_by), withdrawal_event_id=str(event_id))
    )
    return result.rowcount == 1


def _notices(session: Session, consent_ids: list[str]) -> dict[str, dict[Notice, str]]:
    found: dict[str, dict[Notice, str]] = {}
    if not consent_ids:
        return found
    rows = session.execute(select(consent_notices).where(consent_notices.c.consent_id.in_(consent_ids)))
    for row in rows:
        found.setdefault(row.consent_id, {})[Notice(row.notice)] = row.event_id
    return found


def _consent(row, notices: dict[Notice, str]) -> Consent:
    withdrawal = None
    if row.withdrawn_at is not None:
        withdrawal = Withdrawal(withdrawn_at=row.withdrawn_at, recorded_at=row.withdrawal_recorded_at,
                                recorded_on_behalf=bool(row.withdrawal_recorded_on_behalf),
                                recorded_by=_actor(row.withdrawal_recorded_by))
    return Consent(
        consent_id=UUID(row.consent_id),
        child_id=UUID(row.child_id),
        given_by=Giver(row.giver_name, row.giver_relationship, row.giver_person_id, row.has_parental_responsibility),
        recorded_by=_actor(row.recorded_by),
        recorded_on_behalf=row.recorded_on_behalf,
        recipient_organisations=tuple(row.recipient_organisations),
        recipient_agencies=tuple(Agency(a) for a in row.recipient_agencies),
        categories=tuple(Category(c) for c in row.categories),
        purposes=tuple(Purpose(p) for p in row.purposes),
        valid_from=row.valid_from,
        expires_at=row.expires_at,
        recorded_at=row.recorded_at,
        withdrawal=withdrawal,
        notices=frozenset(notices),
    )


def _stored(session: Session, rows: list) -> list[StoredConsent]:
    notices = _notices(session, [r.consent_id for r in rows])
    return [StoredConsent(_consent(r, notices.get(r.consent_id, {})), r.granted_event_id, r.withdrawal_event_id,
                          notices.get(r.consent_id, {})) for r in rows]


def get_consent(session: Session, consent_id: UUID) -> StoredConsent | None:
    rows = list(session.execute(select(consents).where(consents.c.consent_id == str(consent_id))))
    return _stored(session, rows)[0] if rows else None


def consents_of_child(session: Session, child_id: UUID) -> list[StoredConsent]:
    rows = list(session.execute(
        select(consents).where(consents.c.child_id == str(child_id))
        .order_by(consents.c.recorded_at, consents.c.consent_id)
    ))
    return _stored(session, rows)


def consents_needing_notice(session: Session, now: datetime, limit: int) -> list[Consent]:
    """Candidates for the expiry task: not withdrawn, within the reminder window or past
    expiry, and still missing at least one notice. The domain decides which is due."""
    missing_expired = ~select(consent_notices.c.consent_id).where(and_(
        consent_notices.c.consent_id == consents.c.consent_id, consent_notices.c.notice == Notice.EXPIRED.value,
    )).exists()
    missing_reminder = ~select(consent_notices.c.consent_id).where(and_(
        consent_notices.c.consent_id == consents.c.consent_id, consent_notices.c.notice == Notice.EXPIRY_REMINDER.value,
    )).exists()
    rows = list(session.execute(
        select(consents)
        .where(and_(
            consents.c.withdrawn_at.is_(None),
            consents.c.expires_at <= now + REMINDER_BEFORE,
            or_(and_(consents.c.expires_at <= now, missing_expired),
                and_(consents.c.expires_at > now, missing_reminder)),
        ))
        .order_by(consents.c.expires_at, consents.c.consent_id)
        .limit(limit)
    ))
    return [s.consent for s in _stored(session, rows)]


def record_notice(session: Session, consent_id: UUID, notice: Notice, event_id: UUID, now: datetime) -> None:
    """Raises IntegrityError at flush/commit when this notice was already emitted."""
    session.execute(insert(consent_notices).values(
        consent_id=str(consent_id), notice=notice.value, event_id=str(event_id), emitted_at=now,
    ))


# -- safeguarding ---------------------------------------------------------------------------


def add_safeguarding_access(session: Session, access: SafeguardingAccess, event_id: UUID) -> None:
    session.execute(insert(safeguarding_grants).values(
        grant_id=str(access.grant_id),
        child_id=str(access.child_id),
        organisation_id=access.organisation_id,
        granted_by=_actor_json(access.granted_by),
        justification=access.justification,
        granted_at=access.granted_at,
        expires_at=access.expires_at,
        notify_role=access.notify_role,
        event_id=str(event_id),
    ))


def safeguarding_access_of(session: Session, child_id: UUID,
                           organisation_id: str | None) -> list[tuple[SafeguardingAccess, str]]:
    """The child's grants held by `organisation_id`; None: every organisation's."""
    query = select(safeguarding_grants).where(safeguarding_grants.c.child_id == str(child_id))
    if organisation_id is not None:
        query = query.where(safeguarding_grants.c.organisation_id == organisation_id)
    rows = session.execute(query.order_by(safeguarding_grants.c.granted_at, safeguarding_grants.c.grant_id))
    return [(SafeguardingAccess(
        grant_id=UUID(r.grant_id), child_id=UUID(r.child_id), organisation_id=r.organisation_id,
        granted_by=_actor(r.granted_by), justification=r.justification, granted_at=r.granted_at,
        expires_at=r.expires_at, notify_role=r.notify_role,
    ), r.event_id) for r in rows]
