"""``snflow xdcp <noderange> [options] SRC... DST`` (xCAT's hierarchical xdcp).

Options (bundling as xCAT's Getopt: ``-pR``, ``-f8``): ``-f N`` fanout, ``-t S`` seconds per
node, ``-p`` keep times, ``-R`` directories, ``-P`` pull, ``-F synclist``, ``-s`` stage on the
service nodes only, ``-v`` verify, ``-o "opts"`` options of the SN's ssh, ``-l user``, ``-h``.
Relative local paths (sources, ``-F``, a pull's target) are made absolute, as xCAT's client does.
"""

from __future__ import annotations

import os
import sys

import typer

from snflow.cli._common import fail
from snflow.models import db
from snflow.models.cluster import ClusterView
from snflow.models.errors import SnflowError
from snflow.models.settings import get_settings
from snflow.models.xdcp import XdcpRequest
from snflow.models.xdcp_report import XdcpReport

__all__ = ["parse_xdcp_args", "print_report", "register", "xdcp"]

XDCP_CONTEXT = {
    "help_option_names": [],
    "allow_interspersed_args": False,
    "ignore_unknown_options": True,
    "allow_extra_args": True,
}
_VALUED = {"f": "fanout", "t": "timeout", "F": "synclist", "o": "node_options", "l": "user"}
_FLAGS = {"p": "preserve", "R": "recursive", "P": "pull", "s": "stage_only", "v": "verify"}
_LONG = {
    "--fanout": "f", "--timeout": "t", "--File": "F", "--node-options": "o", "--user": "l",
    "--preserve": "p", "--recursive": "R", "--pull": "P", "--verify": "v",
}  # fmt: skip


def _option(word: str, rest: list[str], fields: dict[str, object]) -> None:
    """Apply one option word (``-pR``, ``-f8``, ``-f``, ``--fanout``) to ``fields``."""
    letters = _LONG[word] if word in _LONG else word[1:]
    if word.startswith("--") and word not in _LONG:
        raise SnflowError(f"Invalid options: {word} (see snflow xdcp -h)")
    for i, letter in enumerate(letters):
        if letter in _FLAGS:
            fields[_FLAGS[letter]] = True
        elif letter in _VALUED:
            value = letters[i + 1 :] or (rest.pop(0) if rest else None)
            if value is None:
                raise SnflowError(f"option -{letter} needs a value")
            fields[_VALUED[letter]] = value
            return
        else:
            raise SnflowError(f"Invalid options: -{letter} (see snflow xdcp -h)")


def parse_xdcp_args(args: list[str]) -> XdcpRequest:
    """xdcp's command line (after ``xdcp``) as a request; errors are xCAT's texts."""
    if not args:
        raise SnflowError("No parameters were supplied on the xdcp command. Run xdcp -h")
    if args[0].startswith("-"):  # xCAT: the noderange is the first argument
        raise SnflowError("Node range not specified, see xdcp man page for syntax.")
    fields: dict[str, object] = {"fanout": get_settings().fanout}
    noderange: str | None = None
    files: list[str] = []
    rest = list(args)
    while rest:
        word = rest.pop(0)
        if word == "--":
            files += rest
            break
        if word.startswith("-") and len(word) > 1:
            _option(word, rest, fields)
        elif noderange is None:
            noderange = word
        else:
            files.append(word)
    if noderange is None:
        raise SnflowError("Node range not specified, see xdcp man page for syntax.")
    if fields.get("synclist"):
        fields["synclist"] = os.path.abspath(str(fields["synclist"]))
    elif files:
        pull = bool(fields.get("pull"))
        sources, target = files[:-1], files[-1]
        if not sources:
            raise SnflowError("Missing target_path" if pull else "Missing file arguments")
        fields["sources"] = tuple(sources if pull else (os.path.abspath(s) for s in sources))
        fields["target"] = os.path.abspath(target) if pull else target
    try:
        return XdcpRequest(noderange=noderange, **fields)  # type: ignore[arg-type]
    except ValueError as exc:
        errors = getattr(exc, "errors", None)
        detail = errors()[0]["msg"].removeprefix("Value error, ") if errors else str(exc)
        raise SnflowError(detail) from None


def _check(request: XdcpRequest) -> None:
    """What can be checked before Prefect starts: names, files, the pull's target."""
    with db.read_connection() as conn:
        ClusterView(conn).expand_or_raise(request.noderange)
    from snflow.tasks.xdcp_files import inventory, read_synclist

    if request.synclist:
        synclist = read_synclist(request.synclist)
        sources = synclist.sources()
    else:
        sources = [] if request.pull else list(request.sources)
    for pattern, items in inventory(sources, contents=bool(request.synclist)).items():
        if not items:
            raise SnflowError(f"File:{pattern} does not exist.")


def _lines(node: str, text: str) -> list[str]:
    """``node: line`` for each line (xCAT's "<node> is not responding" is kept as is)."""
    return [
        line if line.startswith(f"{node} is not responding") else f"{node}: {line}"
        for line in text.splitlines()
        if line.strip()
    ]


def print_report(report: XdcpReport) -> None:
    """Output lines ``node: text`` (stdout for nodes that are fine, stderr otherwise), the
    service-node messages, then the summary of who served which nodes (stderr)."""
    out: list[str] = []
    err: list[str] = []
    for s in report.staging:
        if not s.ok:
            err += _lines(s.service_node, s.output or s.message) or [f"{s.service_node}: failed"]
    err += report.messages()
    for r in report.results:
        if r.ok:
            out += _lines(r.node, r.output)
        else:
            lines = _lines(r.node, r.output)
            if r.message and f"{r.node}: {r.message}" not in lines:
                lines.append(f"{r.node}: {r.message}")
            err += lines
    if out:
        sys.stdout.write("\n".join(out) + "\n")
        sys.stdout.flush()
    if err:
        sys.stderr.write("\n".join(err) + "\n")


def xdcp(ctx: typer.Context) -> None:
    """Copy files to nodes through their service nodes (xCAT's hierarchical xdcp).

    \b
    Options:
      -f N          nodes worked on at once (default: SNFLOW_FANOUT, 64)
      -t SECONDS    time one node may take
      -p            keep modification times
      -R            copy directories
      -P            pull: SRC from each node to DST/<name>._<node> (onto the
                    node's service node, or here for nodes without one)
      -F SYNCLIST   sync what the synclist says (APPEND:, EXECUTE:, ...)
      -s            with -F: stage on the service nodes only
      -v            name unreachable hosts as not responding
      -o "OPTIONS"  options of the ssh that service nodes run
      -l USER       remote user on the nodes behind service nodes
      -h            this help

    The files are staged on every service node of the nodes' pools
    (site.SNsyncfiledir), then each node gets them from the first of its
    service nodes that has them; nodes without a service node get them from
    here. Output lines are "node: text"; the summary says which service node
    served which nodes. Exit status 1 when any service node or node failed.
    Each run is recorded by the Prefect server (table of nodes).
    """
    args = list(ctx.args)
    if any(a in ("-h", "--help") for a in args[:1]) or (args and "-h" in args):
        print(ctx.get_help())
        raise typer.Exit(0)
    try:
        request = parse_xdcp_args(args)
        _check(request)
    except SnflowError as exc:
        fail(str(exc))
    from snflow.cli._flowrun import run_flow

    report, ui, run_id = run_flow("xdcp", request, XdcpReport)
    print_report(report)
    summary = "; ".join(report.summary()) or "no nodes"
    print(f"xdcp: {summary} (run {ui}/runs/flow-run/{run_id})", file=sys.stderr)
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this module's command to the ``snflow`` command."""
    app.command(
        "xdcp", context_settings=XDCP_CONTEXT, options_metavar="<noderange> [options] SRC... DST"
    )(xdcp)
