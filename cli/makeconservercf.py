"""``snflow makeconservercf [noderange] [-d] [-C]``: console configuration (xCAT's
makeconservercf) on the management node and the conserver service nodes. See
:mod:`snflow.flows.makeconservercf`."""

from __future__ import annotations

from typing import Annotated

import typer

from snflow.cli._common import CONTEXT
from snflow.cli._services import build_request, run_service_flow
from snflow.models.servicerun import ConservercfRequest

__all__ = ["makeconservercf", "register"]


def makeconservercf(
    noderange: Annotated[
        str | None, typer.Argument(help="Nodes (default: all).", show_default=False)
    ] = None,
    delete: Annotated[
        bool, typer.Option("-d", "--delete", help="Remove the nodes' console entries.")
    ] = False,
    cleanup: Annotated[
        bool, typer.Option("-C", "--cleanup", help="Remove entries of undefined nodes.")
    ] = False,
) -> None:
    """Write console entries (xCAT makeconservercf): makeconservercf [noderange] [-d] [-C]

    The management node's conserver.cf points at the service node that owns each console
    (master); that SN's file holds the console itself. Each file is checked with
    conserver -S before it is installed, and conserver is reloaded only where the file
    changed. Exit status 1 when a host failed.
    """
    request = build_request(
        ConservercfRequest, noderange=noderange or "", delete=delete, cleanup=cleanup
    )
    run_service_flow("makeconservercf", request)


def register(app: typer.Typer) -> None:
    """Add this module's command to the ``snflow`` command."""
    app.command("makeconservercf", context_settings=CONTEXT)(makeconservercf)
