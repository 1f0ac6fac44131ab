"""``snflow chtab``: change rows of a table directly (xCAT's chtab), in one transaction."""

from __future__ import annotations

from typing import Annotated

import typer

from snflow.cli._common import CONTEXT, run_report
from snflow.models import db
from snflow.models.report import CommandReport
from snflow.models.tables import apply_chtab, parse_chtab

__all__ = ["chtab", "register"]


def chtab(
    args: Annotated[
        list[str],
        typer.Argument(
            help="key=value[,key=value] ... table.column=value | table.column+=value ... "
            "(with -d: key=value ... table ...)",
            show_default=False,
        ),
    ],
    delete: Annotated[
        bool, typer.Option("-d", "--delete", help="Delete the matching rows of the tables.")
    ] = False,
) -> None:
    """Set, append to, or delete table rows: chtab key=value table.column=value ...,
    chtab key=value table.column+=value, chtab -d key=value table ...
    Values are written as given (no inheritance); nothing is written on any error."""

    def action() -> CommandReport:
        request = parse_chtab(args, delete=delete)
        with db.transaction() as conn:
            return apply_chtab(conn, request)

    run_report(action)


def register(app: typer.Typer) -> None:
    """Add this module's command to the ``snflow`` command."""
    app.command("chtab", context_settings=CONTEXT)(chtab)
