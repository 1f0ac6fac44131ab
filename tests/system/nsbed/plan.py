"""The namespace cluster's shape: namespaces, links, addresses (pure: no I/O).

One bed is a switch namespace holding two bridges, network "a" (MN-SNs) and network "b"
(SNs-CNs), and one namespace per host: the MN and each SN on "a" (``eth0``), each SN also
on "b" (``eth1``), each CN on "b" (``eth0``). Host names, service-node pairing and the
cluster database rows are the virtual cluster's (:func:`snflow.sim.layout.plan_layout`);
only the addresses differ: they come from the benchmarking range 198.18.0.0/15 (RFC 2544),
which no real network uses, and the bed refuses to start if the machine routes any of it.

>>> plan = plan_bed("snfbtest", service_nodes=2, nodes=4)
>>> [(h.name, h.netns, [i.address for i in h.links]) for h in plan.hosts][:4]
... # doctest: +NORMALIZE_WHITESPACE
[('mn', 'snfbtest-mn', ['198.18.0.254']), ('sn1', 'snfbtest-sn1', ['198.18.0.1', '198.19.0.1']),
 ('sn2', 'snfbtest-sn2', ['198.18.0.2', '198.19.0.2']), ('cn001', 'snfbtest-cn001', ['198.19.1.1'])]
>>> plan.host("cn003").gateway, plan.host("cn003").service_nodes
('198.19.0.2', ('sn2', 'sn1'))
"""

from __future__ import annotations

import ipaddress
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict

from snflow.sim.layout import SimHost, SimLayout, plan_layout
from snflow.sim.rows import mac_address

__all__ = [
    "NET_A",
    "NET_B",
    "PREFIX",
    "BedHost",
    "BedPlan",
    "Link",
    "plan_bed",
]

#: Every bed's names (namespaces, state directory) start with this.
PREFIX = "snfb"
NET_A = ipaddress.IPv4Network("198.18.0.0/24")
NET_B = ipaddress.IPv4Network("198.19.0.0/16")
MN_ADDRESS = "198.18.0.254"
SWITCH = "sw"
BRIDGES = {"a": "br-a", "b": "br-b"}

Role = Literal["mn", "sn", "cn"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Link(_Frozen):
    """One interface of a host, cabled to a bridge of the switch namespace."""

    network: Literal["a", "b"]
    ifname: str  # inside the host: eth0, eth1
    peer: str  # the switch side: a-sn1, b-cn001
    address: str
    prefixlen: int
    mac: str

    @property
    def cidr(self) -> str:
        return f"{self.address}/{self.prefixlen}"


class BedHost(_Frozen):
    """One host of the bed: its namespace, links and role."""

    name: str
    role: Role
    netns: str
    links: tuple[Link, ...]
    #: CN only: the primary SN's "b" address (the initial default route).
    gateway: str | None = None
    #: CN only: its servicenode list, primary first.
    service_nodes: tuple[str, ...] = ()
    #: SN only: its name on network "b".
    b_name: str | None = None

    @property
    def address(self) -> str:
        """The address the MN knows it by ("a" for the MN and SNs, "b" for CNs)."""
        return self.links[0].address

    def link(self, network: str) -> Link:
        return next(link for link in self.links if link.network == network)


class BedPlan(_Frozen):
    """Every namespace and link of one bed, named after its unique ``bed_id``."""

    bed_id: str
    hosts: tuple[BedHost, ...]
    #: The virtual cluster's layout with the bed's addresses: what the database describes.
    layout: SimLayout

    @property
    def switch(self) -> str:
        return f"{self.bed_id}-{SWITCH}"

    @property
    def namespaces(self) -> tuple[str, ...]:
        return (self.switch, *(h.netns for h in self.hosts))

    @cached_property
    def _by_name(self) -> dict[str, BedHost]:
        return {h.name: h for h in self.hosts}

    def host(self, name: str) -> BedHost:
        return self._by_name[name]

    def role(self, role: Role) -> tuple[BedHost, ...]:
        return tuple(h for h in self.hosts if h.role == role)

    @property
    def mn(self) -> BedHost:
        return self.role("mn")[0]

    @property
    def service_nodes(self) -> tuple[BedHost, ...]:
        return self.role("sn")

    @property
    def compute_nodes(self) -> tuple[BedHost, ...]:
        return self.role("cn")

    @property
    def networks(self) -> dict[str, ipaddress.IPv4Network]:
        return {"a": NET_A, "b": NET_B}


def _bed_address(sim_address: str, network: ipaddress.IPv4Network) -> str:
    """The sim's 127.x.H.L address moved into ``network`` (same last two bytes)."""
    third, fourth = sim_address.split(".")[2:]
    base = str(network.network_address).split(".")[:2]
    return ".".join([*base, third, fourth])


def _link(host: str, network: Literal["a", "b"], ifname: str, address: str) -> Link:
    net = NET_A if network == "a" else NET_B
    return Link(
        network=network,
        ifname=ifname,
        peer=f"{network}-{host}",
        address=address,
        prefixlen=net.prefixlen,
        mac=mac_address(address),
    )


def plan_bed(bed_id: str, service_nodes: int = 2, nodes: int = 8) -> BedPlan:
    """The bed called ``bed_id``: an MN, ``service_nodes`` SNs in backup pairs, ``nodes``
    CNs split evenly among them (the virtual cluster's names and pairing)."""
    sim = plan_layout(service_nodes, nodes)
    hosts = [
        BedHost(
            name="mn",
            role="mn",
            netns=f"{bed_id}-mn",
            links=(_link("mn", "a", "eth0", MN_ADDRESS),),
        )
    ]
    moved: list[SimHost] = []
    b_address: dict[str, str] = {}
    for sn in sim.service_nodes:
        a = _bed_address(sn.address, NET_A)
        b = _bed_address(sn.b_address or "", NET_B)
        b_address[sn.name] = b
        hosts.append(
            BedHost(
                name=sn.name,
                role="sn",
                netns=f"{bed_id}-{sn.name}",
                links=(
                    _link(sn.name, "a", "eth0", a),
                    _link(sn.name, "b", "eth1", b),
                ),
                b_name=sn.b_name,
            )
        )
        moved.append(sn.model_copy(update={"address": a, "b_address": b}))
    for cn in sim.compute_nodes:
        address = _bed_address(cn.address, NET_B)
        hosts.append(
            BedHost(
                name=cn.name,
                role="cn",
                netns=f"{bed_id}-{cn.name}",
                links=(_link(cn.name, "b", "eth0", address),),
                gateway=b_address[cn.service_nodes[0]],
                service_nodes=cn.service_nodes,
            )
        )
        peers = tuple(b_address[s] for s in cn.service_nodes)
        moved.append(cn.model_copy(update={"address": address, "allowed_peers": peers}))
    return BedPlan(bed_id=bed_id, hosts=tuple(hosts), layout=SimLayout(hosts=tuple(moved)))
