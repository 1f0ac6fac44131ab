"""The ``snmove`` flow's database tasks: read, apply (one transaction), record, release.

Each task is one transaction on the cluster database (or one read). Apply retries its
transaction when it lost a race with a concurrent move (the database's unique key on a
node lock, or SQLite's "database is locked"); the retried transaction then sees the other
move's locks and raises :class:`~snflow.models.locks.NodesLocked` with a clear message.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from snflow.models import db
from snflow.models.cluster import ClusterView
from snflow.models.journal import (
    JournalEntry,
    MoveRecord,
    NodeStatus,
    NodeWork,
    find_run,
    load_entries,
    load_work,
    set_move_state,
    set_node_status,
)
from snflow.models.locks import (
    LockHolder,
    NodesLocked,
    lock_holders,
    locked_by_run,
    release_locks,
)
from snflow.models.routes import Route
from snflow.models.snmove import MoveOptions, MovePlan
from snflow.models.snmove_apply import (
    Holder,
    StalePlanError,
    apply_move,
    apply_undo,
    lock_nodes,
)
from snflow.models.snmove_read import (
    MoveContext,
    NodeEnvironment,
    read_move_state,
    read_node_environment,
)
from snflow.tasks.ssh import master_names, routes_for

__all__ = [
    "LOCK_POLL_SECONDS",
    "ApplyResult",
    "apply_move_plan",
    "apply_undo_run",
    "current_holder",
    "finish_run",
    "load_run",
    "read_cluster_state",
    "read_node_context",
    "record_node_status",
    "take_over_run",
    "wait_for_locks",
]

#: How often a move waiting for another one's nodes looks at the lock table again.
LOCK_POLL_SECONDS = 0.5
_TRANSACTION_ATTEMPTS = 5


def _alive(lock: LockHolder) -> bool:
    """Whether the process holding ``lock`` still runs (one on another host: assumed so)."""
    if lock.host != socket.gethostname():
        return True
    try:
        os.kill(lock.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def current_holder(flow_run_id: str) -> Holder:
    """This flow run and process, as a lock holder."""
    return Holder(holder=flow_run_id, host=socket.gethostname(), pid=os.getpid(), alive=_alive)


def _resolve_missing(ctx: MoveContext) -> MoveContext:
    """Nodes without a ``hosts.ip``: ask the system resolver, as xCAT does."""
    missing = [n for n, s in ctx.state.nodes.items() if not s.ip and n in ctx.selected]
    if not missing:
        return ctx
    nodes = dict(ctx.state.nodes)
    for name in missing:
        with contextlib.suppress(OSError, UnicodeError):
            address = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)[0][4][0]
            nodes[name] = nodes[name].model_copy(update={"ip": address})
    return ctx.model_copy(update={"state": ctx.state.model_copy(update={"nodes": nodes})})


@task(name="read-cluster-state", cache_policy=NO_CACHE)
def read_cluster_state(options: MoveOptions) -> tuple[MoveContext, dict[str, Route], list[str]]:
    """Plan phase's read: selection, state, and how to reach the candidate destinations.

    :returns: the context, routes of the destination SNs to probe, and the destinations
        that are the management node itself (probed locally).
    """
    with db.read_connection() as conn:
        ctx = _resolve_missing(read_move_state(conn, options))
        view = ClusterView(conn)
        destinations = {options.dest} if options.dest else set()
        if not options.dest:
            for name in ctx.selected:
                names = ctx.state.nodes[name].servicenodes
                destinations.update(names[1:2])
        local = master_names(view)
        remote = sorted(d for d in destinations if d and d not in local)
        routes = routes_for(view, remote)
        return ctx, routes, sorted(d for d in destinations if d in local)


def _transaction_retried(action, *args):  # type: ignore[no-untyped-def]
    """Run ``action(conn, *args)`` in a transaction, again when a concurrent move won a race."""
    for attempt in range(_TRANSACTION_ATTEMPTS):
        try:
            with db.transaction() as conn:
                return action(conn, *args)
        except (sa.exc.IntegrityError, sa.exc.OperationalError) as exc:
            locked = isinstance(exc, sa.exc.IntegrityError) or "locked" in str(exc.orig)
            if not locked or attempt == _TRANSACTION_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


class ApplyResult(BaseModel):
    """What Apply did: the nodes' work, or why nothing was written (a refusal is a result,
    not a failed task: the run history shows the task as completed)."""

    works: list[NodeWork] = Field(default_factory=list)
    #: Another move holds some of the nodes (the message names it and what to do).
    locked: str = ""
    #: Another move changed some of the nodes since the plan was read: plan again.
    stale: str = ""


@task(name="apply-move", cache_policy=NO_CACHE)
def apply_move_plan(record: MoveRecord, plan: MovePlan, mark: int, flow_run_id: str) -> ApplyResult:
    """One transaction: node locks, node-level values, journal, node rows."""
    holder = current_holder(flow_run_id)
    try:
        works = _transaction_retried(lambda conn: apply_move(conn, record, plan, mark, holder))
    except NodesLocked as exc:
        return ApplyResult(locked=str(exc))
    except StalePlanError as exc:
        return ApplyResult(stale=str(exc))
    return ApplyResult(works=works)


@task(name="wait-for-locks", cache_policy=NO_CACHE)
def wait_for_locks(nodes: Sequence[str], timeout: float, flow_run_id: str) -> str:
    """Wait up to ``timeout`` seconds until no other move holds ``nodes``: ``""`` when
    none does, else the message naming the holders (:class:`NodesLocked`'s)."""
    deadline = time.monotonic() + timeout
    while True:
        with db.read_connection() as conn:
            held = {n: h for n, h in lock_holders(conn, nodes).items() if h.holder != flow_run_id}
        if not held:
            return ""
        if time.monotonic() >= deadline:
            return str(NodesLocked(held, _alive))
        time.sleep(LOCK_POLL_SECONDS)  # polling the lock table, not synchronisation


@task(name="load-run", cache_policy=NO_CACHE)
def load_run(run: str) -> tuple[MoveRecord, list[JournalEntry], list[NodeWork]]:
    """An earlier run (id or prefix), its journal and its node rows."""
    with db.read_connection() as conn:
        record = find_run(conn, run)
        return record, load_entries(conn, record.run_id), load_work(conn, record.run_id)


@task(name="take-over-run", cache_policy=NO_CACHE)
def take_over_run(run_id: str, nodes: Sequence[str], flow_run_id: str) -> None:
    """Lock ``nodes`` for finishing run ``run_id`` (its dead holder's locks are taken over).

    :raises NodesLocked: another live move holds some of them.
    """
    holder = current_holder(flow_run_id)

    def take(conn):  # type: ignore[no-untyped-def]
        lock_nodes(conn, [*nodes, *locked_by_run(conn, run_id)], run_id, holder)

    _transaction_retried(take)


@task(name="apply-undo", cache_policy=NO_CACHE)
def apply_undo_run(
    record: MoveRecord,
    entries: Sequence[JournalEntry],
    target_work: Sequence[NodeWork],
    flow_run_id: str,
) -> list[NodeWork]:
    """One transaction: locks, the journaled old values restored, the undo's journal."""
    holder = current_holder(flow_run_id)
    return _transaction_retried(lambda conn: apply_undo(conn, record, entries, target_work, holder))


@task(name="read-node-context", cache_policy=NO_CACHE)
def read_node_context(nodes: Sequence[str]) -> tuple[NodeEnvironment, dict[str, Route]]:
    """After the change: the postscripts' environment and each node's route, through its
    (new) primary service node only: a node that SN cannot reach counts as down."""
    with db.read_connection() as conn:
        env = read_node_environment(conn, nodes)
        routes = routes_for(ClusterView(conn), nodes)
    first = {
        n: r.model_copy(update={"via": r.via[:1], "direct_fallback": False})
        for n, r in routes.items()
    }
    return env, first


@task(name="record-node-status", cache_policy=NO_CACHE)
def record_node_status(run_id: str, outcomes: Iterable[tuple[str, NodeStatus, str]]) -> None:
    """Record how far each node got (so ``--resume`` redoes only what is left)."""
    with db.transaction() as conn:
        set_node_status(conn, run_id, list(outcomes))


@task(name="finish-run", cache_policy=NO_CACHE)
def finish_run(run_id: str, flow_run_id: str, state: str, services: str | None, notes: str) -> None:
    """Record the run's end and release the node locks this flow run holds."""
    with db.transaction() as conn:
        set_move_state(conn, run_id, state=state, services=services, notes=notes)
        release_locks(conn, flow_run_id)
