"""Routes of nodes read from the cluster database (the one database read of the SSH layer).

:func:`routes_for` reads each node's effective ``noderes.servicenode`` and the ``hosts.ip``
of the nodes and their service nodes (one query per table, through
:class:`~snflow.models.cluster.ClusterView`), then plans with the pure
:func:`~snflow.models.routes.plan_routes`. It opens no SSH connection.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING

from snflow.models.defspec import Column
from snflow.models.routes import Route, parse_servicenodes, plan_routes
from snflow.models.settings import get_settings

if TYPE_CHECKING:
    from snflow.models.cluster import ClusterView

__all__ = ["master_names", "routes_for"]

SERVICENODE = Column("noderes", "servicenode")
HOST_IP = Column("hosts", "ip")


def master_names(view: ClusterView) -> set[str]:
    """Names that mean the management node: ``site.master`` and this host's name."""
    names = {socket.gethostname()}
    names.add(socket.gethostname().split(".", 1)[0])
    master = view.site.get("master", "").strip()
    if master:
        names.add(master)
    return {n for n in names if n}


def routes_for(
    view: ClusterView, nodes: Iterable[str], port: int | None = None
) -> dict[str, Route]:
    """One route per node (in the given order); ``port`` defaults to ``ssh.port``.

    :raises NodeNameError: a node or service node name, or an address, that is not valid.
    """
    nodes = list(nodes)
    servicenodes = view.column_values(nodes, SERVICENODE)
    hosts = dict.fromkeys(nodes)
    for value in servicenodes.values():
        hosts.update(dict.fromkeys(parse_servicenodes(value)))
    addresses = {h: ip.strip() for h, ip in view.column_values(list(hosts), HOST_IP).items()}
    return plan_routes(
        nodes,
        servicenodes,
        {h: ip for h, ip in addresses.items() if ip},
        master_names(view),
        port if port is not None else get_settings().ssh.port,
    )
