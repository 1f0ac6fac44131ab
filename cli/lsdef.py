"""``snflow lsdef``: list object definitions (xCAT's lsdef), a read-only query."""

from __future__ import annotations

from typing import Annotated

import typer

from snflow.cli._common import CONTEXT, run_report
from snflow.models import db
from snflow.models.cluster import ClusterView
from snflow.models.errors import DefinitionError
from snflow.models.listing import LsdefRequest, list_definitions
from snflow.models.report import CommandReport

__all__ = ["lsdef", "register"]


def lsdef(
    noderange: Annotated[
        list[str] | None,
        typer.Argument(
            help="Noderange (nodes) or comma-separated object names.", show_default=False
        ),
    ] = None,
    types: Annotated[
        str | None,
        typer.Option(
            "-t", help="Object types, comma separated: node (default), group, network, site."
        ),
    ] = None,
    objects: Annotated[
        str | None, typer.Option("-o", help="Object names (a noderange for nodes).")
    ] = None,
    attrs: Annotated[
        str | None, typer.Option("-i", help="Only these attributes, comma separated.")
    ] = None,
    compress: Annotated[
        bool, typer.Option("-c", "--compress", help="'name: attr=value' lines (with -i).")
    ] = False,
    long: Annotated[bool, typer.Option("-l", "--long", help="Every attribute.")] = False,
    short: Annotated[bool, typer.Option("-s", "--short", help="Names only.")] = False,
    stanza: Annotated[
        bool, typer.Option("-z", "--stanza", help="Stanza format (mkdef -z).")
    ] = False,
    where: Annotated[
        list[str] | None,
        typer.Option("-w", help="attr==val, attr=~re, attr!=val, attr!~re (repeatable; all hold)."),
    ] = None,
    all_types: Annotated[
        bool, typer.Option("-a", "--all", help="Every object of every type.")
    ] = False,
    show_hidden: Annotated[bool, typer.Option("-S", help="Include hidden nodes.")] = False,
) -> None:
    """List object definitions: lsdef [-t types] [-o names | noderange] [-l|-s] [-i attrs [-c]]
    [-w attr==val ...] [-z]. Without arguments: lsdef -t node -s."""

    def action() -> CommandReport:
        if noderange and len(noderange) > 1:
            raise DefinitionError("noderange can not contain spaces.")
        if noderange and objects:
            raise DefinitionError("Cannot combine a noderange with the '-o' option.")
        request = LsdefRequest(
            types=types,
            objects=noderange[0] if noderange else objects,
            attrs=attrs,
            all_types=all_types,
            compress=compress,
            long=long,
            short=short,
            stanza=stanza,
            where=tuple(where or ()),
            show_hidden=show_hidden,
        )
        with db.read_connection() as conn:
            return list_definitions(ClusterView(conn), request)

    run_report(action)


def register(app: typer.Typer) -> None:
    """Add this module's command to the ``snflow`` command."""
    app.command("lsdef", context_settings=CONTEXT)(lsdef)
