"""Set-based writes of many rows: a few statements per table, whatever the row count.

SQLAlchemy's ``executemany`` builds a parameter dict per row in Python, and psycopg then
sends one statement per row (pipelined): a 10,000-node move writes ~70,000 rows and spent
seconds there. Here the rows go to the database in bulk:

- PostgreSQL: inserts by ``COPY`` (psycopg formats rows in C); updates and deletes read
  the rows as ``unnest`` of one binary array parameter per column (a statement with
  thousands of ``%s`` costs psycopg more to parse than the server to run);
- SQLite: multi-row ``VALUES`` with ``?`` placeholders, in batches under its limit;

as one relation ``v``: ``INSERT .. SELECT .. FROM v``, ``UPDATE .. FROM v``, ``DELETE ..
WHERE EXISTS``. Values go to the driver as data, never into the SQL text; names in the
SQL are the schema's columns (``table.c[name]``, which raises for any other), quoted by
the dialect.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = ["delete_rows", "insert_rows", "update_rows"]

#: One row's values, in the order of the columns the call names.
Row = Sequence[object]

# SQLite allows 32,766 parameters per statement: batches stay under it.
_SQLITE_MAX_PARAMS = 30_000


def insert_rows(
    conn: Connection, table: sa.Table, columns: Sequence[str], rows: Sequence[Row]
) -> int:
    """``INSERT`` ``rows`` (values of ``columns``, in that order) into ``table``."""
    cols = [table.c[c] for c in columns]
    into = f"{_table(conn, table)} ({', '.join(_quote(conn, c) for c in cols)})"
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        driver = conn.connection.driver_connection
        with _driver_errors(conn, f"COPY {into}"), driver.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(f"COPY {into} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return int(cursor.rowcount)
    return _sqlite_batches(conn, f"INSERT INTO {into} VALUES ", "", len(cols), rows)  # noqa: S608


def update_rows(
    conn: Connection,
    table: sa.Table,
    keys: Sequence[str],
    columns: Sequence[str],
    rows: Sequence[Row],
) -> int:
    """Set ``columns`` of the ``table`` rows whose ``keys`` columns match, from ``rows``.

    Each row is the current values of ``keys`` then the new values of ``columns`` (a key
    column may be among ``columns``: the row is renamed). Returns the rows updated.
    """
    if not columns or not rows:
        return 0
    key_cols, set_cols = [table.c[k] for k in keys], [table.c[c] for c in columns]
    target, refs = _table(conn, table), _refs(conn, len(keys) + len(columns))
    sets = ", ".join(
        f"{_quote(conn, c)} = {ref}" for c, ref in zip(set_cols, refs[len(keys) :], strict=True)
    )
    match = _match(conn, target, key_cols, refs)
    if conn.dialect.name == "postgresql":
        source = _unnest(conn, key_cols + set_cols)
        sql = f"UPDATE {target} SET {sets} FROM {source} WHERE {match}"  # noqa: S608
        return _postgres(conn, sql, rows)
    head = f"UPDATE {target} SET {sets} FROM (VALUES "  # noqa: S608
    return _sqlite_batches(conn, head, f") AS v WHERE {match}", len(refs), rows)


def delete_rows(conn: Connection, table: sa.Table, keys: Sequence[str], rows: Sequence[Row]) -> int:
    """``DELETE`` the ``table`` rows whose ``keys`` columns have the values of one of ``rows``."""
    if not rows:
        return 0
    key_cols = [table.c[k] for k in keys]
    target, refs = _table(conn, table), _refs(conn, len(keys))
    match = _match(conn, target, key_cols, refs)
    if conn.dialect.name == "postgresql":
        source = _unnest(conn, key_cols)
        sql = f"DELETE FROM {target} WHERE EXISTS (SELECT 1 FROM {source} WHERE {match})"  # noqa: S608
        return _postgres(conn, sql, rows)
    head = f"DELETE FROM {target} WHERE EXISTS (SELECT 1 FROM (VALUES "  # noqa: S608
    return _sqlite_batches(conn, head, f") AS v WHERE {match})", len(refs), rows)


def _postgres(conn: Connection, sql: str, rows: Sequence[Row]) -> int:
    columns = tuple(list(column) for column in zip(*rows, strict=True))
    return int(conn.exec_driver_sql(sql, columns).rowcount)


def _sqlite_batches(conn: Connection, head: str, tail: str, width: int, rows: Sequence[Row]) -> int:
    # The statement must start with its DML keyword: pysqlite opens the transaction (and
    # counts rows) only for statements that do; a leading WITH would run in autocommit.
    group = "(" + ", ".join(["?"] * width) + ")"
    per_batch = max(1, _SQLITE_MAX_PARAMS // width)
    count = 0
    for start in range(0, len(rows), per_batch):
        batch = rows[start : start + per_batch]
        sql = head + ", ".join([group] * len(batch)) + tail
        count += conn.exec_driver_sql(sql, tuple(itertools.chain.from_iterable(batch))).rowcount
    return count


def _unnest(conn: Connection, columns: Sequence[sa.Column]) -> str:
    """PostgreSQL's row source: one binary array parameter per column, typed as the column."""
    arrays = ", ".join(f"%b::{c.type.compile(dialect=conn.dialect)}[]" for c in columns)
    names = ", ".join(f"c{i}" for i in range(len(columns)))
    return f"unnest({arrays}) AS v ({names})"


def _refs(conn: Connection, width: int) -> list[str]:
    """How the statement names the row source's columns (SQLite's VALUES: column1..)."""
    if conn.dialect.name == "postgresql":
        return [f"v.c{i}" for i in range(width)]
    return [f"v.column{i + 1}" for i in range(width)]


def _match(conn: Connection, target: str, keys: Sequence[sa.Column], refs: Sequence[str]) -> str:
    # ``refs`` start with the keys' columns (the values follow them).
    return " AND ".join(
        f"{target}.{_quote(conn, k)} = {ref}" for k, ref in zip(keys, refs, strict=False)
    )


@contextlib.contextmanager
def _driver_errors(conn: Connection, statement: str) -> Iterator[None]:
    """Raise the driver's errors as SQLAlchemy's (IntegrityError, ...), as execute() does."""
    dbapi = conn.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(statement, None, exc, dbapi.Error) from exc


def _quote(conn: Connection, column: sa.Column) -> str:
    return conn.dialect.identifier_preparer.quote(column.name)


def _table(conn: Connection, table: sa.Table) -> str:
    return conn.dialect.identifier_preparer.format_table(table)
