"""The consent store on SQLite and PostgreSQL: the migration builds exactly the tables the
code uses, times come back as UTC, and the expiry query finds what is due and nothing else."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from schemas.vocabulary import Agency, Category, Purpose
from services.common.auth import Principal
from services.common.db import make_engine, make_session_factory, run_migrations
from services.consent import domain
from services.consent.adapters import store
from services.consent.bootstrap import MIGRATIONS
from services.consent.domain import Notice, WithdrawConsent

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=timezone.utc)
SENCO = Principal(practitioner_id="senco-amy", organisation_id="nursery", agency=Agency.SETTING, role="senco")


@pytest.fixture
def sessions(database_url):
    run_migrations(database_url, MIGRATIONS)
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def new_consent(expires_in: timedelta, child=None) -> domain.Consent:
    cmd = domain.GrantConsent(given_by_name="Kim Parker", relationship="mother", has_parental_responsibility=True,
                              recipient_organisations=["slt"], recipient_agencies=[Agency.EP_SERVICE],
                              categories=[Category.SLT], purposes=[Purpose.ASSESSMENT],
                              valid_from=NOW - timedelta(days=300), expires_at=NOW + expires_in)
    consent, _ = domain.grant_consent(SENCO, child or uuid4(), domain.Relationship("nursery"), cmd, consent_id=uuid4(), now=NOW - timedelta(days=300))
    return consent


def test_the_migration_builds_exactly_the_tables_the_store_uses(database_url, sessions):
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), store.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_a_consent_round_trips_with_utc_times_and_the_givers_name(sessions):
    consent = new_consent(timedelta(days=65))
    with sessions.begin() as session:
        store.add_consent(session, consent, uuid4())
    with sessions() as session:
        loaded = store.get_consent(session, consent.consent_id).consent
    assert loaded == consent
    assert loaded.expires_at.tzinfo is not None and loaded.expires_at.utcoffset() == timedelta(0)
    assert loaded.given_by.name == "Kim Parker"


def test_the_expiry_query_finds_reminders_and_expiries_due_and_nothing_else(sessions):
    far = new_consent(timedelta(days=31))
    reminder = new_consent(timedelta(days=30))
    expired = new_consent(timedelta(seconds=0))
    withdrawn = new_consent(timedelta(days=-3))
    already_reminded = new_consent(timedelta(days=2))
    withdrawn, _ = domain.withdraw_consent(SENCO, withdrawn, domain.Relationship("nursery"),
                                           WithdrawConsent(parent_withdrew_on=(NOW - timedelta(days=5)).date()),
                                           now=NOW - timedelta(days=4))
    with sessions.begin() as session:
        for c in (far, reminder, expired, withdrawn, already_reminded):
            store.add_consent(session, c, uuid4())
        store.record_withdrawal(session, withdrawn, uuid4())
        store.record_notice(session, already_reminded.consent_id, Notice.EXPIRY_REMINDER, uuid4(), NOW)
    with sessions() as session:
        due = store.consents_needing_notice(session, NOW, limit=100)
    assert [c.consent_id for c in due] == [expired.consent_id, reminder.consent_id]
    assert [c.due_notices(NOW) for c in due] == [[Notice.EXPIRED], [Notice.EXPIRY_REMINDER]]


def test_a_notice_cannot_be_recorded_twice(sessions):
    consent = new_consent(timedelta(days=1))
    with sessions.begin() as session:
        store.add_consent(session, consent, uuid4())
        store.record_notice(session, consent.consent_id, Notice.EXPIRED, uuid4(), NOW)
    with pytest.raises(IntegrityError):
        with sessions.begin() as session:
            store.record_notice(session, consent.consent_id, Notice.EXPIRED, uuid4(), NOW)


def test_a_second_withdrawal_of_the_same_consent_is_not_stored(sessions):
    consent = new_consent(timedelta(days=100))
    withdrawn, _ = domain.withdraw_consent(SENCO, consent, domain.Relationship("nursery"), WithdrawConsent(parent_withdrew_on=NOW.date()),
                                           now=NOW)
    with sessions.begin() as session:
        store.add_consent(session, consent, uuid4())
    with sessions.begin() as session:
        assert store.record_withdrawal(session, withdrawn, uuid4())
    with sessions.begin() as session:
        assert not store.record_withdrawal(session, withdrawn, uuid4())
