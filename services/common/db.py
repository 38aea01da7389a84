"""One way to reach a service's own store: SQLite by default, PostgreSQL in production.

SQLite runs in WAL mode with foreign keys on and a busy timeout, so the HTTP threads, the
outbox relay and a consumer can share one file. Every SQLite transaction starts with BEGIN
IMMEDIATE: a read-then-write transaction can then never fail with SQLITE_BUSY on upgrading its
lock (which the busy timeout cannot resolve); the price is that transactions take turns, which
suits the single-host default. PostgreSQL, the production store, has no such limit.

A read that writes nothing takes a snapshot instead (`make_snapshot_factory`): on SQLite a
deferred BEGIN, which in WAL mode neither waits for the writer nor holds it up; on PostgreSQL a
REPEATABLE READ, READ ONLY transaction. Either way every query of the read sees the same
committed state, e.g. a child's consent state and the entries it is applied to.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)


def make_engine(url: str, *, background_checkpoints: bool = True) -> Engine:
    """`background_checkpoints=False` leaves a SQLite file's WAL checkpoints to SQLite alone
    (the benchmarks compare the two; see _BackgroundCheckpoints)."""
    # hide_parameters: SQL errors must never carry children's personal details into logs.
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, hide_parameters=True,
                               connect_args={"timeout": _BUSY_TIMEOUT_S, "check_same_thread": False})
        event.listen(engine, "connect", _configure_sqlite)
        # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; take control
        # so that a transaction starts when SQLAlchemy says so (SQLAlchemy docs, "Serializable
        # isolation / Savepoints / Transactional DDL" for pysqlite).
        turns = _writer_turns(parsed.database or ":memory:")
        event.listen(engine, "begin", turns.begin)
        if parsed.database and parsed.database != ":memory:" and background_checkpoints:
            event.listen(engine, "commit", _checkpoints(parsed.database).after_commit)  # before the turn ends
        event.listen(engine, "commit", turns.end)
        event.listen(engine, "rollback", turns.end)
        return engine
    if parsed.get_backend_name() == "postgresql":
        # Sessions in UTC whatever the server's TimeZone: psycopg then gives times with
        # `timezone.utc`, which needs no conversion when loaded or read back (services.common.
        # clock.utc). In a server's own zone (Debian's default is 'Etc/UTC', a ZoneInfo) each
        # time of a page of 1,000 entries was converted twice: 2.9 against 1.4 ms to fetch them.
        return create_engine(url, hide_parameters=True, pool_pre_ping=True, pool_size=10, max_overflow=10,
                             connect_args={"options": "-c TimeZone=UTC"})
    raise ValueError(f"unsupported database URL scheme {parsed.drivername!r}: use sqlite:/// or postgresql+psycopg://")


# An execution option of the snapshot factory's engine (see _WriterTurns.begin).
_SQLITE_SNAPSHOT = "tac_sqlite_snapshot"


_BUSY_TIMEOUT_S = 30


class _WriterTurns:
    """The writers of one SQLite file in this process take turns at its single writer lock here,
    in a Python lock, before BEGIN IMMEDIATE. Waiting in SQLite's busy handler instead, a writer
    sleeps in steps of up to 100 ms and keeps losing the lock to writers that ask at the right
    moment, so a read's access-log write or the consumer's next batch may wait far longer than
    the transactions ahead of it last. A thread waiting here is woken the moment the lock is let
    go. Writers in other processes still meet the busy handler.

    The turn ends with the transaction (SQLAlchemy's commit and rollback events), which also
    fire when a connection is closed or returned to the pool mid-transaction."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def begin(self, conn) -> None:
        if conn.get_execution_options().get(_SQLITE_SNAPSHOT, False):
            conn.exec_driver_sql("BEGIN")  # a snapshot: no writer lock, no turn
            return
        if not self._lock.acquire(timeout=_BUSY_TIMEOUT_S):
            raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError(
                f"database is locked: no writer turn in {_BUSY_TIMEOUT_S}s"))
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise
        conn.info[_TURN] = True

    def end(self, conn) -> None:
        if conn.info.pop(_TURN, False):
            self._lock.release()


_TURN = "tac_writer_turn"
_TURNS: dict[str, _WriterTurns] = {}
_TURNS_LOCK = threading.Lock()


def _writer_turns(database: str) -> _WriterTurns:
    """One turnstile per database file in the process (several engines may share a file)."""
    key = database if database == ":memory:" else str(Path(database).resolve())
    with _TURNS_LOCK:
        return _TURNS.setdefault(key, _WriterTurns())


class _BackgroundCheckpoints:
    """Copies a SQLite file's WAL into the database on a thread of its own, so that the copy
    runs on the other core while the writer goes on (sqlite3 lets go of the GIL while SQLite
    works).

    Without it every checkpoint runs in the committing thread when the WAL reaches
    `wal_autocheckpoint` pages, and as the store grows the copy is most of committing: a
    batch writes pages all over the entries' child-and-time index, since children's ids are
    random (bench/results/sqlite-growth-*.md). With it that automatic checkpoint still runs
    but finds nearly everything already copied; and because it runs in the writer's thread,
    between its transactions, the WAL restarts after it and stays bounded (a checkpoint on
    another thread alone never catches a writer that never pauses: the WAL grew to 904 MB in
    200,000 events).

    PASSIVE: it waits for no reader or writer and skips what a reader's snapshot still needs
    (SQLite docs, "PRAGMA wal_checkpoint"). Woken by commits, it copies at most every
    `_CHECKPOINT_EVERY_S`; idle for `_CHECKPOINT_IDLE_S` it closes its connection and ends,
    and the next commit starts it again. A failure is logged and left to the automatic
    checkpoint."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def after_commit(self, conn) -> None:
        if conn.info.get(_TURN):  # a writer's (a snapshot's commit wrote nothing)
            self.nudge()

    def nudge(self) -> None:
        self._wake.set()
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sqlite-checkpoints", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        connection = None
        try:
            connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, timeout=0)
            connection.execute("PRAGMA synchronous=NORMAL")  # as the writers': the copy is synced as theirs were
            while True:
                if not self._wake.wait(_CHECKPOINT_IDLE_S):
                    with self._lock:
                        if not self._wake.is_set():
                            self._thread = None
                            return
                self._wake.clear()
                time.sleep(_CHECKPOINT_EVERY_S)  # the commits of the next moment, copied together
                # fetchall: a statement left unfinished would keep a read mark, and the WAL could not restart.
                _busy, wal_pages, _copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()[0]
                if wal_pages > _WAL_BOUND_PAGES:
                    # Checkpointing all the time, this thread can keep the writer's own from
                    # running (one at a time; a busy one is skipped), and then nothing restarts
                    # the WAL (it reached 1.4 GB at 300,000 events with no pause): step aside.
                    time.sleep(_STEP_ASIDE_S)
        except Exception as exc:  # noqa: BLE001 - the automatic checkpoint still copies everything
            log.warning("background checkpoint of %s stopped (%r); SQLite's automatic one goes on", self._path, exc)
            with self._lock:
                self._thread = None
        finally:
            if connection is not None:
                connection.close()


# Every 20 ms: committing took 21 us an event at 300,000 events, against 36 copying every 100 ms
# and 50 with the automatic checkpoint alone (bench/results/sqlite-growth-2026-12-03.md).
_CHECKPOINT_EVERY_S = 0.02
_CHECKPOINT_IDLE_S = 2.0
# SQLite's automatic checkpoint, in the committing thread (_configure_sqlite).
_WAL_AUTOCHECKPOINT_PAGES = 10_000
# Beyond twice that, the writer's checkpoint is not getting its turn.
_WAL_BOUND_PAGES = 2 * _WAL_AUTOCHECKPOINT_PAGES
_STEP_ASIDE_S = 0.5
_CHECKPOINTS: dict[str, _BackgroundCheckpoints] = {}


def _checkpoints(database: str) -> _BackgroundCheckpoints:
    """One checkpointing thread per database file in the process."""
    key = str(Path(database).resolve())
    with _TURNS_LOCK:
        return _CHECKPOINTS.setdefault(key, _BackgroundCheckpoints(key))


def make_snapshot_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reads that write nothing, each one consistent snapshot of committed state.

    SQLite: a deferred BEGIN, so a read never queues for the single writer lock behind the
    consumer's batches and the other writers (with BEGIN IMMEDIATE, reads took turns with them
    and waited out SQLite's sleeping busy handler: a profile of the timeline under the journeys
    benchmark found 438 of 698 busy worker-thread samples waiting in BEGIN IMMEDIATE); WAL gives
    the read its snapshot at its first SELECT.
    PostgreSQL: REPEATABLE READ, READ ONLY, the same snapshot for every statement. A session
    from here must not write: SQLite may refuse the write with SQLITE_BUSY, PostgreSQL always."""
    if engine.dialect.name == "sqlite":
        bound = engine.execution_options(**{_SQLITE_SNAPSHOT: True})
    else:
        bound = engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    return sessionmaker(bound, expire_on_commit=False)


def make_recorded_read_factory(engine: Engine) -> sessionmaker[Session] | None:
    """Sessions for a read that records itself (the timeline's access log): one snapshot for
    every query of the read, and the record written in the same transaction. PostgreSQL:
    REPEATABLE READ, read-write. It only INSERTs rows with new keys, which never meet a
    serialization failure (PostgreSQL docs, "Transaction Isolation": only UPDATE, DELETE and
    row locks do). SQLite: None, since a write there takes the single writer's turn, which a
    read must not queue for: the read takes a snapshot and then writes its record in a
    transaction of its own."""
    if engine.dialect.name == "sqlite":
        return None
    return sessionmaker(engine.execution_options(isolation_level="REPEATABLE READ"), expire_on_commit=False)


def is_transient(exc: BaseException) -> bool:
    """A database failure worth retrying as it is (the database is away, busy or restarting),
    as opposed to one that the same work would hit again and again."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def database_ready(engine: Engine) -> bool:
    """The readiness probe's database half: a round trip."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return True


def _configure_sqlite(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # see the "begin" listener above
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Checkpoint (copy the WAL into the database file) after 10,000 pages instead of SQLite's
    # 1,000: a batch of 500 entries dirties hundreds of pages (its keys are random UUIDs), so at
    # 1,000 nearly every commit also ran a checkpoint, which was half of committing a batch
    # (bench/results/ingest-stages-2026-12-02-sqlite.md: 25 against 53 us an event). The WAL
    # then grows to ~40 MB. With synchronous=NORMAL a commit is durable against a crash of the
    # process (SIGKILL) either way; against power loss only once checkpointed (SQLite docs,
    # "PRAGMA synchronous"), which is what PostgreSQL, the production store, is for. Most of
    # what this checkpoint would copy is copied beforehand on a thread of its own
    # (_BackgroundCheckpoints), which make_engine starts for a file.
    cursor.execute(f"PRAGMA wal_autocheckpoint={_WAL_AUTOCHECKPOINT_PAGES}")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def run_migrations(url: str, script_location: str) -> None:
    """`alembic upgrade head` for one service's migrations, against `url`."""
    config = Config()
    config.set_main_option("script_location", script_location)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


def migrate_online(target_metadata: MetaData) -> None:
    """The body of every service's Alembic `env.py` (called through `run_migrations`, which
    puts the URL in the config). The engine comes from `make_engine`, so SQLite gets the same
    WAL and foreign-key settings as the service."""
    from alembic import context

    if context.is_offline_mode():
        raise SystemExit("TAC migrations run online only (services.common.db.run_migrations)")
    engine = make_engine(context.config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                # Replicas starting together (k8s initContainers) take turns: the second finds
                # the store at head. A session lock, released when the connection closes.
                connection.execute(text("SELECT pg_advisory_lock(hashtext('tac-migrations'))"))
                connection.commit()
            context.configure(connection=connection, target_metadata=target_metadata)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()
