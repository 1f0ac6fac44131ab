"""``snflow sim``: the virtual cluster (up, status, power, down).

Composed into ``snflow`` by ``cli/main.py`` with ``app.add_typer(sim.app, name="sim")``.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Annotated, Literal

import typer

from snflow.cli._common import CONTEXT, GROUP_CONTEXT, fail
from snflow.models.errors import SnflowError
from snflow.models.natsort import fold
from snflow.sim.models import SimStatus

__all__ = ["app", "format_status", "register"]

app = typer.Typer(
    help="The virtual cluster: SNs and CNs as SSH servers on loopback addresses (no root).",
    context_settings=GROUP_CONTEXT,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.command("up", context_settings=CONTEXT)
def up(
    service_nodes: Annotated[
        int, typer.Option("--service-nodes", "-k", help="Service nodes sn1..snK.", min=1)
    ] = 2,
    nodes: Annotated[
        int, typer.Option("--nodes", "-n", help="Compute nodes cn001.., split evenly.", min=0)
    ] = 32,
    port: Annotated[
        int | None,
        typer.Option(help="Port of every host (default 2222 if free, else another).", min=1),
    ] = None,
    from_db: Annotated[
        bool, typer.Option("--from-db", help="Serve the nodes the database already defines.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace nodes the simulation did not create.")
    ] = False,
) -> None:
    """Write the cluster database and start the virtual cluster."""
    from snflow.sim import SimCluster

    started = time.monotonic()
    try:
        cluster = SimCluster.up(
            service_nodes=service_nodes, nodes=nodes, port=port, from_db=from_db, force=force
        )
    except SnflowError as exc:
        fail(str(exc))
    sns = [h.name for h in cluster.hosts if h.role == "sn"]
    cns = [h.name for h in cluster.hosts if h.role == "cn"]
    print(
        f"Virtual cluster up in {time.monotonic() - started:.1f} s: "
        f"{len(sns)} service node(s) {fold(sns) or '-'}, {len(cns)} compute node(s) "
        f"{fold(cns) or '-'}, port {cluster.port}, pid {cluster.pid}."
    )
    env_port = os.environ.get("SNFLOW_SSH_PORT")
    if env_port and env_port != str(cluster.port):
        print(
            f"Warning: SNFLOW_SSH_PORT={env_port} in the environment overrides the "
            f"port {cluster.port} written to settings.env.",
            file=sys.stderr,
        )


@app.command("down", context_settings=CONTEXT)
def down() -> None:
    """Stop the virtual cluster (its database rows and keys are kept)."""
    from snflow.sim import sim_down

    try:
        pid = sim_down()
    except SnflowError as exc:
        fail(str(exc))
    if pid is None:
        print("No virtual cluster is running.")
    else:
        print(f"Virtual cluster stopped (pid {pid}).")


@app.command("status", context_settings=CONTEXT)
def status() -> None:
    """Print every simulated host: role, address, power, connections, sessions, bytes."""
    from snflow.sim import SimCluster

    try:
        report = SimCluster.attach().status()
    except SnflowError as exc:
        fail(str(exc))
    print(format_status(report))


@app.command("power", context_settings=CONTEXT)
def power(
    state: Annotated[Literal["on", "off"], typer.Argument(metavar="on|off", help="on or off.")],
    host: Annotated[str, typer.Argument(metavar="HOST", help="The simulated host.")],
) -> None:
    """Power a simulated host off (refuse and drop its connections) or on again."""
    from snflow.sim import SimCluster

    try:
        changed = SimCluster.attach().power(host, on=state == "on")
    except SnflowError as exc:
        fail(str(exc))
    print(f"{host}: {'powered' if changed else 'already'} {state}")


def format_status(report: SimStatus) -> str:
    """The status table: one line per host, then the totals."""
    rows = [("HOST", "ROLE", "ADDRESS", "B-ADDRESS", "POWER", "CONNS", "SESSIONS", "BYTES-IN")]
    for h in report.hosts:
        c = h.counters
        rows.append(
            (
                h.name,
                h.role,
                h.address,
                h.b_address or "-",
                "on" if h.powered else "off",
                str(c.connections),
                str(c.sessions),
                str(c.bytes_received),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    t = report.totals
    lines.append(f"commands: {report.isolation or 'unknown isolation'}")
    lines.append(
        f"pid {report.pid}, port {report.port}: {len(report.hosts)} hosts, "
        f"{t.connections} connection(s) open (max {t.max_connections}), "
        f"{t.sessions} session(s) open (max {t.max_sessions}), {t.bytes_received} bytes in"
    )
    return "\n".join(lines)


def register(parent: typer.Typer) -> None:
    """Add this module's command to the ``snflow`` command."""
    parent.add_typer(app, name="sim")
