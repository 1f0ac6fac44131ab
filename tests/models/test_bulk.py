"""Set-based row writes (models.bulk) on SQLite and PostgreSQL: the rows that land."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from snflow.models import db
from snflow.models.bulk import delete_rows, insert_rows, update_rows
from snflow.models.journal import journal, locks
from snflow.models.schema import TABLES

NODERES = TABLES["noderes"]
# Quotes, percent signs, placeholders, SQL and backslashes must arrive as plain text.
AWKWARD = [
    "it's",
    'a "b"',
    "100%",
    "%s",
    "?",
    "'); DROP TABLE noderes; --",
    "back\\slash",
    "tab\tnl\n",
]


def _noderes(url: str) -> dict[str, tuple[str | None, str | None]]:
    with db.read_connection(url) as conn:
        query = sa.select(NODERES.c.node, NODERES.c.xcatmaster, NODERES.c.tftpserver)
        return {node: (master, tftp) for node, master, tftp in conn.execute(query)}


def test_insert_update_delete_round_trip_awkward_values(db_url: str) -> None:
    rows = [(f"cn{i}", value, None) for i, value in enumerate(AWKWARD)]
    with db.transaction(db_url) as conn:
        assert insert_rows(conn, NODERES, ("node", "xcatmaster", "tftpserver"), rows) == len(rows)
    assert _noderes(db_url) == {n: (m, t) for n, m, t in rows}

    with db.transaction(db_url) as conn:
        changed = update_rows(
            conn, NODERES, ("node",), ("tftpserver",), [("cn1", "%s"), ("cn2", None)]
        )
        assert changed == 2
        delete_rows(conn, NODERES, ("node",), [("cn0",), ("nosuch",)])
    after = _noderes(db_url)
    assert "cn0" not in after and after["cn1"] == ('a "b"', "%s") and after["cn2"] == ("100%", None)
    assert after["cn3"] == ("%s", None) and len(after) == len(rows) - 1


def test_an_update_may_rename_the_key(db_url: str) -> None:
    with db.transaction(db_url) as conn:
        insert_rows(conn, NODERES, ("node", "xcatmaster"), [("old", "sn1"), ("other", "sn2")])
        assert (
            update_rows(conn, NODERES, ("node",), ("node", "xcatmaster"), [("old", "new", "sn3")])
            == 1
        )
    assert _noderes(db_url) == {"new": ("sn3", None), "other": ("sn2", None)}


def test_booleans_integers_and_two_column_keys(db_url: str) -> None:
    with db.transaction(db_url) as conn:
        cols = (
            "run_id",
            "node",
            "tbl",
            "col",
            "old_value",
            "new_value",
            "old_effective",
            "row_created",
        )
        insert_rows(
            conn, journal, cols, [("r1", "cn1", "noderes", "xcatmaster", None, "x", None, True)]
        )
        lock = ("node", "run_id", "holder", "host", "pid", "since")
        insert_rows(
            conn,
            locks,
            lock,
            [("cn1", "r1", "h1", "mn", 41, "t"), ("cn2", "r1", "h2", "mn", 42, "t")],
        )
        # Keyed by node *and* holder: cn2's row names another holder and stays.
        taken = update_rows(
            conn,
            locks,
            ("node", "holder"),
            ("holder", "pid"),
            [("cn1", "h1", "h9", 7), ("cn2", "h1", "h9", 7)],
        )
        assert taken == 1
    with db.read_connection(db_url) as conn:
        assert conn.execute(sa.select(journal.c.row_created, journal.c.old_value)).all() == [
            (True, None)
        ]
        query = sa.select(locks.c.node, locks.c.holder, locks.c.pid)
        got = {node: (holder, pid) for node, holder, pid in conn.execute(query)}
    assert got == {"cn1": ("h9", 7), "cn2": ("h2", 42)}


def test_more_rows_than_one_statement_takes(db_url: str) -> None:
    # 3 columns × 12,000 rows passes SQLite's 32,766-parameter limit: several batches.
    rows = [(f"n{i:05d}", f"sn{i % 7}", None) for i in range(12_000)]
    with db.transaction(db_url) as conn:
        insert_rows(conn, NODERES, ("node", "xcatmaster", "tftpserver"), rows)
        moved = update_rows(conn, NODERES, ("node",), ("tftpserver",), [(n, m) for n, m, _ in rows])
        assert moved == len(rows)
    assert _noderes(db_url) == {n: (m, m) for n, m, _ in rows}


def test_a_failed_write_leaves_the_transaction_to_the_caller(db_url: str) -> None:
    with db.transaction(db_url) as conn:
        insert_rows(conn, NODERES, ("node", "xcatmaster"), [("cn1", "sn1")])
    with pytest.raises(sa.exc.IntegrityError), db.transaction(db_url) as conn:
        insert_rows(conn, NODERES, ("node",), [("cn2",)])
        insert_rows(conn, NODERES, ("node",), [("cn1",)])  # duplicate key: all of it rolls back
    assert _noderes(db_url) == {"cn1": ("sn1", None)}


def test_only_the_tables_own_columns_reach_the_sql(db_url: str) -> None:
    with db.transaction(db_url) as conn, pytest.raises(KeyError):
        insert_rows(conn, NODERES, ("node", "xcatmaster) VALUES ('x'); --"), [("cn1", "x")])
