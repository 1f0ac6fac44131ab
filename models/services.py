"""What the service planners read: the cluster as seen by DHCP, TFTP and conserver.

A task reads the database once and builds a :class:`ServiceState`: per node the attributes
that feed DHCP entries, boot files and consoles (:class:`NodeInfo`), per service host (each
service node and the management node) its names and addresses (:class:`ServiceHost`), the
``networks`` rows (:class:`Network`) and the ``site`` values (:class:`Site`). The planners
in :mod:`~snflow.models.dhcp`, :mod:`~snflow.models.bootfiles` and
:mod:`~snflow.models.conserver` turn it into per-host files.

The shared helpers here resolve the names the database stores (``<xcatmaster>``,
node-facing host names, IP literals) to addresses, parse xCAT's ``mac`` column, and
collect every problem of a run into one :class:`ServiceConfigError`.

This module is pure: no I/O, no resolver, no subprocess; names resolve only through the
state.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from snflow.models.errors import SnflowError
from snflow.models.natsort import natural_key

__all__ = [
    "XCATMASTER",
    "Facing",
    "Interface",
    "MacEntry",
    "Network",
    "NodeInfo",
    "OsImage",
    "ServiceConfigError",
    "ServiceHost",
    "ServiceState",
    "Site",
    "check_header",
    "facing",
    "hex_ip",
    "make_header",
    "parse_macs",
    "pool_hosts",
    "server_address",
    "sorted_nodes",
]

XCATMASTER = "<xcatmaster>"
"""The placeholder value meaning "the node's own service node" (tftpserver, gateway, ...)."""

_MAC = re.compile(r"^[0-9a-f]{2}([:-]?)[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}$")
_FALSE = frozenset({"0", "no", "n", "false", "off"})


class ServiceConfigError(SnflowError, ValueError):
    """The database describes DHCP, boot or console configuration that cannot be written.

    Every problem found in one run is collected: ``problems`` lists them, one line each,
    and the message is those lines joined.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))

    @classmethod
    def raise_if_any(cls, problems: Sequence[str]) -> None:
        """Raise one error holding ``problems`` (duplicates dropped, order kept), if any."""
        if problems:
            raise cls(list(dict.fromkeys(problems)))


def _flag(value: object) -> bool | None:
    """A ``servicenode`` flag column: unset -> None, 0/no -> False, anything else -> True."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if not text:
        return None
    return text not in _FALSE


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Interface(_Frozen):
    """One address of a service host, with the host name nodes know it by there."""

    name: str = ""
    address: str


class ServiceHost(_Frozen):
    """A service node or the management node.

    ``name`` is the MN-facing name (the one in ``noderes.servicenode``); ``interfaces``
    are its addresses (``hosts.ip``, ``otherinterfaces``) with their node-facing names.
    The flags are the ``servicenode`` table's; ``None`` means unset.
    """

    name: str
    interfaces: tuple[Interface, ...] = ()
    is_mn: bool = False
    dhcpserver: bool | None = None
    tftpserver: bool | None = None
    conserver: bool | None = None

    @field_validator("dhcpserver", "tftpserver", "conserver", mode="before")
    @classmethod
    def _flags(cls, value: object) -> bool | None:
        return _flag(value)

    def names(self) -> set[str]:
        """Every name and address this host answers to."""
        return (
            {self.name}
            | {i.name for i in self.interfaces if i.name}
            | {i.address for i in self.interfaces}
        )

    def address_on(self, network: ipaddress.IPv4Network) -> str | None:
        """This host's first address inside ``network`` (given order), if any."""
        for iface in self.interfaces:
            if _in(iface.address, network):
                return iface.address
        return None


class Network(_Frozen):
    """One ``networks`` row (IPv4)."""

    netname: str = ""
    net: str
    mask: str = ""
    mgtifname: str = ""
    gateway: str = ""
    dhcpserver: str = ""
    tftpserver: str = ""
    nameservers: str = ""
    dynamicrange: str = ""
    domain: str = ""

    def network(self) -> ipaddress.IPv4Network | None:
        """``net``/``mask`` as a network (mask dotted, ``/NN`` or in ``net``), or None."""
        net, mask = self.net.strip(), self.mask.strip().lstrip("/")
        return _network(f"{net}/{mask}" if mask and "/" not in net else net)

    def label(self) -> str:
        return self.netname or f"{self.net}/{self.mask}"


class NodeInfo(_Frozen):
    """The effective attributes of one node that feed DHCP, boot files and consoles."""

    name: str
    mac: str = ""
    ip: str = ""
    aliases: dict[str, str] = Field(default_factory=dict)
    """IP of each ``mac!alias`` host name, where known."""
    servicenode: tuple[str, ...] = ()
    xcatmaster: str = ""
    tftpserver: str = ""
    nfsserver: str = ""
    netboot: str = ""
    provmethod: str = ""
    os: str = ""
    arch: str = ""
    profile: str = ""
    mgt: str = ""
    cons: str = ""
    conserver: str = ""
    consoleondemand: bool | None = None
    serialport: str = ""
    serialspeed: str = ""
    termserver: str = ""
    termport: str = ""

    @field_validator("consoleondemand", mode="before")
    @classmethod
    def _ondemand(cls, value: object) -> bool | None:
        return _flag(value)


class OsImage(_Frozen):
    """The parts of an ``osimage``/``linuximage`` definition that boot files name."""

    name: str
    provmethod: Literal["install", "netboot", "statelite"]
    os: str = ""
    arch: str = ""
    profile: str = ""
    rootimgdir: str = ""


class Site(_Frozen):
    """The ``site`` values the service planners use."""

    master: str
    domain: str = ""
    dhcpbackend: Literal["isc", "kea"] = "isc"
    nameservers: str = ""
    tftpdir: str = "/tftpboot"
    dhcplease: int = Field(default=43200, gt=0)
    httpport: int = Field(default=80, gt=0, lt=65536)
    xcatdport: int = Field(default=3001, gt=0, lt=65536)
    consoleondemand: bool = False
    xcatsslver: str = ""
    conserver_ssl: bool = False
    """Whether the installed conserver is built with SSL (adds xCAT's ``config *`` block)."""

    @field_validator("dhcpbackend", mode="before")
    @classmethod
    def _backend(cls, value: object) -> object:
        return "isc" if value in (None, "") else str(value).strip().lower()

    @field_validator("consoleondemand", mode="before")
    @classmethod
    def _ondemand(cls, value: object) -> object:
        return str(value).strip().lower() == "yes" if isinstance(value, str) else value


class ServiceState(_Frozen):
    """Everything the DHCP, boot-file and console planners read, read once by a task."""

    site: Site
    hosts: tuple[ServiceHost, ...]
    networks: tuple[Network, ...] = ()
    nodes: tuple[NodeInfo, ...] = ()
    images: tuple[OsImage, ...] = ()
    addresses: dict[str, str] = Field(default_factory=dict)
    """Other host names -> IP (the ``hosts`` table), to resolve e.g. a third tftpserver."""

    def node_map(self) -> dict[str, NodeInfo]:
        return {n.name: n for n in self.nodes}

    def host(self, name: str) -> ServiceHost | None:
        """The service host known by ``name`` (MN-facing name first, then any name)."""
        for host in self.hosts:
            if host.name == name:
                return host
        for host in self.hosts:
            if name in host.names() or (host.is_mn and name == self.site.master):
                return host
        return None

    def mn(self) -> ServiceHost | None:
        return next((h for h in self.hosts if h.is_mn), None)

    def role_hosts(self, role: Literal["dhcpserver", "tftpserver", "conserver"]) -> list[str]:
        """Service nodes with ``role``: flagged ones, or every one when no SN sets the flag."""
        sns = [h for h in self.hosts if not h.is_mn]
        if all(getattr(h, role) is None for h in sns):
            return [h.name for h in sns]
        return [h.name for h in sns if getattr(h, role)]

    def networks_of(self, address: str) -> list[tuple[Network, ipaddress.IPv4Network]]:
        """The networks rows that contain ``address`` (the last one wins, as in xCAT)."""
        found = []
        for row in self.networks:
            net = row.network()
            if net is not None and _in(address, net):
                found.append((row, net))
        return found

    def resolve(self, value: str, facing: ipaddress.IPv4Network | None = None) -> str | None:
        """The IPv4 address of a stored host value, or None when the state cannot tell.

        An IP literal is itself; a node-facing name is that interface's address; a service
        host's MN-facing name is its address on ``facing`` (else its first address); any
        other name is looked up in :attr:`addresses`.
        """
        value = value.strip()
        if _is_ip(value):
            return value
        host = next((h for h in self.hosts if h.name == value), None)
        near = host.address_on(facing) if host is not None and facing is not None else None
        if near is not None:
            return near
        for other in self.hosts:
            for iface in other.interfaces:
                if iface.name == value:
                    return iface.address
        if host is not None and host.interfaces:
            return host.interfaces[0].address
        return self.addresses.get(value)


class MacEntry(_Frozen):
    """One item of a node's ``mac`` value: the address and the host name it is declared as."""

    mac: str
    hostname: str
    alias: bool = False


def parse_macs(node: str, value: str) -> tuple[list[MacEntry], list[str]]:
    """Split xCAT's ``mac`` column (``mac``, ``mac!host|mac2!host2``) into entries.

    Addresses are normalized to lower case with colons. An item without ``!host`` is
    declared as the node itself, the second such as ``<node>-1``, and so on. Returns the
    entries and a problem line for each item that is not a 6-byte Ethernet address.
    """
    entries: list[MacEntry] = []
    problems: list[str] = []
    plain = 0
    for item in (part.strip() for part in value.split("|")):
        if not item:
            continue
        text, _, alias = item.partition("!")
        mac = text.strip().lower()
        if not _MAC.match(mac):
            problems.append(f"{node}: invalid MAC address {text.strip()!r} in the mac table")
            continue
        digits = re.sub(r"[^0-9a-f]", "", mac)
        mac = ":".join(digits[i : i + 2] for i in range(0, 12, 2))
        if alias.strip():
            entries.append(MacEntry(mac=mac, hostname=alias.strip(), alias=True))
        else:
            entries.append(MacEntry(mac=mac, hostname=node if not plain else f"{node}-{plain}"))
            plain += 1
    return entries, problems


def hex_ip(address: str) -> str:
    """An IPv4 address as pxelinux names its config file: ``10.0.1.1`` -> ``0A000101``."""
    return "".join(f"{int(octet):02X}" for octet in address.split("."))


def make_header(flow_run: str | None, command: str) -> str:
    """The header line every generated file carries (without its comment marker).

    >>> make_header("3f2a", "makedhcp")
    'Generated by snflow (flow run 3f2a); do not edit: snflow makedhcp rewrites it'
    """
    run = flow_run or "none"
    text = f"Generated by snflow (flow run {run}); do not edit: snflow {command} rewrites it"
    if "\n" in text or "\r" in text:
        raise ValueError("a file header must be one line")
    return text


def check_header(header: str) -> str:
    """``header`` if it is one line naming snflow; raises ``ValueError`` otherwise."""
    if "\n" in header or "\r" in header or "snflow" not in header:
        raise ValueError(f"not a one-line snflow header: {header!r}")
    return header


def sorted_nodes(names: Iterable[str]) -> list[str]:
    """Node names in natural order, duplicates dropped."""
    return sorted(set(names), key=natural_key)


@functools.lru_cache(maxsize=1 << 16)
def _address(value: str) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(value)
    except ValueError:
        return None


@functools.lru_cache(maxsize=1024)
def _network(text: str) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        return None


def _is_ip(value: str) -> bool:
    return _address(value) is not None


def _in(address: str, network: ipaddress.IPv4Network) -> bool:
    parsed = _address(address)
    return parsed is not None and parsed in network


class Facing(_Frozen):
    """Where a service host meets a node: the ``networks`` row and the host's address."""

    row: Network
    network: ipaddress.IPv4Network
    address: str


def facing(state: ServiceState, host: ServiceHost, ip: str) -> Facing | None:
    """The network holding ``ip`` on which ``host`` has an address (last row wins)."""
    found = None
    for row, net in state.networks_of(ip):
        address = host.address_on(net)
        if address is not None:
            found = Facing(row=row, network=net, address=address)
    return found


def pool_hosts(
    state: ServiceState, node: NodeInfo, role: Literal["dhcpserver", "tftpserver"]
) -> tuple[list[ServiceHost], list[str]]:
    """The hosts that serve ``node`` for ``role`` (design decision 11), and problems.

    Every service node of the node's ``servicenode`` pool that has the role; the
    management node for a node without service node.
    """
    if not node.servicenode:
        mn = state.mn()
        if mn is None:
            return [], [f"{node.name}: has no service node and the state has no management node"]
        return [mn], []
    with_role = state.role_hosts(role)
    hosts, problems = [], []
    for name in dict.fromkeys(node.servicenode):
        host = state.host(name)
        if host is None:
            problems.append(f"{node.name}: service node {name!r} is not a known service host")
        elif host.is_mn or host.name in with_role:
            hosts.append(host)
    return hosts, problems


def server_address(
    state: ServiceState, node: NodeInfo, value: str, here: Facing, attribute: str
) -> tuple[str, str | None]:
    """The address a file on one host names for a server attribute of ``node``.

    ``value`` (e.g. ``noderes.tftpserver``) when set and not ``<xcatmaster>``, resolved;
    else ``here.address``, the writing host's own address on the node's network, so the
    copy on a backup service node already names the backup. Returns the address and a
    problem line when ``value`` cannot be resolved.
    """
    value = value.strip()
    if not value or value == XCATMASTER:
        return here.address, None
    address = state.resolve(value, here.network)
    if address is None:
        return here.address, f"{node.name}: cannot resolve {attribute} {value!r}"
    return address, None
