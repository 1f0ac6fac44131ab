"""Node locks in the cluster database: two moves touching the same node never interleave.

A move takes one ``snflow_locks`` row per node in the same transaction that writes its
database changes, and releases them when its work on the nodes is over. The rows name the
run whose journal they protect (``run_id``), the flow run acting on it now (``holder``) and
that process (``host``, ``pid``), so that a second move is refused with a message saying
who holds the nodes, and ``--resume``/``--undo`` of a run whose process was killed can take
its locks over. Because the rows live in the database, this works across processes and
machines; a primary key per node makes two concurrent takers collide in the database.

Whether a process is alive is asked through a callable (the caller's I/O), never here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Connection

from snflow.models.bulk import insert_rows, update_rows
from snflow.models.errors import SnflowError
from snflow.models.journal import locks, now
from snflow.models.natsort import fold

__all__ = [
    "LockHolder",
    "NodesLocked",
    "acquire_locks",
    "lock_holders",
    "locked_by_run",
    "release_locks",
]

# Above this many nodes one scan of the lock table beats an IN list.
_IN_LIST_LIMIT = 2000


class LockHolder(BaseModel):
    """Who holds a node: the run whose move it is, the flow run acting, its process."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    holder: str
    host: str
    pid: int
    since: str


class NodesLocked(SnflowError, RuntimeError):
    """Nodes are held by another move; the message names them, the run and what to do."""

    def __init__(self, holders: dict[str, LockHolder], alive: Callable[[LockHolder], bool]):
        self.holders = holders
        by_run: dict[LockHolder, list[str]] = {}
        for node, holder in holders.items():
            by_run.setdefault(holder, []).append(node)
        parts = []
        for holder, nodes in by_run.items():
            text = (
                f"{fold(nodes)} are being moved by snmove run {holder.run_id} "
                f"(since {holder.since}, process {holder.pid} on {holder.host})"
            )
            if not alive(holder):
                text += (
                    "; that process is gone: finish that move with "
                    f"'snflow snmove --resume {holder.run_id}' or undo it with "
                    f"'snflow snmove --undo {holder.run_id}'"
                )
            parts.append(text)
        super().__init__("; ".join(parts))


def lock_holders(conn: Connection, nodes: Iterable[str]) -> dict[str, LockHolder]:
    """Node -> its lock, for those of ``nodes`` that are locked."""
    wanted = set(nodes)
    query = sa.select(locks)
    if len(wanted) <= _IN_LIST_LIMIT:
        query = query.where(locks.c.node.in_(sorted(wanted)))
    return {
        r.node: LockHolder(run_id=r.run_id, holder=r.holder, host=r.host, pid=r.pid, since=r.since)
        for r in conn.execute(query)
        if r.node in wanted
    }


def acquire_locks(
    conn: Connection,
    nodes: Iterable[str],
    *,
    run_id: str,
    holder: str,
    host: str,
    pid: int,
    alive: Callable[[LockHolder], bool],
    takeover: Collection[str] = (),
) -> None:
    """Lock ``nodes`` for the move ``run_id``, acted on by flow run ``holder``.

    A node already locked for ``run_id`` or one of the ``takeover`` runs is taken over when
    its holder is this flow run or its process is gone (``--resume``/``--undo`` of a run
    that was killed). Any other lock
    raises :class:`NodesLocked`, as does a takeover that updates fewer rows than it read.
    Losing an insert race with a concurrent taker raises the database's
    ``IntegrityError``: retry the whole transaction, which then sees the other's locks.
    """
    nodes = sorted(set(nodes))
    runs = {run_id, *takeover}
    current = lock_holders(conn, nodes)
    conflicts = {
        node: lock
        for node, lock in current.items()
        if not (lock.run_id in runs and (lock.holder == holder or not alive(lock)))
    }
    if conflicts:
        raise NodesLocked(conflicts, alive)
    values = {"run_id": run_id, "holder": holder, "host": host, "pid": pid, "since": now()}
    taken = list(current.items())
    if taken:
        columns = tuple(values)
        rows = [(node, lock.holder, *values.values()) for node, lock in taken]
        updated = update_rows(conn, locks, ("node", "holder"), columns, rows)
        if updated not in (-1, len(taken)):
            raise NodesLocked(lock_holders(conn, [n for n, _ in taken]), alive)
    new = [n for n in nodes if n not in current]
    if new:
        # A concurrent taker that committed first makes this raise IntegrityError: the
        # transaction is then unusable, so the caller retries it (and this sees the rows).
        columns = ("node", *values)
        insert_rows(conn, locks, columns, [(n, *values.values()) for n in new])


def locked_by_run(conn: Connection, run_id: str) -> list[str]:
    """The nodes locked for the move ``run_id`` (whoever acts on it now)."""
    return sorted(
        n for (n,) in conn.execute(sa.select(locks.c.node).where(locks.c.run_id == run_id))
    )


def release_locks(conn: Connection, holder: str) -> int:
    """Release every lock held by flow run ``holder``; how many there were."""
    return conn.execute(locks.delete().where(locks.c.holder == holder)).rowcount or 0
