"""Applying a move in one transaction: node-level values, journal, node rows, locks, undo.

Each test runs on SQLite and PostgreSQL. The cluster is snmove.md §17's (names resolve
through ``hosts``), with scenario 9's group row for cn3 and cn4.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from snflow.models import db
from snflow.models.journal import (
    JOURNAL_TABLES,
    MoveRecord,
    NodeWork,
    UnknownRunError,
    find_run,
    load_entries,
    load_work,
    set_node_status,
)
from snflow.models.locks import LockHolder, NodesLocked, lock_holders, release_locks
from snflow.models.schema import TABLES
from snflow.models.snmove import MoveOptions, plan_move
from snflow.models.snmove_apply import (
    Holder,
    StalePlanError,
    UndoConflictError,
    apply_move,
    apply_undo,
)
from snflow.models.snmove_read import MoveContext, read_move_state

CLUSTER: dict[str, list[dict[str, str]]] = {
    "site": [{"key": "master", "value": "mn"}, {"key": "domain", "value": "cluster.com"}],
    "nodelist": [
        {"node": "cn1", "groups": "compute"},
        {"node": "cn2", "groups": "compute"},
        {"node": "cn3", "groups": "rack1,compute"},
        {"node": "cn4", "groups": "rack1,compute"},
        {"node": "sn1", "groups": "service"},
        {"node": "sn2", "groups": "service"},
    ],
    "noderes": [
        {
            "node": "cn1",
            "servicenode": "sn1,sn2",
            "xcatmaster": "sn1-c",
            "tftpserver": "sn1-c",
            "nfsserver": "sn1-c",
            "monserver": "sn1,sn1-c",
        },
        {"node": "cn2", "servicenode": "sn1,sn2", "xcatmaster": "sn1-c", "netboot": "pxe"},
        {"node": "rack1", "servicenode": "sn1,sn2", "xcatmaster": "sn1-c", "tftpserver": "sn1-c"},
    ],
    "nodehm": [
        {"node": "cn1", "cons": "ipmi", "conserver": "sn1"},
        {"node": "cn2", "cons": "ipmi", "conserver": "sn1"},
    ],
    "hosts": [
        {"node": "sn1", "ip": "192.168.1.1", "otherinterfaces": "sn1-c:10.0.0.1"},
        {"node": "sn2", "ip": "192.168.1.2", "otherinterfaces": "sn2-c:10.0.0.2"},
        *({"node": f"cn{i}", "ip": f"10.0.1.{i}"} for i in range(1, 5)),
    ],
    "networks": [
        {"net": "10.0.0.0", "mask": "255.255.0.0", "gateway": "10.0.255.254"},
        {"net": "192.168.1.0", "mask": "255.255.255.0"},
    ],
}
ALIVE = Holder(holder="run-a", host="mn", pid=1, alive=lambda _: True)


def seed(url: str, data: Mapping[str, Sequence[Mapping[str, str]]]) -> None:
    with db.transaction(url) as conn:
        for table, rows in data.items():
            for row in rows:
                conn.execute(TABLES[table].insert(), dict(row))


def dump(url: str) -> dict[str, list[tuple]]:
    """Every xCAT table's rows, sorted (snflow's own tables left out)."""
    with db.read_connection(url) as conn:
        return {
            name: sorted(tuple(str(v) for v in row) for row in conn.execute(sa.select(tab)))
            for name, tab in TABLES.items()
        }


@pytest.fixture
def url(db_url: str) -> Iterator[str]:
    seed(db_url, CLUSTER)
    yield db_url


def context(url: str, **options: object) -> tuple[MoveContext, MoveOptions]:
    opts = MoveOptions.create(**options)
    with db.read_connection(url) as conn:
        return read_move_state(conn, opts), opts


def move(url: str, run_id: str, holder: Holder = ALIVE, **options: object) -> None:
    ctx, opts = context(url, **options)
    plan = plan_move(ctx.state, opts, ctx.selected)
    assert not plan.errors, plan.errors
    record = MoveRecord(run_id=run_id, kind="move", request="{}")
    with db.transaction(url) as conn:
        apply_move(conn, record, plan, ctx.mark, holder)


def noderes(url: str, node: str) -> dict[str, str | None] | None:
    with db.read_connection(url) as conn:
        tab = TABLES["noderes"]
        row = conn.execute(sa.select(tab).where(tab.c.node == node)).mappings().first()
    return None if row is None else {k: v for k, v in row.items() if v is not None}


def test_the_migration_creates_the_journal_tables_as_the_model_declares(db_url: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(db.__file__).with_name("migrations")))
    assert ScriptDirectory.from_config(config).get_current_head() == db.HEAD_REVISION
    engine = db.get_engine(db_url)
    inspector = sa.inspect(engine)
    for name, table in JOURNAL_TABLES.items():
        columns = {c["name"]: c for c in inspector.get_columns(name)}
        assert list(columns) == [c.name for c in table.columns]
        assert {c["name"] for c in columns.values() if not c["nullable"]} == {
            c.name for c in table.columns if not c.nullable
        }
        assert inspector.get_pk_constraint(name)["constrained_columns"] == [
            c.name for c in table.primary_key.columns
        ]


def test_a_move_writes_node_rows_a_journal_entry_per_attribute_and_locks(url: str) -> None:
    move(url, "run-1", noderange="cn1,cn3", dest_n="sn2-c", ignore_nodes=True)
    assert noderes(url, "cn1") == {
        "node": "cn1",
        "servicenode": "sn2,sn1",
        "xcatmaster": "sn2-c",
        "tftpserver": "sn2-c",
        "nfsserver": "sn2-c",
        "monserver": "sn2,sn2-c",
    }
    # Scenario 9: cn3 inherited from rack1; it gets its own row, rack1 and cn4 are untouched.
    assert noderes(url, "cn3") == {
        "node": "cn3",
        "servicenode": "sn2,sn1",
        "xcatmaster": "sn2-c",
        "tftpserver": "sn2-c",
    }
    assert noderes(url, "rack1")["servicenode"] == "sn1,sn2"
    assert noderes(url, "cn4") is None
    with db.read_connection(url) as conn:
        entries = load_entries(conn, "run-1")
        work = {w.node: w for w in load_work(conn, "run-1")}
        holders = lock_holders(conn, ["cn1", "cn2", "cn3"])
        record = find_run(conn, "run-1")
    by_attr = {(e.node, f"{e.table}.{e.column}"): e for e in entries}
    assert len(entries) == 6 + 3
    conserver = by_attr[("cn1", "nodehm.conserver")]
    assert (conserver.old, conserver.new, conserver.row_created) == ("sn1", "sn2", False)
    inherited = by_attr[("cn3", "noderes.servicenode")]
    assert (inherited.old, inherited.old_effective, inherited.row_created) == (
        None,
        "sn1,sn2",
        True,
    )
    assert work["cn1"].new_sn == "sn2" and work["cn1"].old_sn == "sn1"
    assert work["cn1"].status == "pending" and not work["cn1"].run_on_node
    assert "nodehm.conserver" in work["cn1"].changed
    assert set(holders) == {"cn1", "cn3"}
    assert holders["cn1"].run_id == "run-1" and holders["cn1"].holder == "run-a"
    assert record.kind == "move" and record.state == "applied"


def test_a_second_move_of_locked_nodes_is_refused_naming_the_holder(url: str) -> None:
    move(url, "run-1", noderange="cn1", dest_n="sn2-c", ignore_nodes=True)
    before = dump(url)
    other = Holder(holder="run-b", host="mn", pid=2, alive=lambda _: True)
    with pytest.raises(NodesLocked, match=r"cn1 are being moved by snmove run run-1"):
        move(url, "run-2", holder=other, noderange="cn1,cn2", dest="sn1", dest_n="sn1-c")
    assert dump(url) == before
    with db.transaction(url) as conn:
        assert release_locks(conn, "run-a") == 1
    move(url, "run-2", holder=other, noderange="cn1,cn2", dest="sn1", dest_n="sn1-c")
    assert noderes(url, "cn1")["servicenode"] == "sn1,sn2"


def test_a_dead_holders_locks_are_named_with_what_to_do_and_taken_over_by_resume(
    url: str,
) -> None:
    dead = Holder(holder="run-a", host="mn", pid=1, alive=lambda _: False)
    move(url, "run-1", holder=dead, noderange="cn1", dest_n="sn2-c", ignore_nodes=True)
    other = Holder(holder="run-b", host="mn", pid=2, alive=lambda _: False)
    with pytest.raises(NodesLocked, match=r"process is gone.*--resume run-1"):
        move(url, "run-2", holder=other, noderange="cn1", dest="sn1", dest_n="sn1-c")
    from snflow.models.snmove_apply import lock_nodes

    with db.transaction(url) as conn:
        lock_nodes(conn, ["cn1"], "run-1", other)
        assert lock_holders(conn, ["cn1"])["cn1"].holder == "run-b"


def test_a_plan_read_before_another_move_applied_is_stale(url: str) -> None:
    ctx, opts = context(url, noderange="cn2", dest_n="sn2-c", ignore_nodes=True)
    move(url, "run-1", noderange="cn2", dest_n="sn2-c", ignore_nodes=True)
    with db.transaction(url) as conn:
        release_locks(conn, "run-a")
    plan = plan_move(ctx.state, opts, ctx.selected)
    record = MoveRecord(run_id="run-2", kind="move", request="{}")
    with pytest.raises(StalePlanError, match="cn2"), db.transaction(url) as conn:
        apply_move(conn, record, plan, ctx.mark, ALIVE)


def test_undo_restores_exactly_the_database_before_the_move(url: str) -> None:
    before = dump(url)
    move(url, "run-1", noderange="cn1,cn2,cn3", dest_n="sn2-c", ignore_nodes=True)
    with db.transaction(url) as conn:
        release_locks(conn, "run-a")
        entries, work = load_entries(conn, "run-1"), load_work(conn, "run-1")
        record = MoveRecord(run_id="undo-1", kind="undo", target_run="run-1", request="{}")
        undo_work = apply_undo(conn, record, entries, work, ALIVE)
        release_locks(conn, "run-a")
    assert dump(url) == before
    by_node = {w.node: w for w in undo_work}
    assert by_node["cn3"].new_sn == "sn1" and by_node["cn3"].new_master == "sn1-c"
    assert by_node["cn1"].master_ip == "10.0.0.1"
    with db.read_connection(url) as conn:
        assert len(load_entries(conn, "undo-1")) == len(entries)


def test_undo_refuses_attributes_changed_since_and_writes_nothing(url: str) -> None:
    move(url, "run-1", noderange="cn1", dest_n="sn2-c", ignore_nodes=True)
    with db.transaction(url) as conn:
        release_locks(conn, "run-a")
        tab = TABLES["noderes"]
        conn.execute(tab.update().where(tab.c.node == "cn1").values(xcatmaster="elsewhere"))
    before = dump(url)
    record = MoveRecord(run_id="undo-1", kind="undo", target_run="run-1", request="{}")
    conflict = r"cn1: noderes\.xcatmaster is elsewhere"
    with pytest.raises(UndoConflictError, match=conflict), db.transaction(url) as conn:
        apply_undo(conn, record, load_entries(conn, "run-1"), load_work(conn, "run-1"), ALIVE)
    assert dump(url) == before


def test_runs_are_found_by_id_or_prefix_and_node_status_is_recorded(url: str) -> None:
    move(url, "0123456789abcdef", noderange="cn1", dest_n="sn2-c", ignore_nodes=True)
    with db.transaction(url) as conn:
        set_node_status(conn, "0123456789abcdef", [("cn1", "skipped", "cn1 is down")])
    with db.read_connection(url) as conn:
        assert find_run(conn, "01234567").run_id == "0123456789abcdef"
        assert load_work(conn, "0123456789abcdef")[0].status == "skipped"
        with pytest.raises(UnknownRunError, match="nosuchrun is not a run"):
            find_run(conn, "nosuchrun")


def test_lock_holder_is_comparable_for_grouping_messages() -> None:
    a = LockHolder(run_id="r", holder="h", host="mn", pid=1, since="t")
    assert {a: 1}[LockHolder(run_id="r", holder="h", host="mn", pid=1, since="t")] == 1


def test_work_rows_carry_every_column_of_move_nodes_and_every_field_of_node_work() -> None:
    from snflow.models import journal

    assert set(journal._WORK_COLUMNS) == set(journal.move_nodes.c.keys())
    assert set(journal._WORK_COLUMNS) == {*NodeWork.model_fields, "run_id", "updated"}
    assert set(journal._ENTRY_COLUMNS) == set(journal.journal.c.keys()) - {"id"}
