"""One INSERT of many rows, for a consumer's batch: what a unit of work queued with `add_row`, and
the claims of the batch's event ids.

On SQLite the rows go to the driver's `executemany` with their parameters made ready here: the
statement and each column's bind processor are SQLAlchemy's own, worked out once per table and
columns, and only the columns that have a processor (times, on SQLite) are converted. SQLAlchemy's
executemany builds and processes a parameter dictionary per row instead, which was 15% of the
ingest thread's time in a profile of the rebuild (construct_params, _init_compiled and the SQLite
DATETIME processor: bench/results/profile-rebuild-2026-12-03-sqlite.txt). Inserting a batch's
entries went from 26.3-27.1 to 15.0-16.2 µs an event, its claims from 24.7-25.3 to 12.8-20.8
(bench/results/ingest-stages-2026-12-03-sqlite-*-turn*.md). A time repeated down a column (the
batch's `stored_at`, its claims' `processed_at`) is converted once.

On PostgreSQL the rows go through `COPY … FROM STDIN` (psycopg's `Cursor.copy`, whose
`write_row` is C code in psycopg's binary build), in the session's transaction: a stream of
rows, where SQLAlchemy sent multi-row INSERTs ("insertmanyvalues") of bound parameters, each
parameter adapted by the driver one by one. Inserting a batch's entries took 50-71 µs an event
that way and 19-20 by COPY, its claims 27-47 and 8-25 (in process, the two checkouts in turns:
bench/results/ingest-stages-2026-12-03-postgresql-*-turn*.md).
COPY fills in a column's server default but not SQLAlchemy's Python-side one, which the plan
refuses for both stores; its driver errors are wrapped as SQLAlchemy wraps an execute's (a
unique violation is an IntegrityError, a lost connection an OperationalError, the connection
invalidated), so the consumer's transient-error retry sees the same exceptions either way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import Table, insert
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session


class _Plan(NamedTuple):
    sql: str  # the INSERT with positional parameters (SQLite), or the COPY (PostgreSQL)
    values: Callable[[Mapping[str, Any]], tuple[Any, ...]]  # a row's values, in the statement's order
    processed: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, bind processor)


@lru_cache(maxsize=256)
def _plan(table: Table, columns: tuple[str, ...], dialect: Dialect) -> _Plan:
    compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
    # The bound parameters in the statement's order: positional (SQLite's qmark) or named (psycopg's).
    order = tuple(compiled.positiontup or ()) if compiled.positional else tuple(compiled.params)
    if sorted(order) != sorted(columns):  # a column default SQLAlchemy would fill in: not done here
        raise ValueError(f"{table.name}: the INSERT's parameters {order} are not the rows' columns {columns}")
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in order]
    processed = tuple((i, process) for i, process in enumerate(processors) if process is not None)
    values = itemgetter(*order) if len(order) > 1 else (lambda row: (row[order[0]],))
    sql = compiled.string
    if dialect.name == "postgresql":
        quote = dialect.identifier_preparer
        sql = f"COPY {quote.format_table(table)} ({', '.join(quote.quote(name) for name in order)}) FROM STDIN"
    return _Plan(sql, values, processed)  # type: ignore[arg-type]


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (each with the same columns, as SQLAlchemy's executemany requires) into
    `table`, in the session's transaction."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name not in ("sqlite", "postgresql"):
        session.execute(insert(table), rows)
        return
    plan = _plan(table, tuple(rows[0]), dialect)
    parameters = [plan.values(row) for row in rows]
    if plan.processed:
        columns = list(zip(*parameters))
        for i, process in plan.processed:
            columns[i] = _converted(columns[i], process)
        parameters = list(zip(*columns))
    if dialect.name == "sqlite":
        connection.exec_driver_sql(plan.sql, parameters)
    else:
        _copy(connection, plan.sql, parameters)


def _copy(connection: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """`rows` through psycopg's COPY on the connection's own transaction; a driver error is
    raised as SQLAlchemy raises an execute's (SQLAlchemy has no COPY of its own)."""
    dbapi_connection = connection.connection.dbapi_connection
    dialect = connection.dialect
    try:
        with dbapi_connection.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    except dialect.loaded_dbapi.Error as exc:
        lost = dialect.is_disconnect(exc, dbapi_connection, None)
        if lost:
            connection.invalidate(exc)
        raise DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error, connection_invalidated=lost,
                                  dialect=dialect) from exc


def _converted(column: Sequence[Any], process: Callable[[Any], Any]) -> list[Any]:
    """`process` of each value, a value repeated from the row before converted only once."""
    out: list[Any] = []
    last_in: Any = out  # a value no row holds
    last_out: Any = None
    for value in column:
        if value is not last_in:
            last_in, last_out = value, process(value)
        out.append(last_out)
    return out
