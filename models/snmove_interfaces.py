"""The inputs of ``snmove``'s planner: options, node states, networks, host names, interfaces.

Pure (stdlib and pydantic). The CLI or the flow builds :class:`MoveOptions`; the flow reads
the cluster database once and runs ``ip -o addr`` on the destination service nodes, and
turns what it got into a :class:`ClusterState` with these models and helpers;
:mod:`snflow.models.snmove` (which re-exports all of this) plans from that.

>>> [i.address for i in parse_ip_addr("sn2:     inet 10.0.0.2/16 scope global eth1")]
['10.0.0.2']
>>> Network(net="10.0.0.0", mask="255.255.0.0").contains("10.0.1.1")
True
>>> host_names("sn1", ip="192.168.1.1", otherinterfaces="-b:10.0.0.1")
(HostName(name='sn1', address='192.168.1.1'), HostName(name='sn1-b', address='10.0.0.1'))

Not here: running ``ip``, resolving names (the system resolver is I/O), AIX ``ifconfig``.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from snflow.models.errors import SnflowError

__all__ = [
    "MESSAGES",
    "XCATMASTER_KEYWORD",
    "ClusterState",
    "HostName",
    "Interface",
    "MoveOptions",
    "Network",
    "NodeState",
    "SnmoveError",
    "address_of",
    "host_names",
    "is_ip",
    "network_of",
    "normalize_ip",
    "parse_ip_addr",
    "split_names",
]

#: ``networks.gateway`` value meaning "the serving SN's address on this network".
XCATMASTER_KEYWORD = "<xcatmaster>"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Every fixed text snmove planning says (xCAT's where xCAT has one, without its ``\n``).
MESSAGES = {
    "p_and_i": "-P and -i flags cannot be specified at the same time.",
    "too_many": "Too many paramters.",  # sic (xCAT); the CLI counts positionals
    "no_target": "A node range or the source service node must be specified.",
    "liteonly": "The '-l' option is not supported for Linux nodes.",
    "empty_p": "The -P option needs a comma-separated list of postscripts, or 'all'.",
    "moving": "Moving nodes to their backup service nodes.",
    "no_definitions": "Could not get xCAT object definitions.",
    "invalid_nodes": "Invalid nodes in noderange:{nodes}",
    "unresolved": "Could not resolve node '{node}'.",
    "mixed_os": "This command does not support a mix of AIX and Linux nodes.",
    "aix": "AIX nodes are not supported: {nodes}.",
    "no_backup": "Could not determine a backup service node for node {node}.",
    "no_addresses": "Could not get IP addresses from service node {sn}.",
    "no_xcatmaster": "Could not determine an xcatmaster value for node {node}.",
    "monserver": "The current value of the monserver attribute is not valid.  "
    "It will not be reset.",
    "no_gateway": "Could not find the address of {master}: the default gateway of node {node} "
    "is not changed.",
    "nothing": "nothing to move",
}

# "2: eth0: <BROADCAST,...>" (a header of plain `ip addr`), after any "host: " prefix of xdsh.
_HEADER = re.compile(r"(?:^|\s)\d+:\s+([^\s:]+?)(?:@\S+)?:\s+<")
# "[2: eth0    ]inet[6] ADDR[/LEN] REST" (`ip -o addr` names the device before inet).
_ADDRESS = re.compile(
    r"(?:(?:^|\s)\d+:\s+(?P<dev>[^\s:]+?)(?:@\S+)?\s+|(?:^|\s))"
    r"inet(?P<v6>6)?\s+(?P<addr>[0-9A-Fa-f.:]+)(?:/(?P<len>\d+))?(?P<rest>.*)"
)
_PEER_LEN = re.compile(r"\speer\s+\S+/(\d+)")


class SnmoveError(SnflowError, ValueError):
    """Options that cannot be carried out (the message is xCAT's text)."""


class MoveOptions(BaseModel):
    """``snmove <noderange> | -s SN1 [-S SN1N] [-d SN2] [-D SN2N] [-i] [-P list|all] [-V]``."""

    model_config = ConfigDict(frozen=True)

    noderange: str | None = Field(None, description="Nodes to move (xCAT noderange).")
    source: str | None = Field(None, description="-s: current SN as the MN knows it.")
    source_n: str | None = Field(None, description="-S: current SN as the nodes know it.")
    dest: str | None = Field(None, description="-d: destination SN (MN-facing) for all nodes.")
    dest_n: str | None = Field(None, description="-D: new xcatmaster for all nodes, verbatim.")
    ignore_nodes: bool = Field(False, description="-i: run nothing on the compute nodes.")
    postscripts: tuple[str, ...] | Literal["all"] | None = Field(
        None, description="-P: extra postscripts, or 'all' (the node's whole list)."
    )
    liteonly: bool = Field(False, description="-l: AIX statelite sync only (refused).")
    verbose: bool = Field(False, description="-V: more messages.")
    dry_run: bool = Field(False, description="Plan and print; change nothing.")

    @field_validator("noderange", "source", "source_n", "dest", "dest_n", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return (value.strip() or None) if isinstance(value, str) else value

    @field_validator("postscripts", mode="before")
    @classmethod
    def _split_postscripts(cls, value: Any) -> Any:
        if value is None or value == "all":
            return value
        names = split_names(value)
        if names == ():
            raise SnmoveError(MESSAGES["empty_p"])
        return "all" if names == ("all",) else names

    @model_validator(mode="after")
    def _check(self) -> MoveOptions:
        """xCAT's order (§2): -i with -P, then a noderange or -s, then -l (Linux only)."""
        if self.ignore_nodes and self.postscripts is not None:
            raise SnmoveError(MESSAGES["p_and_i"])
        if self.noderange is None and self.source is None:
            raise SnmoveError(MESSAGES["no_target"])
        if self.liteonly:
            raise SnmoveError(MESSAGES["liteonly"])
        return self

    @classmethod
    def create(cls, **fields: Any) -> MoveOptions:
        """Build the options; a rule broken raises :class:`SnmoveError` with xCAT's text."""
        try:
            return cls(**fields)
        except ValidationError as exc:
            for error in exc.errors():
                cause = (error.get("ctx") or {}).get("error")
                if isinstance(cause, SnmoveError):
                    raise cause from None
            raise SnmoveError(str(exc)) from None


class Interface(BaseModel):
    """One live address of a host: ``10.0.0.2/16`` on ``eth1``."""

    model_config = ConfigDict(frozen=True)

    address: str
    prefixlen: int
    ifname: str = ""


class HostName(BaseModel):
    """A name the ``hosts`` table gives a host for one of its addresses."""

    model_config = ConfigDict(frozen=True)

    name: str
    address: str


class Network(BaseModel):
    """A ``networks`` row, as far as ``snmove`` needs it.

    ``mask`` may be dotted (``255.255.0.0``), ``/16``, ``16`` or ``0xffff0000``; ``net``
    may be CIDR (``10.0.0.0/16``), then ``mask`` is not needed. IPv6 works alike.
    """

    model_config = ConfigDict(frozen=True)

    net: str
    mask: str = ""
    gateway: str | None = None
    mgtifname: str | None = None
    netname: str | None = None

    def ip_network(self) -> IPNetwork | None:
        """The network as an :mod:`ipaddress` object; ``None`` if the row is malformed."""
        return _ip_network(self.net, self.mask)

    def contains(self, address: str | None) -> bool:
        """Whether ``address`` (an IP literal) lies on this network."""
        network = self.ip_network()
        ip = _ip(address)
        return network is not None and ip is not None and ip in network

    @property
    def gateway_is_xcatmaster(self) -> bool:
        """``gateway=<xcatmaster>``: the node's default gateway is its own SN."""
        return self.gateway == XCATMASTER_KEYWORD


# Both parsers are pure and see the same few strings thousands of times in one plan (every
# node's address against every network row): ipaddress parsing was most of a 10k-node plan.
@functools.lru_cache(maxsize=1 << 16)
def _ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None


def is_ip(text: str | None) -> bool:
    """Whether ``text`` is an IPv4 or IPv6 literal."""
    return _ip(text) is not None


@functools.lru_cache(maxsize=1 << 16)  # per node and attribute in a plan
def normalize_ip(text: str | None) -> str | None:
    """The canonical spelling of an IP literal (``fd00:0::1`` → ``fd00::1``); else ``None``."""
    ip = _ip(text)
    return None if ip is None else str(ip)


@functools.lru_cache(maxsize=1024)
def _ip_network(net: str, mask: str) -> IPNetwork | None:
    net, mask = net.strip(), mask.strip().removeprefix("/")
    try:
        if "/" in net:
            return ipaddress.ip_network(net, strict=False)
        if mask.lower().startswith("0x"):
            mask = str(ipaddress.IPv4Address(int(mask, 16)))
        base = ipaddress.ip_address(net)
        if base.version == 6 and not mask.isdigit():
            mask = str(bin(int(ipaddress.IPv6Address(mask))).count("1"))
        return ipaddress.ip_network(f"{net}/{mask}", strict=False)
    except ValueError:
        return None


def network_of(ip: str | None, networks: Iterable[Network]) -> Network | None:
    """The ``networks`` row of a node's IP; when several contain it, the last one wins (xCAT)."""
    found = None
    for network in networks:
        if network.contains(ip):
            found = network
    return found


def parse_ip_addr(text: str) -> tuple[Interface, ...]:
    """Every address in ``ip addr`` or ``ip -o addr`` output, in output order.

    Accepts xdsh's ``host: `` line prefix, IPv4 and IPv6, secondary addresses, point-to-point
    ``peer`` addresses and the loopback (kept: the planner matches addresses by network).
    The device comes from ``ip -o``'s second field or from the preceding ``N: dev: <...>``
    header, else from the IPv4 label; ``@parent`` suffixes are dropped. Lines without an
    address and unparsable addresses are ignored; duplicates are listed once.

    >>> parse_ip_addr('''1: lo    inet 127.0.0.1/8 scope host lo\\\\       valid_lft forever
    ... 2: eth0    inet6 fe80::1/64 scope link \\\\       valid_lft forever''')
    ... # doctest: +NORMALIZE_WHITESPACE
    (Interface(address='127.0.0.1', prefixlen=8, ifname='lo'),
     Interface(address='fe80::1', prefixlen=64, ifname='eth0'))
    """
    found: dict[tuple[str, str], Interface] = {}
    current = ""
    for line in text.splitlines():
        header = _HEADER.search(line)
        if header:
            current = header.group(1)
            continue
        match = _ADDRESS.search(line)
        if not match:
            continue
        address = normalize_ip(match["addr"])
        if address is None:
            continue
        rest = match["rest"].split("\\", 1)[0]
        if match["len"]:
            prefixlen = int(match["len"])
        else:
            peer = _PEER_LEN.search(rest)
            prefixlen = int(peer.group(1)) if peer else (128 if match["v6"] else 32)
        label = rest.split()[-1] if not match["v6"] and rest.split() else ""
        ifname = match["dev"] or current or label
        found.setdefault(
            (address, ifname), Interface(address=address, prefixlen=prefixlen, ifname=ifname)
        )
    return tuple(found.values())


def host_names(
    node: str,
    ip: str | None = None,
    hostnames: str | None = None,
    otherinterfaces: str | None = None,
) -> tuple[HostName, ...]:
    """The names one ``hosts`` row gives: ``node`` and its aliases for ``ip``, then
    ``otherinterfaces`` (``name:ip,...``; a name starting with ``-`` is a suffix of ``node``,
    as makehosts reads it). Entries without an IP literal are dropped.

    >>> [h.name for h in host_names("sn1", "192.168.1.1", "sn1.c", "sn1-b:10.0.0.1,-ib:10.1.0.1")]
    ['sn1', 'sn1.c', 'sn1-b', 'sn1-ib']
    """
    pairs: list[tuple[str, str | None]] = []
    aliases = re.split(r"[,\s]+", hostnames or "")
    pairs += [(name, ip) for name in [node, *aliases] if name]
    for part in (otherinterfaces or "").split(","):
        name, _, address = part.strip().partition(":")
        pairs.append((node + name if name.startswith("-") else name, address))
    names: dict[tuple[str, str], HostName] = {}
    for name, address in pairs:
        canonical = normalize_ip(address)
        if name and canonical:
            names.setdefault((name, canonical), HostName(name=name, address=canonical))
    return tuple(names.values())


def address_of(name: str | None, hosts: Mapping[str, Iterable[HostName]]) -> str | None:
    """``name``'s address: itself if it is an IP literal, else the first ``hosts`` entry
    called exactly ``name``; ``None`` when unknown (snflow's planner never asks a resolver)."""
    if not name:
        return None
    literal = normalize_ip(name)
    if literal is not None:
        return literal
    for entries in hosts.values():
        for entry in entries:
            if entry.name == name:
                return entry.address
    return None


def split_names(value: Any) -> Any:
    """A comma string (or an iterable) as a tuple of stripped, non-empty names; else as is.

    >>> split_names("sn1, sn2,,sn3")
    ('sn1', 'sn2', 'sn3')
    """
    if isinstance(value, str):
        return _split_comma(value)
    if isinstance(value, Iterable):
        return tuple(s.strip() for s in value if isinstance(s, str) and s.strip())
    return value


@functools.lru_cache(maxsize=4096)
def _split_comma(value: str) -> tuple[str, ...]:
    # Cached: thousands of nodes share a handful of "sn1,sn2" and postscript lists.
    return tuple(name for name in (s.strip() for s in value.split(",")) if name)


class NodeState(BaseModel):
    """One node's effective attributes (group inheritance and regexes already applied)."""

    model_config = ConfigDict(frozen=True)

    node: str
    servicenode: str | None = None
    xcatmaster: str | None = None
    tftpserver: str | None = None
    nfsserver: str | None = None
    monserver: str | None = None
    conserver: str | None = None
    os: str | None = None
    provmethod: str | None = None
    #: The node's ``postscripts`` / ``postbootscripts`` (inherited included; no xcatdefaults).
    postscripts: tuple[str, ...] = ()
    postbootscripts: tuple[str, ...] = ()
    #: The node's IP; ``None`` when it does not resolve.
    ip: str | None = None
    #: Its ``networks`` row; ``None``: found from :attr:`ClusterState.networks` by IP.
    network: Network | None = None

    @field_validator(
        "servicenode", "xcatmaster", "tftpserver", "nfsserver", "monserver", "conserver",
        "os", "provmethod", "ip", mode="before",
    )  # fmt: skip
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return value or None

    @field_validator("postscripts", "postbootscripts", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return split_names(value)

    @property
    def servicenodes(self) -> tuple[str, ...]:
        """``servicenode`` as a list: primary first, then the backups."""
        return split_names(self.servicenode or "")


class ClusterState(BaseModel):
    """Everything :func:`plan_move` needs, read once by the flow."""

    model_config = ConfigDict(frozen=True)

    nodes: dict[str, NodeState] = Field(default_factory=dict)
    site_master: str | None = None
    default_postscripts: tuple[str, ...] = ()
    default_postbootscripts: tuple[str, ...] = ()
    networks: tuple[Network, ...] = ()
    #: Per host (SN or MN, by node name): its names and addresses from the ``hosts`` table.
    hosts: dict[str, tuple[HostName, ...]] = Field(default_factory=dict)
    #: Per probed destination SN: its live interfaces (:func:`parse_ip_addr`). Absent = no answer.
    sn_interfaces: dict[str, tuple[Interface, ...]] = Field(default_factory=dict)

    @field_validator("default_postscripts", "default_postbootscripts", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return split_names(value)

    @model_validator(mode="after")
    def _keys_are_names(self) -> ClusterState:
        wrong = [key for key, state in self.nodes.items() if key != state.node]
        if wrong:
            raise ValueError(f"nodes keyed by another name: {', '.join(wrong)}")
        return self
