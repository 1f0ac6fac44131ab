"""``snflow mkdef``, ``chdef``, ``rmdef``, ``noderm``: change object definitions.

Each command reads, validates and writes in one transaction: when anything is wrong
nothing is written, and the error names the problem.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from snflow.cli._common import CONTEXT, fail, run_report
from snflow.models import db
from snflow.models.changes import apply_changes
from snflow.models.cluster import ClusterView
from snflow.models.define import DefineRequest, RemoveRequest, define, remove, remove_nodes
from snflow.models.errors import DefinitionError
from snflow.models.report import CommandReport

__all__ = ["chdef", "mkdef", "noderm", "register", "rmdef"]

Types = Annotated[
    str | None, typer.Option("-t", help="Object type: node (default), group, network or site.")
]
Objects = Annotated[str | None, typer.Option("-o", help="Object names (a noderange for nodes).")]
Args = Annotated[
    list[str] | None, typer.Argument(help="[noderange] attr=value ...", show_default=False)
]
Stanza = Annotated[bool, typer.Option("-z", "--stanza", help="Read stanza input on stdin.")]
Dynamic = Annotated[bool, typer.Option("-d", "--dynamic", help="A dynamic group (with -w).")]
Where = Annotated[
    list[str] | None,
    typer.Option("-w", help="attr==val, attr=~re, attr!=val, attr!~re (repeatable)."),
]


def split_args(
    args: list[str] | None, objects: str | None
) -> tuple[str | None, list[tuple[str, str]]]:
    """Split positional words into the object list and ``attr=value`` assignments."""
    names: list[str] = []
    assignments: list[tuple[str, str]] = []
    for word in args or []:
        attr, sep, value = word.partition("=")
        if sep and attr.strip() and not attr.startswith(("/", "^")):
            assignments.append((attr.strip(), value.strip()))
        else:
            names.append(word)
    if len(names) > 1:
        raise DefinitionError("noderange can not contain spaces.")
    if names and objects:
        raise DefinitionError("Cannot combine a noderange with the '-o' option.")
    return (names[0] if names else objects), assignments


def _run_define(req_fields: dict, args: list[str] | None, objects: str | None) -> None:
    def action() -> CommandReport:
        names, assignments = split_args(args, objects)
        stanza = sys.stdin.read() if req_fields.pop("stanza") else None
        req = DefineRequest(
            objects=names, assignments=tuple(assignments), stanza=stanza, **req_fields
        )
        with db.transaction() as conn:
            report, changes = define(ClusterView(conn), req)
            apply_changes(conn, changes)
        return report

    run_report(action)


def mkdef(
    args: Args = None,
    objtype: Types = None,
    objects: Objects = None,
    stanza: Stanza = False,
    force: Annotated[
        bool, typer.Option("-f", "--force", help="Replace existing definitions.")
    ] = False,
    dynamic: Dynamic = False,
    where: Where = None,
) -> None:
    """Create object definitions: mkdef [-t type] [-o names | noderange] [-f] attr=val ...
    or mkdef -z [-f] < stanza-file."""
    if not args and not stanza and not objects:
        fail("No object names were provided.")
    _run_define(
        {
            "command": "mkdef",
            "objtype": objtype,
            "stanza": stanza,
            "force": force,
            "dynamic": dynamic,
            "where": tuple(where or ()),
        },
        args,
        objects,
    )


def chdef(
    args: Args = None,
    objtype: Types = None,
    objects: Objects = None,
    stanza: Stanza = False,
    plus: Annotated[bool, typer.Option("-p", "--plus", help="Add to list values.")] = False,
    minus: Annotated[bool, typer.Option("-m", "--minus", help="Remove from list values.")] = False,
    newname: Annotated[str | None, typer.Option("-n", help="Rename the object.")] = None,
    dynamic: Dynamic = False,
    where: Where = None,
    force: Annotated[bool, typer.Option("-f", hidden=True)] = False,
) -> None:
    """Change object definitions (creating nodes that do not exist):
    chdef [-t type] [-o names | noderange] [-p|-m] attr=val ..., chdef -z < stanza-file,
    chdef [-t type] -n newname oldname."""
    if not args and not stanza and not objects:
        fail("No object names were provided.")
    _run_define(
        {
            "command": "chdef",
            "force": force,
            "objtype": objtype,
            "stanza": stanza,
            "plus": plus,
            "minus": minus,
            "newname": newname,
            "dynamic": dynamic,
            "where": tuple(where or ()),
        },
        args,
        objects,
    )


def rmdef(args: Args = None, objtype: Types = None, objects: Objects = None) -> None:
    """Remove object definitions: rmdef [-t type] [-o names | noderange]."""

    def action() -> CommandReport:
        names, assignments = split_args(args, objects)
        if assignments:
            raise DefinitionError("rmdef takes no attr=value arguments.")
        with db.transaction() as conn:
            report, changes = remove(
                ClusterView(conn), RemoveRequest(objtype=objtype, objects=names)
            )
            apply_changes(conn, changes)
        return report

    run_report(action)


def noderm(noderange: Annotated[str, typer.Argument(help="The nodes to remove.")]) -> None:
    """Remove nodes from every table: noderm noderange."""

    def action() -> CommandReport:
        with db.transaction() as conn:
            report, changes = remove_nodes(ClusterView(conn), noderange)
            apply_changes(conn, changes)
        return report

    run_report(action)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``snflow`` command."""
    for name, func in (("mkdef", mkdef), ("chdef", chdef), ("rmdef", rmdef), ("noderm", noderm)):
        app.command(name, context_settings=CONTEXT)(func)
