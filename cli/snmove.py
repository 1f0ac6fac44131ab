"""``snflow snmove``: xCAT's snmove (takeover and switch-back) as one Prefect flow run.

``snmove <noderange> [-d SN2] [-D SN2N] [-i] [-P scripts|all] [-V]``,
``snmove -s SN1 [-S SN1N] [-d SN2] [-D SN2N] [-i] [-P ...] [-V]``, plus ``--dry-run``,
``--resume RUN`` and ``--undo RUN``. Argument errors print xCAT's texts (and its usage)
before any flow run starts; then the flow's messages, its plan (with ``--dry-run`` or
``-V``) and its summary. Exit status 1 whenever anything went wrong (design decision 1).
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer
from pydantic import ValidationError

from snflow.cli._common import CONTEXT, fail
from snflow.models import db
from snflow.models.cluster import ClusterView
from snflow.models.errors import SnflowError
from snflow.models.report import Message
from snflow.models.snmove import MESSAGES, MoveOptions, SnmoveError
from snflow.models.snmove_request import SnmoveReport, SnmoveRequest

__all__ = ["USAGE", "register", "snmove"]

#: xCAT's usage text (snmove.pm L1740-1759), then snflow's own options.
USAGE = """
snmove - Move xCAT compute nodes from one xCAT service node to a
backup service node.

Usage:
    snmove [-h | --help ]
    snmove noderange [-V] [[-d|--dest]  sn2]
        [[-D|--destn]  sn2n] [-i|--ignorenodes]
        [[-P|--postscripts]  script1,script2...|all]
    snmove [-V] -s|--source  sn1 [[-S|--sourcen]  sn1n]
        [[-d|--dest]  sn2] [[-D|--destn]  sn2n]
        [-i|--ignorenodes][[-P|--postscripts] script1,script2...|all]
    snmove ... --dry-run          show the changes, change nothing
    snmove --resume RUN           finish an earlier move (nodes that were down...)
    snmove --undo RUN             restore what an earlier move changed

Where:
    sn1 is the hostname of the source service node as known by (facing) the management node.
    sn1n is the hostname of the source service node as known by (facing) the nodes.
    sn2 is the hostname of the destination service node as known by (facing) the management node.
    sn2n is the hostname of the destination service node as known by (facing) the nodes.
    scripts is a comma separated list of postscripts to be run on the nodes. 'all' means all the scripts defined in the postscripts table for each node are to be run.
"""  # noqa: E501 - xCAT's text


def _usage_error(text: str, usage: bool = True) -> None:
    print(text)
    if usage:
        print(USAGE)
    raise typer.Exit(1)


def _print(report: SnmoveReport, verbose: bool, ui: str, flow_run_id: str) -> None:
    for message in report.messages:
        _message(message)
    if report.dry_run or verbose:
        for line in report.plan:
            print(line)
    if verbose and report.nodes and not report.dry_run:
        _table(report)
    for line in report.summary():
        print(line)
    sys.stdout.flush()
    print(f"snmove: run {flow_run_id}: {ui}/runs/flow-run/{flow_run_id}", file=sys.stderr)


def _message(message: Message) -> None:
    if message.level == "info":
        print(message.text)
    else:
        prefix = "Warning: " if message.level == "warning" else "Error: "
        print(prefix + message.text, file=sys.stderr)


def _table(report: SnmoveReport) -> None:
    rows = report.table()
    columns = [c for c in rows[0] if c != "detail"]
    width = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print("  ".join(c.ljust(width[c]) for c in columns).rstrip())
    for row in rows:
        print("  ".join(str(row[c]).ljust(width[c]) for c in columns).rstrip())


def _check_noderange(noderange: str) -> None:
    """Unknown nodes are refused before any flow run starts (xCAT's text)."""
    with db.read_connection() as conn:
        result = ClusterView(conn).expand(noderange)
    if result.missing:
        _usage_error(MESSAGES["invalid_nodes"].format(nodes=",".join(result.missing)), False)


def snmove(
    noderange: Annotated[
        list[str] | None,
        typer.Argument(
            help="Nodes to move (xCAT noderange).", show_default=False, metavar="NODERANGE"
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "-s",
            "--source",
            metavar="SN1",
            help="Move every node whose primary service node is SN1 (its MN-facing name).",
        ),
    ] = None,
    source_n: Annotated[
        str | None,
        typer.Option(
            "-S", "--sourcen", metavar="SN1N", help="SN1 as its nodes know it (the old xcatmaster)."
        ),
    ] = None,
    dest: Annotated[
        str | None,
        typer.Option(
            "-d",
            "--dest",
            metavar="SN2",
            help="Destination service node (default: each node's backup).",
        ),
    ] = None,
    dest_n: Annotated[
        str | None,
        typer.Option(
            "-D",
            "--destn",
            metavar="SN2N",
            help="SN2 as the nodes know it (default: found from its interfaces).",
        ),
    ] = None,
    ignore: Annotated[
        bool,
        typer.Option(
            "-i",
            "--ignorenodes",
            help="Change the database and services only; run nothing on the nodes.",
        ),
    ] = False,
    postscripts: Annotated[
        str | None,
        typer.Option(
            "-P",
            "--postscripts",
            metavar="SCRIPTS",
            help="More postscripts to run on the nodes (comma list), or 'all' of each node's list.",
        ),
    ] = None,
    liteonly: Annotated[
        bool, typer.Option("-l", "--liteonly", help="AIX statelite only: refused for Linux nodes.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("-V", "--verbose", help="Show the plan and a per-node table.")
    ] = False,
    show_version: Annotated[
        bool, typer.Option("-v", "--version", help="Print the version and exit.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show each node's changes and the actions; change nothing."),
    ] = False,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume", metavar="RUN", help="Finish move RUN (nodes that were down, a killed run)."
        ),
    ] = None,
    undo: Annotated[
        str | None,
        typer.Option(
            "--undo", metavar="RUN", help="Restore what move RUN changed, and reconfigure."
        ),
    ] = None,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            metavar="SECONDS",
            help="Wait this long for nodes another move holds (0: refuse at once).",
        ),
    ] = 0.0,
) -> None:
    """Move compute nodes to their backup service node (xCAT snmove).

    \b
    snmove noderange [-V] [-d sn2] [-D sn2n] [-i] [-P script1,script2...|all]
    snmove [-V] -s sn1 [-S sn1n] [-d sn2] [-D sn2n] [-i] [-P script1,script2...|all]
    snmove ... --dry-run | --resume RUN | --undo RUN
    """
    if show_version:
        try:
            print(f"Version {version('snflow')} (snflow)")
        except PackageNotFoundError:
            print("Version unknown (snflow)")
        return
    names = list(noderange or [])
    if len(names) > 1:
        _usage_error(MESSAGES["too_many"])
    fields = {
        "noderange": names[0] if names else None,
        "source": source,
        "source_n": source_n,
        "dest": dest,
        "dest_n": dest_n,
        "ignore_nodes": ignore,
        "postscripts": postscripts,
        "verbose": verbose,
    }
    if not (resume or undo):
        try:
            MoveOptions.create(**fields, liteonly=liteonly)
        except SnmoveError as exc:
            if str(exc) == MESSAGES["liteonly"]:
                fail(str(exc))
            _usage_error(str(exc), str(exc) == MESSAGES["no_target"])
    try:
        request = SnmoveRequest(
            **{k: v for k, v in fields.items() if v not in (None, False)},
            dry_run=dry_run,
            resume=resume,
            undo=undo,
            lock_wait=wait,
        )
        if request.noderange:
            _check_noderange(request.noderange)
    except ValidationError as exc:
        fail("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors()))
    except SnflowError as exc:
        fail(str(exc))
    from snflow.cli._flowrun import run_flow

    report, ui, run_id = run_flow("snmove", request, SnmoveReport)
    _print(report, verbose, ui, run_id)
    if report.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this module's command to the ``snflow`` command."""
    app.command("snmove", context_settings=CONTEXT)(snmove)
