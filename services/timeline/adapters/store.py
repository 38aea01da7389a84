"""The timeline's own store: applying consumed batches (by the handler table), the reads of
entries, consent state and settings, and the access log. Tables in .tables.

Sync SQLAlchemy sessions with short transactions; async callers run these methods in a worker
thread (asyncio.to_thread) so the event loop that serves HTTP and feeds Faust never blocks on
the database. One ingest batch is one transaction; a read is one snapshot and its access-log
record is written in the same transaction (PostgreSQL) or in one of its own after it (SQLite):
TimelineStore.recorded_read.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from uuid import UUID

from sqlalchemy import Select, and_, bindparam, func, insert, or_, select, tuple_
from sqlalchemy.orm import Session, sessionmaker

from schemas.envelope import EnvelopeBase
from services.common.clock import Clock, utc, utc_now
from services.common.db import make_recorded_read_factory, make_snapshot_factory
from services.common.messagebus import Consumed, IngestResult
from services.common.unit_of_work import UnitOfWork, UnitOfWorkFactory
from consent_policy.holds import Hold
from consent_policy.state import ConsentState
from services.timeline.adapters.rows import STORED_ENTRY_COLUMNS, access_record, access_row, stored_entries
from services.timeline.adapters.tables import (  # noqa: F401 - tables re-exported for tests and bench
    access_log, children, consent_copy, consent_events, entries, metadata, outbox, processed_events,
)
from services.timeline.domain.reading import AccessRecord, Cursor, EntryKind
from services.timeline.domain.entries import StoredEntry
from services.timeline.service_layer.ingest import BUS


# A read's queries are built once, here, and bound at each execution. Building a select (and
# its cache key) for every query cost about as much as reading its rows: on SQLite a chunk of
# 81 entries took 1.3-1.9 ms built per read, 0.8-1.5 built once; 81 of some kinds only 1.8-2.8
# against 1.0-1.7 (`python -m bench.profile_timeline read-parts`, bench/results/read-parts-2026-12-03-*).

# An entry's kind (EntryKind, less the child) as one row value, to match against a list of kinds
# in one IN: a NULL author organisation (a parent's entry) or requester is compared as '', since
# in SQL NULL equals nothing. No organisation id is ever '' (the contracts' min_length=1).
_KIND = tuple_(func.coalesce(entries.c.author_organisation_id, ""), entries.c.category,
               func.coalesce(entries.c.answers_request_of, ""))


def _kind_value(kind: EntryKind) -> tuple[str, str, str]:
    return kind.author_organisation_id or "", kind.category, kind.answers_request_of or ""


def _chunk_query(*, after_cursor: bool, of_kinds: bool) -> Select:
    """A child's entries newest first, `limit` of them; older than the cursor (`at`,
    `event_id`) if `after_cursor`; only of the `kinds` (_KIND values) if `of_kinds`."""
    query = select(*(entries.c[name] for name in STORED_ENTRY_COLUMNS)).where(entries.c.child_id == bindparam("child_id"))
    if after_cursor:
        at = bindparam("at", type_=entries.c.occurred_at.type)
        query = query.where(or_(entries.c.occurred_at < at,
                                and_(entries.c.occurred_at == at, entries.c.event_id < bindparam("event_id"))))
    if of_kinds:
        query = query.where(_KIND.in_(bindparam("kinds", expanding=True)))
    return query.order_by(entries.c.occurred_at.desc(), entries.c.event_id.desc()).limit(bindparam("limit"))


_CHUNK_QUERIES: dict[tuple[bool, bool], Select] = {
    (after_cursor, of_kinds): _chunk_query(after_cursor=after_cursor, of_kinds=of_kinds)
    for after_cursor in (False, True) for of_kinds in (False, True)
}
_KINDS_QUERY = select(entries.c.author_organisation_id, entries.c.category, entries.c.answers_request_of).where(
    entries.c.child_id == bindparam("child_id")).distinct()


class TimelineSnapshot:
    """The reads of one consistent snapshot of the store (TimelineStore.reading)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def entry_kinds(self, child_id: UUID) -> list[EntryKind]:
        """The kinds of the child's entries (what the consent decision reads of them). No index
        of its own: found through ix_timeline_entries_child_time, 1 ms for 1,000 entries on
        SQLite where an index of the kinds took 0.4 ms, but that index cost ingest 8-25% (one
        more B-tree written at random per entry)."""
        rows = self._session.execute(_KINDS_QUERY, {"child_id": str(child_id)})
        return [EntryKind(child_id, *row) for row in rows]

    def entry_chunks(self, child_id: UUID, before: Cursor | None, chunk_size: int,
                     kinds: Collection[EntryKind] | None = None) -> Iterator[list[StoredEntry]]:
        """The child's entries newest first, `chunk_size` rows at a time, until exhausted or
        the caller stops iterating; only those of `kinds`, if given (none if it is empty)."""
        if kinds is not None and not kinds:
            return
        params: dict[str, object] = {"child_id": str(child_id), "limit": chunk_size}
        if kinds is not None:
            params["kinds"] = [_kind_value(kind) for kind in kinds]
        cursor = before
        while True:
            if cursor is not None:
                params["at"], params["event_id"] = utc(cursor.occurred_at), str(cursor.event_id)
            chunk = stored_entries(self._session.execute(_CHUNK_QUERIES[cursor is not None, kinds is not None], params))
            if chunk:
                yield chunk
            if len(chunk) < chunk_size:
                return
            cursor = Cursor.after(chunk[-1])

    def consent_state(self, child_id: UUID) -> ConsentState:
        """The child's current consent state and team, folded at read time from the stored
        consent and team events: nothing is cached per viewer, so a withdrawal or a leave
        applies to the very next read."""
        return consent_copy.state_for(self._session, child_id)

    def setting_of(self, child_id: UUID) -> str | None:
        return self._session.execute(
            select(children.c.setting_organisation_id).where(children.c.child_id == str(child_id))
        ).scalar_one_or_none()


class RecordedRead:
    """A read of one snapshot of the store (`snapshot`) that records what it showed (`record`):
    the record is written as the read ends (TimelineStore.recorded_read)."""

    def __init__(self, snapshot: TimelineSnapshot) -> None:
        self.snapshot = snapshot
        self._view: tuple[AccessRecord, EnvelopeBase, str] | None = None

    def record(self, record: AccessRecord, envelope: EnvelopeBase, *, audit_topic: str) -> None:
        """The access-log row and the TimelineViewed event (to `audit_topic`) of this read."""
        self._view = (record, envelope, audit_topic)

    def write(self, uow: UnitOfWork) -> None:
        if self._view is None:  # a read is recorded before it is returned, or not returned at all
            raise RuntimeError("a recorded read ended without recording what it showed")
        record, envelope, audit_topic = self._view
        uow.session.execute(insert(access_log), access_row(record))
        uow.publish(envelope, topic=audit_topic)


class TimelineStore:
    def __init__(self, session_factory: sessionmaker[Session], *, clock: Clock = utc_now) -> None:
        engine = session_factory.kw["bind"]
        self._sessions = session_factory
        self._snapshots = make_snapshot_factory(engine)
        self._transactions = UnitOfWorkFactory(session_factory, clock=clock, processed=processed_events,
                                               outbox=outbox)
        recorded_reads = make_recorded_read_factory(engine)
        self._recorded_reads = None if recorded_reads is None else UnitOfWorkFactory(
            recorded_reads, clock=clock, outbox=outbox)

    # -- ingest --------------------------------------------------------------------------

    def ingest(self, batch: Sequence[EnvelopeBase | Consumed]) -> IngestResult:
        """Apply a batch in ONE transaction, each event at most once, by the timeline's handler
        table (services.timeline.service_layer.ingest): the batch's event ids are claimed in
        `processed_events` with one query and one bulk insert, in the same transaction as
        their effects, so a replay or a duplicate changes nothing and a failure leaves nothing
        behind. (Per-event claims capped ingest at ~1,600 events/s on SQLite and ~600 on
        PostgreSQL: bench/.) A concurrent claim of the same id by another worker fails this
        commit on the primary key, and the retry then sees the id as processed."""
        with self._transactions() as uow:
            return BUS.apply(uow, batch)

    def hold(self, holds: Sequence[Hold]) -> None:
        """Record holds the consumer asks for (a consent-topic message that can never be parsed):
        the child's consent-based entries are shown to nobody until a person releases them."""
        with self._transactions() as uow:
            BUS.place_holds(uow, holds)

    def open_holds(self) -> list[dict]:
        with self._sessions() as session:
            return consent_copy.open_holds(session)

    # -- reads ---------------------------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[TimelineSnapshot]:
        """One read of the store: every query sees the same committed state, so a read never
        pairs a consent state with entries committed after it (a batch that stores a
        withdrawal and a new entry is seen whole or not at all), and on SQLite it does not
        queue for the writer (services.common.db.make_snapshot_factory)."""
        with self._snapshots() as session, session.begin():
            yield TimelineSnapshot(session)

    @contextmanager
    def recorded_read(self) -> Iterator[RecordedRead]:
        """A read (`.snapshot`, as `reading` gives) whose record (`.record(...)`) is written
        before the block ends: if it cannot be written, or was not given, the block raises, so
        nothing read is returned unrecorded.

        PostgreSQL: the read and its record in one REPEATABLE READ transaction (services.common.
        db.make_recorded_read_factory). As two transactions, a read's second one cost a pool
        checkout with its ping, a BEGIN and a COMMIT: read_timeline of a page of 100 took 7.27
        ms that way and 6.68 in one transaction, of 376 entries 9.62 and 8.87 (medians of 400
        each, the two ways in turns in one process, 2026-12-03). SQLite: the snapshot, then the
        record in a writer's transaction of its own, so the read itself never waits for the
        writer."""
        if self._recorded_reads is None:
            with self.reading() as snapshot:
                read = RecordedRead(snapshot)
                yield read
            with self._transactions() as uow:
                read.write(uow)
            return
        with self._recorded_reads() as uow:
            read = RecordedRead(TimelineSnapshot(uow.session))
            yield read
            read.write(uow)

    def entry_chunks(self, child_id: UUID, before: Cursor | None, chunk_size: int,
                     kinds: Collection[EntryKind] | None = None) -> Iterator[list[StoredEntry]]:
        with self.reading() as snapshot:
            yield from snapshot.entry_chunks(child_id, before, chunk_size, kinds)

    def entry_kinds(self, child_id: UUID) -> list[EntryKind]:
        with self.reading() as snapshot:
            return snapshot.entry_kinds(child_id)

    def consent_state(self, child_id: UUID) -> ConsentState:
        with self.reading() as snapshot:
            return snapshot.consent_state(child_id)

    def setting_of(self, child_id: UUID) -> str | None:
        with self.reading() as snapshot:
            return snapshot.setting_of(child_id)

    # -- access log ----------------------------------------------------------------------

    def access_records(self, child_id: UUID, *, limit: int) -> list[AccessRecord]:
        with self._sessions() as session:
            rows = session.execute(
                select(access_log)
                .where(access_log.c.child_id == str(child_id))
                .order_by(access_log.c.viewed_at.desc(), access_log.c.view_id.desc())
                .limit(limit)
            ).all()
        return [access_record(row) for row in rows]

    # -- counts (health, tests, benchmarks) ----------------------------------------------

    def count_entries(self, child_id: UUID | None = None) -> int:
        with self._snapshots() as session:
            query = select(func.count()).select_from(entries)
            if child_id is not None:
                query = query.where(entries.c.child_id == str(child_id))
            return session.execute(query).scalar_one()

    def count_processed(self) -> int:
        with self._snapshots() as session:
            return session.execute(select(func.count()).select_from(processed_events)).scalar_one()

