"""``snflow makedhcp <noderange> | -a | -d <noderange> | -a -d | -n | -q <noderange>``.

Host entries go to every DHCP server of each node's ``servicenode`` pool (both SNs), the
management node for nodes without one; ``-n`` writes the networks. See
:mod:`snflow.flows.makedhcp`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from snflow.cli._common import CONTEXT, fail
from snflow.cli._services import build_request, run_service_flow
from snflow.models.servicerun import MakedhcpRequest

__all__ = ["makedhcp", "register"]


def makedhcp(
    noderange: Annotated[str | None, typer.Argument(help="Nodes.", show_default=False)] = None,
    all_nodes: Annotated[
        bool, typer.Option("-a", "--all", help="Every node with a MAC (with -d: every entry).")
    ] = False,
    delete: Annotated[bool, typer.Option("-d", "--delete", help="Remove the entries.")] = False,
    networks: Annotated[
        bool, typer.Option("-n", "--new", help="Write the networks (subnets, ranges).")
    ] = False,
    query: Annotated[bool, typer.Option("-q", "--query", help="Show the entries.")] = False,
) -> None:
    """Write DHCP entries on both service nodes of each node (xCAT makedhcp):
    makedhcp <noderange> | -a | -d <noderange> | -a -d | -n | -q <noderange>

    Each DHCP host's file is checked (dhcpd -t / kea-dhcp4 -t) before it is installed, and
    its service is reloaded only when the file changed. Exit status 1 when a host failed.
    """
    if sum((delete, networks, query)) > 1:
        fail("use only one of -d, -n and -q")
    action = "delete" if delete else "networks" if networks else "query" if query else "add"
    request = build_request(
        MakedhcpRequest, action=action, noderange=noderange or "", all_nodes=all_nodes
    )
    run_service_flow("makedhcp", request)


def register(app: typer.Typer) -> None:
    """Add this module's command to the ``snflow`` command."""
    app.command("makedhcp", context_settings=CONTEXT)(makedhcp)
