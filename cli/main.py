"""The ``snflow`` command: xCAT's commands, one module each, composed here.

Commands are thin: parse the xCAT-style command line, call one query, definition
operation or flow, print its report. Modules that need Prefect import it inside the
command, so plain queries (``lsdef``, ``nodels``) start fast.
"""

from __future__ import annotations

import typer

from snflow.cli import chtab, db, defs, demo, lsdef, nodels, server, sim, tabdump
from snflow.cli._common import CONTEXT, GROUP_CONTEXT

__all__ = ["app", "main"]

app = typer.Typer(
    name="snflow",
    help="Service-node failover for HPC clusters (xCAT's snmove, xdcp, ...) as Prefect flows.",
    context_settings=GROUP_CONTEXT,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

for _name, _func in (
    ("nodels", nodels.nodels),
    ("lsdef", lsdef.lsdef),
    ("mkdef", defs.mkdef),
    ("chdef", defs.chdef),
    ("rmdef", defs.rmdef),
    ("noderm", defs.noderm),
    ("tabdump", tabdump.tabdump),
    ("chtab", chtab.chtab),
    ("demo", demo.demo),
):
    app.command(_name, context_settings=CONTEXT)(_func)
app.add_typer(db.app, name="db")
app.add_typer(server.app, name="server")
app.add_typer(sim.app, name="sim")


def main() -> None:
    """Entry point of the ``snflow`` console script."""
    app()
