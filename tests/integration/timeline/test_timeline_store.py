"""The timeline store on SQLite and PostgreSQL (the `database_url` fixture runs each test on
both): idempotent ingest, consent state, paging order, and the read record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest
from sqlalchemy import column, func, insert, select, table
from sqlalchemy.exc import IntegrityError

from schemas.catalogue import parse_event
from schemas.envelope import Actor
from schemas.events import consent as c
from schemas.events import referrals as r
from schemas.vocabulary import Agency
from services.common.db import make_engine, make_session_factory, run_migrations
from consent_policy.decision import Viewer
from services.timeline.adapters import store as tables
from services.timeline.bootstrap import MIGRATIONS
from services.timeline.domain.reading import Cursor, EntryKind
from services.timeline.service_layer.reads import read_timeline, view_of
from services.timeline.adapters.rows import entry_row
from services.timeline.adapters.shown_as import render
from services.timeline.adapters.store import TimelineSnapshot, TimelineStore
from services.timeline.domain.entries import entry_from_envelope
from tests.integration.common.support import drift_from_migrations
from tests.unit.timeline.timeline_builders import (
    HV, PARENT, SETTING, SETTING_ORG, SLT, SLT_ORG, concern, envelope, granted_payload, joined, left, registered, sample,
    withdrawn,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def sessions(database_url):
    run_migrations(database_url, MIGRATIONS)
    engine = make_engine(database_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


@pytest.fixture
def store(sessions) -> TimelineStore:
    return TimelineStore(sessions)


def viewer(actor: Actor, children=()) -> Viewer:
    return Viewer(actor.practitioner_id, actor.organisation_id, actor.agency, frozenset(children))


def test_an_event_is_stored_once_however_often_it_arrives(store):
    child = uuid4()
    event = concern(child)
    assert store.ingest([event, event]) == tables.IngestResult(stored=1, duplicates=1)
    assert store.ingest([event]) == tables.IngestResult(stored=0, duplicates=1)
    assert store.count_entries(child) == 1 and store.count_processed() == 1


def test_a_batch_is_one_transaction_so_a_failure_half_way_leaves_nothing_and_the_replay_stores_all(store, sessions):
    child = uuid4()
    first, second = concern(child), concern(child)
    # An entry row for `second` that was never claimed: inserting it again breaks the
    # primary key half-way through the batch.
    with sessions.begin() as session:
        session.execute(tables.entries.insert().values(
            event_id=str(second.id), child_id=str(child), event_type="x", category="concern",
            occurred_at=T0, author_practitioner_id="p", author_agency="setting", author_role="r", summary="s",
            payload="{}", shown_as="{}", stored_at=T0))
    with pytest.raises(IntegrityError):
        store.ingest([first, second])
    assert store.count_processed() == 0 and store.count_entries(child) == 1

    with sessions.begin() as session:
        session.execute(tables.entries.delete())
    assert store.ingest([first, second]).stored == 2
    assert store.count_entries(child) == 2 and store.count_processed() == 2


def test_a_consent_expiry_reminder_is_claimed_but_makes_no_entry(store):
    child = uuid4()
    reminder = envelope(sample(c.ConsentExpiryReminderDue), child)
    assert store.ingest([reminder]).stored == 1
    assert store.count_entries(child) == 0 and store.count_processed() == 1
    assert store.ingest([reminder]).duplicates == 1


def test_consent_events_are_entries_and_fold_into_the_childs_consent_state(store):
    child, sibling = uuid4(), uuid4()
    grant = envelope(granted_payload(agencies=(Agency.SLT_SERVICE,)), child)
    other = envelope(granted_payload(agencies=(Agency.SLT_SERVICE,)), sibling)
    store.ingest([grant, other])
    state = store.consent_state(child)
    assert state.consent_ids_for(child) == {grant.data.consent_id}
    assert state.is_active(grant.data.consent_id, T0)
    assert store.count_entries(child) == 1

    store.ingest([withdrawn(child, grant.data.consent_id)])
    assert not store.consent_state(child).is_active(grant.data.consent_id, T0)
    assert store.count_entries(child) == 2


def test_team_events_are_entries_and_fold_into_the_childs_state_in_the_same_ingest(store, sessions):
    child, sibling = uuid4(), uuid4()
    events = [registered(child, time=T0 - timedelta(days=3)),
              joined(child, SLT_ORG, Agency.SLT_SERVICE, time=T0 - timedelta(days=2)),
              left(child, SLT_ORG, time=T0 - timedelta(days=1)),
              joined(sibling, SLT_ORG, Agency.SLT_SERVICE, time=T0 - timedelta(days=2))]
    assert store.ingest(events).stored == 4
    state = store.consent_state(child)
    assert state.team_members(child, T0) == {SETTING_ORG}
    # A leave, once known, counts at any moment (the decision fails safe); joins from their time.
    assert state.team_members(child, T0 - timedelta(days=1, hours=12)) == {SETTING_ORG}
    assert store.consent_state(sibling).team_members(sibling, T0) == {SLT_ORG}
    assert store.count_entries(child) == 3
    with sessions() as session:
        kept = session.execute(select(tables.consent_events.c.event_type)
                               .where(tables.consent_events.c.child_id == str(child))).scalars().all()
    assert sorted(kept) == sorted(e.type for e in events[:3])


def test_an_invitation_and_the_key_person_are_entries_but_not_part_of_the_state(store):
    child = uuid4()
    store.ingest([envelope(sample(r.InvitationSent), child), envelope(sample(r.InvitationDeclined), child),
                  envelope(sample(r.KeyPersonNamed), child)])
    assert store.count_entries(child) == 3
    assert store.consent_state(child).team == frozenset()


def test_an_answer_is_stored_with_the_organisation_whose_request_it_answers(store):
    child = uuid4()
    accepted, raised = envelope(sample(r.ReferralAccepted), child, SLT, time=T0), concern(child, time=T0 - timedelta(hours=1))
    store.ingest([accepted, raised])
    (answer, other), = list(store.entry_chunks(child, None, 10))
    assert (answer.event_id, answer.answers_request_of) == (accepted.id, SETTING_ORG)
    assert (other.event_id, other.answers_request_of) == (raised.id, None)
    assert answer.as_decision_entry().answers_request_of == SETTING_ORG


def test_a_childs_kinds_of_entry_are_listed_once_each_nulls_included(store):
    """What the decision reads of an entry: its author's organisation (none for a parent), its
    category and the organisation it answers (none but for an answer)."""
    child = uuid4()
    store.ingest([concern(child, time=T0), concern(child, time=T0 + timedelta(minutes=1)), concern(child, SLT),
                  envelope(sample(r.ReferralAccepted), child, SLT), envelope(sample(r.ReferralMade), child, SLT),
                  envelope(sample(r.ParentObservationShared), child, PARENT)])
    store.ingest([concern(uuid4(), HV)])  # another child's
    kinds = store.entry_kinds(child)
    assert sorted(kinds, key=str) == sorted([
        EntryKind(child, SETTING_ORG, "concern", None), EntryKind(child, SLT_ORG, "concern", None),
        EntryKind(child, SLT_ORG, "referral", SETTING_ORG), EntryKind(child, SLT_ORG, "referral", None),
        EntryKind(child, None, "progress", None)], key=str)


def test_only_the_entries_of_the_kinds_asked_for_are_fetched_nulls_matched_as_nulls(store):
    child = uuid4()
    answer, referral = envelope(sample(r.ReferralAccepted), child, SLT), envelope(sample(r.ReferralMade), child, SLT)
    parents = envelope(sample(r.ParentObservationShared), child, PARENT)
    store.ingest([answer, referral, parents, concern(child)])

    def fetched(*kinds):
        return {e.event_id for chunk in store.entry_chunks(child, None, 10, kinds) for e in chunk}

    assert fetched(EntryKind(child, SLT_ORG, "referral", None)) == {referral.id}
    assert fetched(EntryKind(child, SLT_ORG, "referral", SETTING_ORG)) == {answer.id}
    assert fetched(EntryKind(child, None, "progress", None)) == {parents.id}
    assert fetched(EntryKind(child, None, "progress", None), EntryKind(child, SLT_ORG, "referral", None)) == {
        parents.id, referral.id}
    assert fetched() == set()  # no kind permitted: nothing is fetched
    assert len({e.event_id for chunk in store.entry_chunks(child, None, 10) for e in chunk}) == 4  # no condition


def test_the_kinds_asked_for_come_newest_first_in_chunks_each_resumed_after_the_last(store):
    """The kinds' condition and the cursor's together (a read past its first chunk)."""
    child = uuid4()
    setting = [concern(child, time=T0 + timedelta(minutes=i)) for i in range(5)]
    slt = [concern(child, SLT, time=T0 + timedelta(minutes=i, seconds=30)) for i in range(5)]
    store.ingest(setting + slt)

    chunks = list(store.entry_chunks(child, None, 2, [EntryKind(child, SLT_ORG, "concern", None)]))
    assert [len(chunk) for chunk in chunks] == [2, 2, 1]
    assert [e.event_id for chunk in chunks for e in chunk] == [e.id for e in reversed(slt)]
    after = Cursor(slt[3].time, slt[3].id)
    assert [e.event_id for chunk in store.entry_chunks(child, after, 10, [EntryKind(child, SETTING_ORG, "concern", None)])
            for e in chunk] == [e.id for e in reversed(setting[:4])]


def test_the_migrations_make_exactly_the_tables_the_store_describes(database_url, sessions):
    assert drift_from_migrations(database_url, tables.metadata) == []


def test_the_setting_that_registered_the_child_stays_the_childs_setting(store):
    child = uuid4()
    assert store.setting_of(child) is None
    store.ingest([envelope(r.ChildRegistered(setting_organisation_id=SETTING_ORG), child)])
    store.ingest([envelope(r.ChildRegistered(setting_organisation_id="another-nursery"), child)])
    assert store.setting_of(child) == SETTING_ORG


@contextmanager
def a_read(store: TimelineStore, kind: str, child) -> Iterator[TimelineSnapshot]:
    """A plain snapshot, or the snapshot of a recorded read (an empty view recorded at its end)."""
    if kind == "snapshot":
        with store.reading() as snapshot:
            yield snapshot
        return
    with store.recorded_read() as read:
        yield read.snapshot
        read.record(*view_of(child, [], actor=SLT, now=T0, correlationid=None), audit_topic="audit.test")


@pytest.mark.parametrize("kind", ["snapshot", "recorded read"])
def test_a_read_pairs_the_consent_state_only_with_entries_committed_with_it(store, kind):
    """A batch storing a withdrawal and a new entry lands between a read's consent-state query
    and its entries query: the read sees neither, never the new entry under the old consent."""
    child = uuid4()
    grant = envelope(granted_payload(agencies=(Agency.SLT_SERVICE,)), child)
    before = concern(child, time=T0)
    store.ingest([grant, before])
    with a_read(store, kind, child) as snapshot:
        state = snapshot.consent_state(child)
        store.ingest([withdrawn(child, grant.data.consent_id), concern(child, time=T0 + timedelta(minutes=1))])
        seen = [e.event_id for chunk in snapshot.entry_chunks(child, None, 10) for e in chunk]
    assert state.is_active(grant.data.consent_id, T0)
    assert set(seen) == {before.id, grant.id}
    assert not store.consent_state(child).is_active(grant.data.consent_id, T0)  # the next read: both
    assert store.count_entries(child) == 4


def test_a_read_does_not_wait_for_a_writer(store, sessions):
    """On SQLite a write transaction holds the single writer lock; a read takes a snapshot
    beside it instead of queueing (it would wait out the 30 s busy timeout, then fail)."""
    child = uuid4()
    store.ingest([concern(child)])
    with sessions.begin() as writing:
        writing.execute(insert(tables.children).values(
            child_id=str(uuid4()), setting_organisation_id=SETTING_ORG, registered_event_id=str(uuid4())))
        assert store.count_entries(child) == 1  # the write is not committed, and not waited for:
        (entry,), = list(store.entry_chunks(child, None, 10))
        assert store.setting_of(child) is None


def test_entries_come_back_newest_first_ties_by_event_id_and_resume_after_a_cursor(store):
    child = uuid4()
    events = [concern(child, time=T0 + timedelta(minutes=i // 2)) for i in range(9)]  # pairs share a time
    store.ingest(events)
    store.ingest([concern(uuid4(), time=T0 + timedelta(hours=1))])  # another child's entry
    expected = sorted(events, key=lambda e: (e.time, str(e.id)), reverse=True)

    chunks = list(store.entry_chunks(child, None, 4))
    assert [len(chunk) for chunk in chunks] == [4, 4, 1]
    assert [e.event_id for chunk in chunks for e in chunk] == [e.id for e in expected]

    after_third = Cursor(expected[2].time, expected[2].id)
    rest = [e.event_id for chunk in store.entry_chunks(child, after_third, 100) for e in chunk]
    assert rest == [e.id for e in expected[3:]]


def test_times_keep_their_instant_whatever_zone_they_were_sent_in(store):
    child = uuid4()
    zoned = T0.astimezone(timezone(timedelta(hours=5, minutes=30)))
    store.ingest([concern(child, time=zoned)])
    (entry,), = list(store.entry_chunks(child, None, 10))
    assert entry.occurred_at == T0 and entry.occurred_at.tzinfo is not None


def test_a_read_is_recorded_in_the_access_log_and_the_outbox_together(store, sessions):
    child = uuid4()
    grant = envelope(granted_payload(agencies=(Agency.SLT_SERVICE,)), child)
    mine, theirs = concern(child, SLT, time=T0), concern(child, SETTING, time=T0 - timedelta(hours=1))
    hidden = envelope(sample(r.EPAdviceShared), child, SETTING, time=T0 - timedelta(hours=2))
    store.ingest([grant, mine, theirs, hidden, joined(child, SLT_ORG, Agency.SLT_SERVICE, time=T0 - timedelta(days=1))])

    page = read_timeline(store, viewer=viewer(SLT), actor=SLT, child_id=child, before=None, limit=10,
                         now=T0 + timedelta(minutes=5), audit_topic="audit.test")
    assert [(s.entry.event_id, s.basis) for s in page.shown] == [
        (mine.id, "own"), (theirs.id, f"consent:{grant.data.consent_id}")]

    (record,) = store.access_records(child, limit=10)
    assert (record.view_id, record.viewer_organisation_id, record.entries_shown) == (page.view_id, SLT.organisation_id, 2)
    assert page.view_id.version == 7  # an event's id (schemas.envelope.new_event_id): the access log's key grows at one edge
    assert record.bases == ((mine.id, "own"), (theirs.id, f"consent:{grant.data.consent_id}"))

    with sessions() as session:
        row = session.execute(select(tables.outbox)).one()
    assert (row.event_id, row.topic, row.sent_at) == (str(page.view_id), "audit.test", None)
    viewed = parse_event(row.payload)
    assert viewed.type == "tac.audit.timeline_viewed.v1" and viewed.subject == child
    assert viewed.data.entries_shown == 2
    assert [(s.event_id, s.basis) for s in viewed.data.shown] == list(record.bases)
    assert json.loads(row.headers) == {"content-type": "application/cloudevents+json",
                                       "correlationid": viewed.correlationid}


def test_a_recorded_read_that_records_nothing_fails_and_leaves_nothing(store, sessions):
    child = uuid4()
    store.ingest([concern(child)])
    with pytest.raises(RuntimeError, match="without recording"):
        with store.recorded_read() as read:
            assert read.snapshot.consent_state(child) is not None
    assert store.access_records(child, limit=10) == []
    with sessions() as session:
        assert session.execute(select(func.count()).select_from(tables.outbox)).scalar_one() == 0


def test_a_read_whose_record_cannot_be_written_fails(store, sessions):
    """Its record is written before the read's answer is returned: one that cannot be (here a
    second record of the same view) fails the read instead of returning it unrecorded."""
    child = uuid4()
    page = read_timeline(store, viewer=viewer(PARENT, [child]), actor=PARENT, child_id=child, before=None, limit=10,
                         now=T0, audit_topic="audit.test")
    (record,) = store.access_records(child, limit=10)
    with pytest.raises(IntegrityError):
        with store.recorded_read() as read:
            read.record(record, view_of(child, [], actor=PARENT, now=T0, correlationid=None)[1], audit_topic="audit.test")
    assert [r.view_id for r in store.access_records(child, limit=10)] == [page.view_id]
    with sessions() as session:
        assert session.execute(select(func.count()).select_from(tables.outbox)).scalar_one() == 1


def test_reading_an_unknown_child_gives_an_empty_page_and_is_still_recorded(store, sessions):
    child = uuid4()
    page = read_timeline(store, viewer=viewer(PARENT, [child]), actor=PARENT, child_id=child, before=None, limit=100,
                         now=T0, audit_topic="audit.test")
    assert page.shown == [] and page.next_before is None
    assert [r.entries_shown for r in store.access_records(child, limit=10)] == [0]
    with sessions() as session:
        assert session.execute(select(func.count()).select_from(tables.outbox)).scalar_one() == 1


def _alembic(database_url: str, action: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    getattr(command, action)(config, revision)


def test_upgrading_a_store_from_0001_puts_each_registered_childs_setting_on_its_team(database_url):
    child = uuid4()
    registration = envelope(r.ChildRegistered(setting_organisation_id=SETTING_ORG), child, time=T0 - timedelta(days=1))
    _alembic(database_url, "upgrade", "0001")
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:  # what revision 0001 stored: an entry, and no team state
            row = dict(
                event_id=str(registration.id), child_id=str(child), event_type=registration.type, category="referral",
                occurred_at=registration.time, author_practitioner_id="priya", author_organisation_id=SETTING_ORG,
                author_agency="setting", author_role="senco", summary="Child registered",
                payload=registration.data.model_dump_json(), stored_at=T0)
            old_entries = table("timeline_entries", *(column(name, tables.entries.c[name].type) for name in row))
            connection.execute(old_entries.insert().values(**row))
        _alembic(database_url, "upgrade", "head")
        store = TimelineStore(make_session_factory(engine))
        assert store.consent_state(child).team_members(child, T0) == {SETTING_ORG}
        ((entry,),) = [list(chunk) for chunk in store.entry_chunks(child, None, 10)]
        assert entry.answers_request_of is None

        _alembic(database_url, "downgrade", "0001")
        _alembic(database_url, "upgrade", "head")
        assert store.consent_state(child).team_members(child, T0) == {SETTING_ORG}
    finally:
        engine.dispose()


def test_upgrading_to_0005_renders_each_stored_entry_exactly_as_ingest_now_does(database_url):
    """Entries stored before 0005 get the rendering a read returns; it is the one today's
    ingest makes of the same event, so the two kinds of entry read the same."""
    child = uuid4()
    events = [concern(child, SLT, time=T0 - timedelta(microseconds=7)), envelope(sample(r.EPAdviceShared), child),
              concern(child, PARENT, time=T0.astimezone(timezone(timedelta(hours=-5))))]
    _alembic(database_url, "upgrade", "0004")
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:  # the entries as revision 0004 stored them
            rows = [{**entry_row(entry_from_envelope(event), stored_at=T0)} for event in events]
            for row in rows:
                del row["shown_as"]
            old_entries = table("timeline_entries", *(column(name, tables.entries.c[name].type) for name in rows[0]))
            connection.execute(old_entries.insert(), rows)
        _alembic(database_url, "upgrade", "head")
        store = TimelineStore(make_session_factory(engine))
        (chunk,) = list(store.entry_chunks(child, None, 10))
        assert {e.event_id: e.shown_as for e in chunk} == {e.id: render(entry_from_envelope(e)) for e in events}
        _alembic(database_url, "downgrade", "0004")
        _alembic(database_url, "upgrade", "head")
        assert len(list(store.entry_chunks(child, None, 10))[0]) == 3
    finally:
        engine.dispose()
