"""``snflow tabdump``: the tables, or one table in xCAT's CSV (xCAT's tabdump)."""

from __future__ import annotations

from typing import Annotated

import typer

from snflow.cli._common import CONTEXT, run_report
from snflow.models import db
from snflow.models.errors import DefinitionError
from snflow.models.report import CommandReport
from snflow.models.tables import dump_table, table_columns, table_names

__all__ = ["register", "tabdump"]


def tabdump(
    table: Annotated[
        str | None, typer.Argument(help="The table to dump (default: list the tables).")
    ] = None,
    describe: Annotated[
        bool, typer.Option("-d", help="List the table's columns instead of its rows.")
    ] = False,
) -> None:
    """Dump a table as CSV: tabdump [-d] [table]. Without a table: the table names."""

    def action() -> CommandReport:
        report = CommandReport()
        if table is None:
            report.info("\n".join(table_names()))
        elif describe:
            report.info("\n".join(table_columns(table)))
        elif table not in table_names():
            raise DefinitionError(f"No such table: {table}")
        else:
            with db.read_connection() as conn:
                report.info(dump_table(conn, table))
        return report

    run_report(action)


def register(app: typer.Typer) -> None:
    """Add this module's command to the ``snflow`` command."""
    app.command("tabdump", context_settings=CONTEXT)(tabdump)
