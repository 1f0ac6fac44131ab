"""How the management node reaches each node over SSH: directly, or through a service node.

Pure planning: the node list, each node's ``servicenode`` value and the ``hosts`` addresses
go in; one :class:`Route` per node comes out. No I/O, no sockets, no database.

A compute node's route lists its service nodes in ``servicenode`` order (MN-facing names):
the SSH layer tries them in turn and opens a ``direct-tcpip`` channel to the node's address
(as the service node sees it) on the first one that works. An entry naming the management
node means "directly from here": first in the list, the route is direct; later in the
list, a direct connection is the last resort (:attr:`Route.direct_fallback`). A node with
no service node is reached directly.

>>> routes = plan_routes(
...     ["cn1", "sn1"],
...     {"cn1": "sn1,sn2", "sn1": None},
...     {"cn1": "127.20.1.1", "sn1": "127.10.0.1"},
...     {"mn"},
...     2222,
... )
>>> routes["cn1"].describe(), routes["sn1"].describe()
('cn1 (127.20.1.1:2222) via sn1, sn2', 'sn1 (127.10.0.1:2222) direct')

Not here: service nodes behind other service nodes (a route has one hop at most), name
resolution (an address missing from ``addresses`` is the name itself, left to the system
resolver), and the SSH work itself (``snflow.tasks.ssh``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Iterable, Mapping

from pydantic import BaseModel, ConfigDict, Field

from snflow.models.errors import NodeNameError

__all__ = [
    "Endpoint",
    "Route",
    "parse_servicenodes",
    "plan_routes",
    "validate_address",
    "validate_node_name",
]

# A host name as SSH sees it: DNS labels (letters, digits, '-', '_'), dot separated.
_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?")
_MAX_NAME = 253


class Endpoint(BaseModel):
    """One SSH server: a host's name (its identity in known_hosts), address and port."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Host name as the management node knows it.")
    address: str = Field(description="Address to connect to (from the route's last hop).")
    port: int = Field(ge=1, le=65535, description="SSH port.")

    def __str__(self) -> str:
        return f"{self.name} ({self.address}:{self.port})"


class Route(BaseModel):
    """How to reach ``target``: through the first working entry of ``via``, else directly.

    ``via`` empty means direct. ``direct_fallback`` means a direct connection is tried
    after every service node in ``via`` failed (the management node was listed later).
    """

    model_config = ConfigDict(frozen=True)

    target: Endpoint
    via: tuple[Endpoint, ...] = ()
    direct_fallback: bool = False

    @property
    def node(self) -> str:
        """The target's name."""
        return self.target.name

    @property
    def direct(self) -> bool:
        """True when no service node is involved."""
        return not self.via

    def describe(self) -> str:
        """``cn1 (addr:port) via sn1, sn2`` or ``... direct`` (for messages and logs)."""
        if not self.via:
            return f"{self.target} direct"
        hops = ", ".join(sn.name for sn in self.via)
        return f"{self.target} via {hops}" + (", then direct" if self.direct_fallback else "")


def validate_node_name(name: str) -> str:
    """Return ``name`` if it is safe as an SSH host name, else raise :class:`NodeNameError`.

    Allowed: letters, digits, ``-``, ``_`` and ``.``, not starting or ending with ``-`` or
    ``.``, at most 253 characters. (Node *definitions* follow the stricter
    :func:`snflow.models.names.check_object_name`; this check is for anything that will be
    connected to, service node entries included.)

    >>> validate_node_name("cn001.cluster")
    'cn001.cluster'
    >>> validate_node_name("cn1;reboot")
    Traceback (most recent call last):
    ...
    snflow.models.errors.NodeNameError: invalid node name: "cn1;reboot"
    """
    if len(name) <= _MAX_NAME and _NAME.fullmatch(name):
        return name
    raise NodeNameError(f'invalid node name: "{name}"', name)


def validate_address(address: str, *, host: str) -> str:
    """Return ``address`` (an IP address or a host name) or raise :class:`NodeNameError`
    naming ``host``, whose address it is."""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        pass
    if len(address) <= _MAX_NAME and _NAME.fullmatch(address):
        return address
    raise NodeNameError(f'invalid address "{address}" for host "{host}"', address)


def parse_servicenodes(value: str | None) -> tuple[str, ...]:
    """The entries of a ``servicenode`` value in order, blanks and repeats dropped.

    >>> parse_servicenodes(" sn1a, sn2a,,sn1a ")
    ('sn1a', 'sn2a')
    >>> parse_servicenodes(None)
    ()
    """
    seen: dict[str, None] = {}
    for part in (value or "").split(","):
        entry = part.strip()
        if entry:
            seen.setdefault(entry, None)
    return tuple(seen)


def _endpoint(name: str, addresses: Mapping[str, str], port: int) -> Endpoint:
    validate_node_name(name)
    address = addresses.get(name) or name
    return Endpoint(name=name, address=validate_address(address, host=name), port=port)


def plan_routes(
    nodes: Iterable[str],
    servicenodes: Mapping[str, str | None],
    addresses: Mapping[str, str],
    master_names: Collection[str],
    port: int,
) -> dict[str, Route]:
    """One :class:`Route` per node, in the order of ``nodes``.

    :param nodes: the nodes to reach (validated with :func:`validate_node_name`).
    :param servicenodes: node -> its effective ``noderes.servicenode`` (comma list, first
        = primary; ``None`` or empty: no service node).
    :param addresses: host name -> address (``hosts.ip``); a missing name is its own address.
        For a service node, its MN-facing address; for a compute node, the address its
        service node reaches it at.
    :param master_names: names (or addresses) that mean the management node itself
        (``site.master``, the MN's host name): such entries mean "direct".
    :param port: SSH port of every node.
    :raises NodeNameError: a node, service node or address that is not a valid host name.
    """
    master = {*master_names, *(addresses[m] for m in master_names if m in addresses)}
    routes: dict[str, Route] = {}
    for node in nodes:
        target = _endpoint(node, addresses, port)
        via: list[Endpoint] = []
        direct_fallback = False
        for entry in parse_servicenodes(servicenodes.get(node)):
            if entry == node:
                continue  # a node cannot be its own hop
            if entry in master or addresses.get(entry) in master:
                direct_fallback = True
                break  # the MN serves the node: direct is the last resort, later entries unused
            via.append(_endpoint(entry, addresses, port))
        routes[node] = Route(
            target=target, via=tuple(via), direct_fallback=direct_fallback and bool(via)
        )
    return routes
