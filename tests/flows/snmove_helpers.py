"""Helpers for the snmove tests on the virtual cluster: a fresh database per test, dumps of
xCAT's tables, node files, custom postscripts, and the flow run as the CLI runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from prefect.states import State

from snflow.flows.snmove import snmove
from snflow.models import db
from snflow.models.journal import JOURNAL_TABLES
from snflow.models.schema import TABLES
from snflow.models.snmove_request import SnmoveReport, SnmoveRequest
from snflow.sim import SimCluster
from snflow.sim.database import write_cluster

SN1_NODES = tuple(f"cn{i:03d}" for i in range(1, 9))
SN2_NODES = tuple(f"cn{i:03d}" for i in range(9, 17))


def reset_database(sim: SimCluster) -> None:
    """The cluster as ``sim up`` wrote it, and an empty journal (no locks)."""
    with db.transaction() as conn:
        write_cluster(conn, sim.layout, force=True)
        for table in JOURNAL_TABLES.values():
            conn.execute(table.delete())


def dump() -> dict[str, list[tuple]]:
    """Every xCAT table's rows, sorted (snflow's journal tables left out)."""
    with db.read_connection() as conn:
        return {
            name: sorted(tuple(str(v) for v in row) for row in conn.execute(sa.select(tab)))
            for name, tab in TABLES.items()
        }


def attrs(node: str) -> dict[str, str | None]:
    """The node's own noderes and nodehm values that a move changes."""
    with db.read_connection() as conn:
        res, hm = TABLES["noderes"], TABLES["nodehm"]
        row = conn.execute(
            sa.select(res.c.servicenode, res.c.xcatmaster, hm.c.conserver)
            .select_from(res.join(hm, res.c.node == hm.c.node))
            .where(res.c.node == node)
        ).one()
    return dict(row._mapping)


def journal_rows(table: str = "snflow_journal") -> list[dict]:
    with db.read_connection() as conn:
        return [dict(r) for r in conn.execute(sa.select(JOURNAL_TABLES[table])).mappings()]


def node_file(sim: SimCluster, host: str, path: str) -> str:
    """A file on a simulated host ('' when absent)."""
    file = sim.home / "sim" / host / path.lstrip("/")
    return file.read_text() if file.is_file() else ""


def actions(sim: SimCluster, host: str) -> list[str]:
    return node_file(sim, host, "var/log/snflow-actions.log").splitlines()


def add_postscript(sim: SimCluster, name: str, body: str) -> None:
    """An administrator's postscript in ``$SNFLOW_HOME/postscripts``."""
    directory = sim.home / "postscripts"
    directory.mkdir(exist_ok=True)
    (directory / name).write_text("#!/bin/sh\n" + body)


#: A postscript that says it is waiting, then waits until the test opens the gate.
GATE = (
    'touch "$NODEROOT/tmp/gate-waiting"\n'
    'while [ ! -e "$NODEROOT/tmp/gate-open" ]; do sleep 0.05; done\n'
    'echo "gate: passed"\n'
)


def open_gate(sim: SimCluster, nodes: tuple[str, ...]) -> None:
    for node in nodes:
        (sim.home / "sim" / node / "tmp" / "gate-open").touch()


def close_gate(sim: SimCluster, nodes: tuple[str, ...]) -> None:
    for node in nodes:
        for name in ("gate-open", "gate-waiting"):
            (sim.home / "sim" / node / "tmp" / name).unlink(missing_ok=True)


def wait_until(condition: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    """Poll ``condition`` until it holds (an observable state, not a timing guess)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.05)


def run(**fields: object) -> tuple[SnmoveReport, State]:
    """Run the flow in this process, as the CLI does."""
    state = snmove(SnmoveRequest(**fields), return_state=True)
    report = state.result(raise_on_failure=False)
    assert isinstance(report, SnmoveReport), state
    return report, state


def start_cli(sim: SimCluster, *args: str) -> subprocess.Popen[str]:
    """``snflow snmove ARGS`` in a child process (the same settings and Prefect server)."""
    env = {**os.environ, "SNFLOW_HOME": str(sim.home)}
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "snflow"), "snmove", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def waiting_at_gate(sim: SimCluster, nodes: tuple[str, ...]) -> Callable[[], bool]:
    return lambda: all((sim.home / "sim" / n / "tmp" / "gate-waiting").exists() for n in nodes)


def root(sim: SimCluster, host: str) -> Path:
    return sim.home / "sim" / host


def set_row(table: str, key: str, **values: str | None) -> None:
    """Set columns of the row ``key`` of ``table`` (created if absent)."""
    tab = TABLES[table]
    key_col = tab.primary_key.columns.values()[0]
    with db.transaction() as conn:
        exists = conn.execute(sa.select(key_col).where(key_col == key)).first()
        if exists:
            conn.execute(tab.update().where(key_col == key).values(**values))
        else:
            conn.execute(tab.insert().values({key_col.name: key, **values}))


def effective(node: str, attribute: str) -> str | None:
    """The node's effective value of an attribute (groups and regexes applied)."""
    from snflow.models.cluster import ClusterView
    from snflow.models.defspec import NODE_ATTRS

    with db.read_connection() as conn:
        return ClusterView(conn).column_values([node], NODE_ATTRS[attribute]).get(node)
