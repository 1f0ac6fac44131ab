"""``snflow nodeset <noderange> [osimage[=<name>]]``: the nodes' network-boot files on
every TFTP server of their pools (the part of xCAT's nodeset a move needs). See
:mod:`snflow.flows.nodeset`."""

from __future__ import annotations

from typing import Annotated

import typer

from snflow.cli._common import CONTEXT, fail
from snflow.cli._services import build_request, run_service_flow
from snflow.models.servicerun import NodesetRequest

__all__ = ["nodeset", "parse_action", "register"]


def parse_action(action: str | None) -> str | None:
    """The image an action names: ``osimage=NAME`` -> NAME; ``osimage`` or none -> None
    (each node's provmethod). Anything else is an error."""
    if action is None or action == "osimage":
        return None
    name, sep, value = action.partition("=")
    if name == "osimage" and sep and value.strip():
        return value.strip()
    fail(f"nodeset: Invalid argument: {action} (use osimage or osimage=<imagename>)")


def nodeset(
    noderange: Annotated[str, typer.Argument(help="Nodes.", show_default=False)],
    action: Annotated[
        str | None,
        typer.Argument(
            help="osimage[=<imagename>] (default: nodetype.provmethod).", show_default=False
        ),
    ] = None,
) -> None:
    """Write the network-boot files of nodes (xCAT nodeset):
    nodeset <noderange> [osimage[=<imagename>]]

    pxelinux, xnba or grub2 files (by noderes.netboot) go to the TFTP root of every
    service node of each node's pool, naming the node's boot server and its image.
    Exit status 1 when a host failed.
    """
    request = build_request(NodesetRequest, noderange=noderange, osimage=parse_action(action))
    run_service_flow("nodeset", request)


def register(app: typer.Typer) -> None:
    """Add this module's command to the ``snflow`` command."""
    app.command("nodeset", context_settings=CONTEXT)(nodeset)
