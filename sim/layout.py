"""The virtual cluster's shape: host names, loopback addresses, service-node pairing.

Pure planning: no I/O, no sockets, no database. Two ways to get a :class:`SimLayout`:

* :func:`plan_layout` invents a cluster the way the xCAT procedure lays one out: SNs
  ``sn1..snK`` in pairs that back each other up, CNs ``cn001..`` split evenly among them.

  >>> layout = plan_layout(service_nodes=2, nodes=4)
  >>> [(h.name, h.address) for h in layout.hosts]  # doctest: +NORMALIZE_WHITESPACE
  [('sn1', '127.10.0.1'), ('sn2', '127.10.0.2'), ('cn001', '127.20.1.1'),
   ('cn002', '127.20.1.2'), ('cn003', '127.20.1.3'), ('cn004', '127.20.1.4')]
  >>> layout.host("cn003").service_nodes, layout.host("cn003").allowed_peers
  (('sn2', 'sn1'), ('127.20.0.2', '127.20.0.1'))

* :func:`layout_from_definitions` serves the nodes a cluster database already defines
  (any names), keeping the addresses that suit the simulation and assigning the rest.

Addresses: network "a" (MN-SNs) is 127.10.0.0/16, SN *i* at ``127.10.0.i``; network "b"
(SNs-CNs) is 127.20.0.0/16, SN *i* at ``127.20.0.i`` and CN *k* (1-based) at
``127.20.H.L`` with ``H = 1 + (k-1) // 250``, ``L = 1 + (k-1) % 250``. The MN is 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict

from snflow.models.natsort import natural_sorted
from snflow.sim.errors import SimError

__all__ = [
    "MAX_NODES",
    "MAX_SERVICE_NODES",
    "MN_ADDRESS",
    "MN_NAME",
    "NETWORK_A",
    "NETWORK_B",
    "NodeDefinition",
    "SimHost",
    "SimLayout",
    "backup_of",
    "cn_address",
    "cn_name",
    "format_otherinterfaces",
    "layout_from_definitions",
    "parse_otherinterfaces",
    "plan_layout",
    "sn_address",
    "sn_b_address",
    "sn_b_name",
    "sn_name",
    "split_evenly",
]

MN_NAME = "mn"
MN_ADDRESS = "127.0.0.1"
#: (net, mask) of network "a" (MN-SNs) and "b" (SNs-CNs), as in the ``networks`` table.
NETWORK_A = ("127.10.0.0", "255.255.0.0")
NETWORK_B = ("127.20.0.0", "255.255.0.0")
MAX_SERVICE_NODES = 250
MAX_NODES = 250 * 254

_NET_A = ipaddress.IPv4Network("127.10.0.0/16")
_NET_B = ipaddress.IPv4Network("127.20.0.0/16")
_SN_B_RANGE = ipaddress.IPv4Network("127.20.0.0/24")

Role = Literal["sn", "cn"]


class SimHost(BaseModel):
    """One simulated host and what its SSH server needs to know."""

    model_config = ConfigDict(frozen=True)

    name: str
    role: Role
    #: Where its SSH server listens: network "a" for an SN, "b" for a CN.
    address: str
    #: SN only: its name and address on network "b" (its forwarded connections come from there).
    b_name: str | None = None
    b_address: str | None = None
    #: CN only: its ``servicenode`` list (MN-facing names), primary first.
    service_nodes: tuple[str, ...] = ()
    #: The peer addresses its SSH server accepts connections from.
    allowed_peers: tuple[str, ...] = (MN_ADDRESS,)


class SimLayout(BaseModel):
    """Every simulated host, SNs first, each group in natural order."""

    model_config = ConfigDict(frozen=True)

    hosts: tuple[SimHost, ...]

    @cached_property
    def _by_name(self) -> dict[str, SimHost]:
        return {h.name: h for h in self.hosts}

    def host(self, name: str) -> SimHost:
        """The host called ``name``; :class:`SimError` if there is none."""
        try:
            return self._by_name[name]
        except KeyError:
            raise SimError(f'unknown host: "{name}"', host=name) from None

    @property
    def service_nodes(self) -> tuple[SimHost, ...]:
        return tuple(h for h in self.hosts if h.role == "sn")

    @property
    def compute_nodes(self) -> tuple[SimHost, ...]:
        return tuple(h for h in self.hosts if h.role == "cn")


class NodeDefinition(BaseModel):
    """What :func:`layout_from_definitions` needs of one node of the cluster database."""

    model_config = ConfigDict(frozen=True)

    name: str
    groups: tuple[str, ...] = ()
    service_nodes: tuple[str, ...] = ()
    xcatmaster: str | None = None
    ip: str | None = None
    otherinterfaces: str | None = None


def sn_name(i: int) -> str:
    return f"sn{i}"


def sn_b_name(i: int) -> str:
    return f"sn{i}-b"


def sn_address(i: int) -> str:
    return f"127.10.0.{i}"


def sn_b_address(i: int) -> str:
    return f"127.20.0.{i}"


def cn_name(k: int) -> str:
    """``cn001``, ..., ``cn999``, ``cn1000``, ... (natural order is numeric order)."""
    return f"cn{k:03d}"


def cn_address(k: int) -> str:
    """Address of CN number ``k`` (1-based): ``127.20.1.1`` up to ``127.20.1.250``, then
    ``127.20.2.1``...; never in 127.20.0.0/24, where the SNs' "b" addresses are."""
    if not 1 <= k <= MAX_NODES:
        raise SimError(f"compute node number out of range: {k} (1..{MAX_NODES})")
    high, low = divmod(k - 1, 250)
    return f"127.20.{high + 1}.{low + 1}"


def backup_of(i: int, count: int) -> int | None:
    """The SN backing up SN ``i`` of ``count``: 2j-1 and 2j pair up; an odd last one pairs
    with sn1; a lone SN has none.

    >>> [backup_of(i, 3) for i in (1, 2, 3)]
    [2, 1, 1]
    """
    if count < 2:
        return None
    if i % 2 == 0:
        return i - 1
    return i + 1 if i + 1 <= count else 1


def split_evenly(total: int, parts: int) -> list[range]:
    """Contiguous 1-based blocks of ``total`` items over ``parts``, sizes differing by one
    at most, the larger first.

    >>> split_evenly(5, 2)
    [range(1, 4), range(4, 6)]
    """
    size, extra = divmod(total, parts)
    blocks, start = [], 1
    for p in range(parts):
        stop = start + size + (1 if p < extra else 0)
        blocks.append(range(start, stop))
        start = stop
    return blocks


def plan_layout(service_nodes: int = 2, nodes: int = 32) -> SimLayout:
    """The procedure's layout: ``service_nodes`` SNs in backup pairs, ``nodes`` CNs."""
    if not 1 <= service_nodes <= MAX_SERVICE_NODES:
        raise SimError(f"invalid number of service nodes: {service_nodes} (1..{MAX_SERVICE_NODES})")
    if not 0 <= nodes <= MAX_NODES:
        raise SimError(f"invalid number of compute nodes: {nodes} (0..{MAX_NODES})")
    hosts = [
        SimHost(
            name=sn_name(i),
            role="sn",
            address=sn_address(i),
            b_name=sn_b_name(i),
            b_address=sn_b_address(i),
        )
        for i in range(1, service_nodes + 1)
    ]
    for i, block in enumerate(split_evenly(nodes, service_nodes), start=1):
        backup = backup_of(i, service_nodes)
        pair = (i,) if backup is None else (i, backup)
        for k in block:
            hosts.append(
                SimHost(
                    name=cn_name(k),
                    role="cn",
                    address=cn_address(k),
                    service_nodes=tuple(sn_name(j) for j in pair),
                    allowed_peers=tuple(sn_b_address(j) for j in pair),
                )
            )
    return SimLayout(hosts=tuple(hosts))


def parse_otherinterfaces(text: str | None) -> list[tuple[str, str]]:
    """``hosts.otherinterfaces`` (``name:ip,name2:ip2``) as (name, ip) pairs.

    >>> parse_otherinterfaces("sn1-b:127.20.0.1, sn1-ib:10.1.0.1")
    [('sn1-b', '127.20.0.1'), ('sn1-ib', '10.1.0.1')]
    """
    pairs = []
    for part in (text or "").split(","):
        name, sep, address = part.strip().partition(":")
        if sep and name and address:
            pairs.append((name, address))
    return pairs


def format_otherinterfaces(pairs: Sequence[tuple[str, str]]) -> str:
    return ",".join(f"{name}:{address}" for name, address in pairs)


def _address_in(text: str | None, network: ipaddress.IPv4Network) -> str | None:
    """``text`` if it is a usable host address (last byte 1..254) inside ``network``."""
    try:
        address = ipaddress.IPv4Address((text or "").strip())
    except ValueError:
        return None
    last = int(address) & 0xFF
    return str(address) if address in network and 1 <= last <= 254 else None


def _free_addresses(network: ipaddress.IPv4Network, thirds: range) -> Iterator[str]:
    """Usable addresses of the /16 ``network`` in order, third byte in ``thirds``."""
    base = str(network.network_address).rsplit(".", 2)[0]
    for third in thirds:
        for last in range(1, 255):
            yield f"{base}.{third}.{last}"


def layout_from_definitions(nodes: Sequence[NodeDefinition]) -> SimLayout:
    """Serve the nodes a database defines: SNs are the members of group ``service`` and
    the nodes named in a ``servicenode`` list; every other node is a CN.

    An address already suited to the simulation is kept (an SN's ``hosts.ip`` in
    127.10.0.0/16, its network "b" entry of ``otherinterfaces`` in 127.20.0.0/24, a CN's
    ``hosts.ip`` elsewhere in 127.20.0.0/16), any other gets a free one. An SN's name on
    network "b" is the one its ``otherinterfaces`` gives, else its CNs' ``xcatmaster``,
    else ``<name>-b``. A CN accepts connections from the "b" address of each SN in its
    ``servicenode`` list, and from the MN for an entry that is not an SN (or none at all).
    """
    if not nodes:
        raise SimError("the cluster database defines no nodes to serve")
    by_name = {n.name: n for n in nodes}
    sn_names = {n.name for n in nodes if "service" in n.groups}
    sn_names |= {s for n in nodes for s in n.service_nodes if s in by_name}
    sns = natural_sorted(sn_names)
    cns = natural_sorted(set(by_name) - sn_names)

    xcatmasters: dict[str, str] = {}
    for name in cns:
        node = by_name[name]
        master = (node.xcatmaster or "").strip()
        if node.service_nodes and master and _address_in(master, _NET_B) is None:
            xcatmasters.setdefault(node.service_nodes[0], master)

    used: set[str] = set()

    def keep(address: str | None) -> str | None:
        if address is None or address in used:
            return None
        used.add(address)
        return address

    kept_a = {s: keep(_address_in(by_name[s].ip, _NET_A)) for s in sns}
    kept_b: dict[str, tuple[str, str | None]] = {}
    for s in sns:
        pairs = parse_otherinterfaces(by_name[s].otherinterfaces)
        in_b = [(n, a) for n, a in pairs if _address_in(a, _SN_B_RANGE)]
        if in_b:
            kept_b[s] = (in_b[0][0], keep(in_b[0][1]))
        else:
            name = pairs[0][0] if pairs else xcatmasters.get(s, f"{s}-b")
            kept_b[s] = (name, None)
    kept_cn = {}
    for c in cns:
        address = _address_in(by_name[c].ip, _NET_B)
        in_sn_range = address is not None and ipaddress.IPv4Address(address) in _SN_B_RANGE
        kept_cn[c] = keep(None if in_sn_range else address)

    free_a = (a for a in _free_addresses(_NET_A, range(256)) if a not in used)
    free_sn_b = (a for a in _free_addresses(_NET_B, range(1)) if a not in used)
    free_cn = (a for a in _free_addresses(_NET_B, range(1, 256)) if a not in used)
    try:
        hosts = []
        b_address: dict[str, str] = {}
        for s in sns:
            b_name, b_addr = kept_b[s]
            b_address[s] = b_addr or next(free_sn_b)
            hosts.append(
                SimHost(
                    name=s,
                    role="sn",
                    address=kept_a[s] or next(free_a),
                    b_name=b_name,
                    b_address=b_address[s],
                )
            )
        for c in cns:
            servers = by_name[c].service_nodes
            peers = [b_address.get(s, MN_ADDRESS) for s in servers] or [MN_ADDRESS]
            hosts.append(
                SimHost(
                    name=c,
                    role="cn",
                    address=kept_cn[c] or next(free_cn),
                    service_nodes=servers,
                    allowed_peers=tuple(dict.fromkeys(peers)),
                )
            )
    except StopIteration:
        raise SimError("too many nodes for the virtual cluster's address ranges") from None
    return SimLayout(hosts=tuple(hosts))
