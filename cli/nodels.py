"""``snflow nodels``: list nodes and their effective attributes (xCAT's nodels)."""

from __future__ import annotations

from typing import Annotated

import typer

from snflow.cli._common import CONTEXT, run_report
from snflow.models import db
from snflow.models.cluster import ClusterView
from snflow.models.listing import list_nodes
from snflow.models.report import CommandReport

__all__ = ["nodels", "register"]


def nodels(
    noderange: Annotated[
        str | None, typer.Argument(help="Nodes to list (default: every node).", show_default=False)
    ] = None,
    columns: Annotated[
        list[str] | None,
        typer.Argument(
            help="table.column, a table, groups/tags/mgt, or a selection like nodehm.mgt==ipmi.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """List nodes in natural order: nodels [noderange] [table.column ...].
    Values are effective: inherited from groups, regex values evaluated."""

    def action() -> CommandReport:
        with db.read_connection() as conn:
            return list_nodes(ClusterView(conn), noderange, tuple(columns or ()))

    run_report(action)


def register(app: typer.Typer) -> None:
    """Add this module's command to the ``snflow`` command."""
    app.command("nodels", context_settings=CONTEXT)(nodels)
