"""``snflow xdsh <noderange> [-f N] [-t SECONDS] [-v] [-e SCRIPT] command...``

Options come after the noderange and before the command; everything from the first word
that is not an option is the command, as typed (``snflow xdsh cn1 -t 5 df -h``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from snflow.cli._common import fail
from snflow.models import db
from snflow.models.cluster import ClusterView
from snflow.models.errors import SnflowError
from snflow.models.remote import XdshReport, XdshRequest
from snflow.models.settings import get_settings

__all__ = ["XDSH_CONTEXT", "parse_xdsh_args", "register", "xdsh"]

#: Click must not parse options after the noderange: they may belong to the command.
XDSH_CONTEXT = {
    "help_option_names": ["-h", "--help"],
    "allow_interspersed_args": False,
    "ignore_unknown_options": True,
    "allow_extra_args": True,
}
_VALUED = {
    "-f": "fanout",
    "--fanout": "fanout",
    "-t": "timeout",
    "--timeout": "timeout",
    "-e": "script",
    "--execute": "script",
}


def parse_xdsh_args(args: list[str]) -> XdshRequest:
    """xdsh's command line (after ``xdsh``) as a request; errors name the problem."""
    fields: dict[str, object] = {"fanout": get_settings().fanout}
    noderange: str | None = None
    rest = list(args)
    while rest:
        word = rest.pop(0)
        if word == "--":
            break
        if word in ("-v", "--verify"):
            fields["verify"] = True
        elif word in _VALUED or (word[:2] in _VALUED and len(word) > 2 and word[1] != "-"):
            name, value = (word, None) if word in _VALUED else (word[:2], word[2:])
            if value is None:
                if not rest:
                    raise SnflowError(f"option {name} needs a value")
                value = rest.pop(0)
            fields[_VALUED[name]] = value
        elif word.startswith("-") and len(word) > 1 and noderange is None:
            raise SnflowError(f"unknown option {word} (see snflow xdsh -h)")
        elif noderange is None:
            noderange = word
        else:
            rest.insert(0, word)
            break
    if noderange is None:
        raise SnflowError("Node range not specified, see xdsh -h for syntax.")
    command = " ".join(rest)
    if not command and not fields.get("script"):
        raise SnflowError("No command was given (xdsh <noderange> command).")
    if fields.get("script") and not Path(str(fields["script"])).is_file():
        raise SnflowError(f"script {fields['script']} does not exist or is not a file")
    try:
        return XdshRequest(noderange=noderange, command=command, **fields)
    except ValueError as exc:
        raise SnflowError(f"invalid xdsh options: {exc}") from None


def _print(report: XdshReport) -> None:
    out, err = [], []
    for r in report.results:
        out += [f"{r.node}: {line}" for line in r.stdout.splitlines()]
        err += [f"{r.node}: {line}" for line in r.stderr.splitlines()]
        if r.outcome != "ok" and r.message:
            err.append(f"{r.node}: {r.message}")
    if out:
        sys.stdout.write("\n".join(out) + "\n")
        sys.stdout.flush()
    if err:
        sys.stderr.write("\n".join(err) + "\n")


def xdsh(ctx: typer.Context) -> None:
    """Run a command on nodes, through their service nodes:
    xdsh <noderange> [-f fanout] [-t timeout] [-v] [-e script] command...

    Output lines are "node: text"; the exit status is 1 when any node failed, timed out
    or could not be reached. Each run is recorded by the Prefect server (table of nodes).
    """
    try:
        request = parse_xdsh_args(list(ctx.args))
        with db.read_connection() as conn:
            ClusterView(conn).expand_or_raise(request.noderange)  # before Prefect starts
    except SnflowError as exc:
        fail(str(exc))
    from snflow.cli._flowrun import run_flow

    report, ui, run_id = run_flow("xdsh", request, XdshReport)
    _print(report)
    summary = "; ".join(report.summary())
    print(f"xdsh: {summary} (run {ui}/runs/flow-run/{run_id})", file=sys.stderr)
    if report.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this module's command to the ``snflow`` command."""
    app.command("xdsh", context_settings=XDSH_CONTEXT)(xdsh)
