"""snflow's own tables for moves: the journal of attribute changes, per-node work, locks.

Every attribute a move (or an undo) changes is one :class:`JournalEntry` of its flow run:
node, ``table.column``, the node row's own value before and after (``None``: no value of
its own, i.e. inherited or unset), and the effective value before (for reports). Each moved
node also has a :class:`NodeWork` row: where it goes, what runs on it, and how far it got
(``pending`` → ``done`` / ``skipped`` / ``failed``), so a killed run can be finished by
``--resume`` and undone exactly by ``--undo``. :class:`MoveRecord` is the run itself.

The tables are created by the migration ``0002_snmove_journal`` (this module mirrors it;
a test compares both). Functions here take the caller's connection: the writes of one move
happen in the caller's single transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Connection

from snflow.models.bulk import insert_rows, update_rows
from snflow.models.errors import SnflowError

__all__ = [
    "JOURNAL_TABLES",
    "JournalEntry",
    "MoveKind",
    "MoveRecord",
    "NodeStatus",
    "NodeWork",
    "UnknownRunError",
    "find_run",
    "journal_mark",
    "load_entries",
    "load_work",
    "nodes_changed_since",
    "now",
    "set_move_state",
    "set_node_status",
    "write_move",
]

metadata = sa.MetaData()
_RUN = sa.String(64)
_NODE = sa.String(128)

moves = sa.Table(
    "snflow_moves",
    metadata,
    sa.Column("run_id", _RUN, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("target_run", _RUN),
    sa.Column("request", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("services", sa.String(16), nullable=False),
    sa.Column("created", sa.String(32), nullable=False),
    sa.Column("updated", sa.String(32), nullable=False),
    sa.Column("notes", sa.Text),
)
journal = sa.Table(
    "snflow_journal",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", _RUN, nullable=False, index=True),
    sa.Column("node", _NODE, nullable=False),
    sa.Column("tbl", sa.String(64), nullable=False),
    sa.Column("col", sa.String(64), nullable=False),
    sa.Column("old_value", sa.Text),
    sa.Column("new_value", sa.Text),
    sa.Column("old_effective", sa.Text),
    sa.Column("row_created", sa.Boolean, nullable=False),
)
move_nodes = sa.Table(
    "snflow_move_nodes",
    metadata,
    sa.Column("run_id", _RUN, primary_key=True),
    sa.Column("node", _NODE, primary_key=True),
    sa.Column("old_sn", sa.Text),
    sa.Column("new_sn", sa.Text, nullable=False),
    sa.Column("old_master", sa.Text),
    sa.Column("new_master", sa.Text, nullable=False),
    sa.Column("master_ip", sa.Text),
    sa.Column("gateway", sa.Text),
    sa.Column("scripts", sa.Text, nullable=False),
    sa.Column("run_on_node", sa.Boolean, nullable=False),
    sa.Column("provmethod", sa.Text),
    sa.Column("changed", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("updated", sa.String(32), nullable=False),
)
locks = sa.Table(
    "snflow_locks",
    metadata,
    sa.Column("node", _NODE, primary_key=True),
    sa.Column("run_id", _RUN, nullable=False),
    sa.Column("holder", _RUN, nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("since", sa.String(32), nullable=False),
)

#: snflow's own tables, by name.
JOURNAL_TABLES: dict[str, sa.Table] = {t.name: t for t in metadata.sorted_tables}

MoveKind = Literal["move", "undo"]
NodeStatus = Literal["pending", "done", "skipped", "failed"]
_FROZEN = ConfigDict(frozen=True)


class UnknownRunError(SnflowError, LookupError):
    """``--resume``/``--undo`` of a run that the journal does not know (or is ambiguous)."""


def now() -> str:
    """The current UTC time as stored in the journal (ISO 8601, seconds)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class JournalEntry(BaseModel):
    """One attribute of one node changed by one run."""

    model_config = _FROZEN

    node: str
    table: str
    column: str
    #: The node row's own value before (``None``: none of its own) and after.
    old: str | None
    new: str | None
    #: What the node had before (inherited values included), for reports.
    old_effective: str | None = None
    #: The node had no row in ``table`` before this run.
    row_created: bool = False


class NodeWork(BaseModel):
    """One moved node: where it goes, what runs on it, how far it got."""

    model_config = _FROZEN

    node: str
    old_sn: str | None = None
    new_sn: str
    old_master: str | None = None
    new_master: str
    #: The new master's address (``MASTER_IP``); ``None`` when unknown.
    master_ip: str | None = None
    #: New default gateway; ``None``: not touched.
    gateway: str | None = None
    scripts: tuple[str, ...] = ()
    run_on_node: bool = True
    provmethod: str | None = None
    #: ``table.column`` of every attribute changed.
    changed: tuple[str, ...] = ()
    status: NodeStatus = "pending"
    detail: str = ""


class MoveRecord(BaseModel):
    """A move or undo run as the journal keeps it."""

    model_config = _FROZEN

    run_id: str
    kind: MoveKind
    target_run: str | None = None
    #: The run's request (JSON of ``SnmoveRequest``): resume needs its options.
    request: str
    state: Literal["applied", "completed", "failed"] = "applied"
    services: Literal["pending", "done", "failed"] = "pending"
    created: str = ""
    updated: str = ""
    notes: str = ""


def journal_mark(conn: Connection) -> int:
    """The newest journal row's id (0 when empty): changes after it are "since the plan"."""
    return int(conn.execute(sa.select(sa.func.max(journal.c.id))).scalar() or 0)


def nodes_changed_since(conn: Connection, mark: int, nodes: Iterable[str]) -> list[str]:
    """Nodes among ``nodes`` that a run journaled after ``mark`` (their plan is stale)."""
    wanted = set(nodes)
    query = sa.select(journal.c.node).where(journal.c.id > mark).distinct()
    return [n for (n,) in conn.execute(query) if n in wanted]


_WORK_COLUMNS = (
    "run_id", "node", "old_sn", "new_sn", "old_master", "new_master", "master_ip", "gateway",
    "scripts", "run_on_node", "provmethod", "changed", "status", "detail", "updated",
)  # fmt: skip


def _work_row(run_id: str, w: NodeWork, stamp: str) -> tuple[object, ...]:
    # In _WORK_COLUMNS' order; attribute reads, not model_dump (10^4 rows per move).
    return (
        run_id, w.node, w.old_sn, w.new_sn, w.old_master, w.new_master, w.master_ip, w.gateway,
        ",".join(w.scripts), w.run_on_node, w.provmethod, ",".join(w.changed), w.status,
        w.detail, stamp,
    )  # fmt: skip


_ENTRY_COLUMNS = (
    "run_id", "node", "tbl", "col", "old_value", "new_value", "old_effective", "row_created",
)  # fmt: skip


def write_move(
    conn: Connection,
    record: MoveRecord,
    entries: Sequence[JournalEntry],
    works: Sequence[NodeWork],
) -> None:
    """Insert the run, its journal rows and its node rows (one statement per table)."""
    stamp = now()
    conn.execute(
        moves.insert(),
        [{**record.model_dump(), "created": record.created or stamp, "updated": stamp}],
    )
    if entries:
        run_id = record.run_id
        insert_rows(
            conn,
            journal,
            _ENTRY_COLUMNS,
            [
                (run_id, e.node, e.table, e.column, e.old, e.new, e.old_effective, e.row_created)
                for e in entries
            ],
        )
    if works:
        rows = [_work_row(record.run_id, w, stamp) for w in works]
        insert_rows(conn, move_nodes, _WORK_COLUMNS, rows)


def find_run(conn: Connection, run: str) -> MoveRecord:
    """The run called ``run`` (its id, or an unambiguous prefix of at least 8 characters).

    :raises UnknownRunError: no such run, or the prefix names several.
    """
    run = run.strip()
    query = sa.select(moves).where(moves.c.run_id == run)
    rows = conn.execute(query).mappings().all()
    if not rows and len(run) >= 8:
        escaped = run.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = sa.select(moves).where(moves.c.run_id.like(escaped + "%", escape="\\"))
        rows = conn.execute(query.limit(2)).mappings().all()
    if len(rows) != 1:
        why = "matches several runs" if rows else "is not a run of snflow snmove"
        raise UnknownRunError(f"{run} {why}")
    row = dict(rows[0])
    row["notes"] = row["notes"] or ""
    return MoveRecord.model_validate(row)


def load_entries(conn: Connection, run_id: str) -> list[JournalEntry]:
    """The journal of ``run_id``, in the order it was written."""
    query = sa.select(journal).where(journal.c.run_id == run_id).order_by(journal.c.id)
    return [
        JournalEntry(
            node=r.node,
            table=r.tbl,
            column=r.col,
            old=r.old_value,
            new=r.new_value,
            old_effective=r.old_effective,
            row_created=bool(r.row_created),
        )
        for r in conn.execute(query)
    ]


def load_work(conn: Connection, run_id: str) -> list[NodeWork]:
    """The node rows of ``run_id`` (any order: callers sort)."""
    query = sa.select(move_nodes).where(move_nodes.c.run_id == run_id)
    works = []
    for r in conn.execute(query).mappings():
        row = {k: v for k, v in r.items() if k not in ("run_id", "updated")}
        row["scripts"] = tuple(s for s in (row["scripts"] or "").split(",") if s)
        row["changed"] = tuple(s for s in (row["changed"] or "").split(",") if s)
        row["detail"] = row["detail"] or ""
        works.append(NodeWork.model_validate(row))
    return works


def set_node_status(
    conn: Connection, run_id: str, outcomes: Iterable[tuple[str, NodeStatus, str]]
) -> None:
    """Record ``(node, status, detail)`` for nodes of ``run_id`` (set-based)."""
    stamp = now()
    rows = [(run_id, node, status, detail, stamp) for node, status, detail in outcomes]
    update_rows(conn, move_nodes, ("run_id", "node"), ("status", "detail", "updated"), rows)


def set_move_state(
    conn: Connection,
    run_id: str,
    *,
    state: str | None = None,
    services: str | None = None,
    notes: str | None = None,
) -> None:
    """Update the run's state, services state and notes (those given)."""
    values: dict[str, str] = {"updated": now()}
    if state is not None:
        values["state"] = state
    if services is not None:
        values["services"] = services
    if notes is not None:
        values["notes"] = notes
    conn.execute(moves.update().where(moves.c.run_id == run_id).values(**values))
