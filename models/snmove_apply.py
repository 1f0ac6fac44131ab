"""Apply a move (or undo one) in one transaction: node-level values, journal, node rows, locks.

:func:`apply_move` writes a :class:`~snflow.models.snmove.MovePlan`: each changed attribute
on the **node's own row** (group rows are never touched; a node that inherited a value gets
a row of its own, as xCAT's ``setobjdefs`` does), one journal entry per attribute, one
:class:`~snflow.models.journal.NodeWork` row per node, and the node locks. Nodes journaled
by another run since the plan was read, or locked by another move, make it raise before
anything is written (the caller's transaction rolls back).

:func:`apply_undo` restores exactly the old values an earlier run journaled (rows that run
created are removed again), after checking that nothing changed them since; it is itself a
journaled run, so an undo can be resumed or undone too.

Everything runs on the caller's connection, inside its single transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from snflow.models.changes import ChangeSet, Staging, apply_changes
from snflow.models.cluster import ClusterView
from snflow.models.defspec import Column
from snflow.models.errors import SnflowError
from snflow.models.gcpause import pauses_gc
from snflow.models.journal import (
    JournalEntry,
    MoveRecord,
    NodeWork,
    nodes_changed_since,
    write_move,
)
from snflow.models.locks import LockHolder, acquire_locks, locked_by_run
from snflow.models.natsort import fold, natural_sorted
from snflow.models.snmove import MovePlan
from snflow.models.snmove_interfaces import address_of, normalize_ip, split_names
from snflow.models.snmove_read import read_host_names

__all__ = [
    "Holder",
    "StalePlanError",
    "UndoConflictError",
    "apply_move",
    "apply_undo",
    "lock_nodes",
    "stage_move",
    "stage_undo",
    "work_from_plan",
]

#: Columns that do not count when deciding whether a row a run created is empty again.
_BOOKKEEPING = {"comments", "disable"}


class StalePlanError(SnflowError, RuntimeError):
    """Another move changed some of the nodes after this plan was read: plan again."""


class UndoConflictError(SnflowError, ValueError):
    """Attributes changed since the run to undo: undoing would overwrite someone's change."""


@dataclass(frozen=True)
class Holder:
    """The flow run (and process) taking the locks, with a way to tell dead holders."""

    holder: str
    host: str
    pid: int
    alive: Callable[[LockHolder], bool]


def stage_move(conn: Connection, plan: MovePlan) -> tuple[ChangeSet, list[JournalEntry]]:
    """The row changes and journal entries of ``plan`` (nothing written)."""
    staging = Staging(conn)
    keys = [(p.node,) for p in plan.nodes]
    for table in {c.table for p in plan.nodes for c in p.changes}:
        staging.prefetch(table, keys)
    entries = []
    for node_plan in plan.nodes:
        for change in node_plan.changes:
            row = staging.current(change.table, (node_plan.node,))
            entries.append(
                JournalEntry(
                    node=node_plan.node,
                    table=change.table,
                    column=change.column,
                    old=(row or {}).get(change.column),
                    new=change.after,
                    old_effective=change.before,
                    row_created=row is None,
                )
            )
            staging.set(change.table, (node_plan.node,), change.column, change.after)
    return staging.changes(), entries


def work_from_plan(plan: MovePlan) -> list[NodeWork]:
    """One :class:`NodeWork` per planned node (status ``pending``)."""
    works = []
    for p in plan.nodes:
        before = {c.column: c.before for c in p.changes}
        works.append(
            NodeWork(
                node=p.node,
                old_sn=p.old_sn,
                new_sn=p.new_sn,
                old_master=before.get("xcatmaster", p.new_xcatmaster),
                new_master=p.new_xcatmaster,
                master_ip=normalize_ip(p.xcatinfo_server),
                gateway=p.gateway,
                scripts=p.postscripts,
                run_on_node=p.run_on_node,
                provmethod=p.provmethod,
                changed=tuple(f"{c.table}.{c.column}" for c in p.changes),
            )
        )
    return works


def lock_nodes(
    conn: Connection,
    nodes: Sequence[str],
    run_id: str,
    holder: Holder,
    takeover: Collection[str] = (),
) -> None:
    """Lock ``nodes`` for run ``run_id`` (see :func:`~snflow.models.locks.acquire_locks`)."""
    acquire_locks(
        conn,
        nodes,
        run_id=run_id,
        holder=holder.holder,
        host=holder.host,
        pid=holder.pid,
        alive=holder.alive,
        takeover=takeover,
    )


@pauses_gc
def apply_move(
    conn: Connection, record: MoveRecord, plan: MovePlan, mark: int, holder: Holder
) -> list[NodeWork]:
    """Lock the nodes, check the plan is current, write it with its journal; the node rows.

    :raises NodesLocked: another move holds some of the nodes.
    :raises StalePlanError: a run journaled some of the nodes after ``mark``.
    """
    nodes = [p.node for p in plan.nodes]
    # The selected nodes already in place are locked too: no other move may touch them
    # while this one runs (they are released with the others when it ends).
    lock_nodes(conn, [*nodes, *plan.skipped], record.run_id, holder)
    stale = nodes_changed_since(conn, mark, nodes)
    if stale:
        raise StalePlanError(f"{fold(stale)} were moved by another run since this one read them")
    changes, entries = stage_move(conn, plan)
    apply_changes(conn, changes)
    works = work_from_plan(plan)
    write_move(conn, record, entries, works)
    return works


def stage_undo(
    conn: Connection, entries: Sequence[JournalEntry]
) -> tuple[ChangeSet, list[JournalEntry], list[str]]:
    """The row changes restoring ``entries``' old values, the undo's own journal entries,
    and the conflicts (``node: table.column is X, the run set Y``) that forbid it."""
    staging = Staging(conn)
    for table in {e.table for e in entries}:
        staging.prefetch(table, [(e.node,) for e in entries if e.table == table])
    conflicts, undo_entries = [], []
    created: set[tuple[str, str]] = set()
    for e in entries:
        row = staging.current(e.table, (e.node,))
        current = (row or {}).get(e.column)
        if current != e.new:
            conflicts.append(
                f"{e.node}: {e.table}.{e.column} is {current or '(unset)'}, "
                f"the run set {e.new or '(unset)'}"
            )
            continue
        undo_entries.append(
            JournalEntry(
                node=e.node,
                table=e.table,
                column=e.column,
                old=current,
                new=e.old,
                old_effective=current,
                row_created=row is None,
            )
        )
        staging.set(e.table, (e.node,), e.column, e.old)
        if e.row_created:
            created.add((e.table, e.node))
    for table, node in created:
        row = staging.get(table, (node,)) or {}
        if all(v is None for c, v in row.items() if c != "node" and c not in _BOOKKEEPING):
            staging.delete(table, (node,))
    return staging.changes(), undo_entries, conflicts


def _undo_work(
    conn: Connection, target: Sequence[NodeWork], entries: Sequence[JournalEntry]
) -> list[NodeWork]:
    """What runs on the nodes after an undo, from the values now in the database."""
    nodes = natural_sorted({w.node for w in target})
    view = ClusterView(conn)
    sn_col, master_col = Column("noderes", "servicenode"), Column("noderes", "xcatmaster")
    attrs = view.node_attributes(nodes, [sn_col, master_col])
    names = {attrs[n].get(master_col, "") for n in nodes}
    names.update(sn for n in nodes for sn in split_names(attrs[n].get(sn_col, "")))
    hosts = read_host_names(view, names)
    changed: dict[str, list[str]] = {}
    for e in entries:
        changed.setdefault(e.node, []).append(f"{e.table}.{e.column}")
    works = []
    order = {n: i for i, n in enumerate(nodes)}
    for w in sorted(target, key=lambda w: order[w.node]):
        master = attrs[w.node].get(master_col) or w.old_master or w.new_master
        address = address_of(master, hosts)
        first = split_names(attrs[w.node].get(sn_col, ""))
        works.append(
            w.model_copy(
                update={
                    "old_sn": w.new_sn,
                    "new_sn": first[0] if first else (w.old_sn or w.new_sn),
                    "old_master": w.new_master,
                    "new_master": master,
                    "master_ip": address,
                    "gateway": address if w.gateway else None,
                    "changed": tuple(changed.get(w.node, ())),
                    "status": "pending",
                    "detail": "",
                }
            )
        )
    return works


@pauses_gc
def apply_undo(
    conn: Connection,
    record: MoveRecord,
    entries: Sequence[JournalEntry],
    target_work: Sequence[NodeWork],
    holder: Holder,
) -> list[NodeWork]:
    """Lock the nodes, restore ``entries``' old values, journal it; the node rows.

    :raises NodesLocked: another move holds some of the nodes.
    :raises UndoConflictError: an attribute no longer has the value the run set.
    """
    nodes = natural_sorted({w.node for w in target_work})
    held = locked_by_run(conn, record.target_run or "")
    lock_nodes(conn, [*nodes, *held], record.run_id, holder, takeover=[record.target_run or ""])
    changes, undo_entries, conflicts = stage_undo(conn, entries)
    if conflicts:
        raise UndoConflictError(
            "cannot undo: changed since that run: "
            + "; ".join(conflicts[:10])
            + (f"; and {len(conflicts) - 10} more" if len(conflicts) > 10 else "")
        )
    apply_changes(conn, changes)
    works = _undo_work(conn, target_work, undo_entries)
    write_move(conn, record, undo_entries, works)
    return works
