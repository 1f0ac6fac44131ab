"""The cluster as the DHCP, boot-file and console planners see it, read from the database.

:func:`load_service_state` reads, through one :class:`~snflow.models.cluster.ClusterView`
(one query per table), everything :mod:`~snflow.models.services` describes: every node's
effective attributes (group rows and regex values applied), the service hosts (each
service node: a node of the ``servicenode`` table or a name in some node's
``noderes.servicenode``; and the management node, ``site.master``) with their addresses
from ``hosts`` (``ip``, ``hostnames``, ``otherinterfaces``), the ``networks`` rows and the
``site`` values. Names resolve only through the ``hosts`` table (never DNS), so a run is
repeatable.

It opens no connection itself and writes nothing; problems in the database (an invalid
``site`` value, no ``site.master``) raise one
:class:`~snflow.models.services.ServiceConfigError`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

import sqlalchemy as sa
from pydantic import ValidationError

from snflow.models.cluster import ClusterView
from snflow.models.defspec import Column
from snflow.models.routes import parse_servicenodes
from snflow.models.schema import TABLES, row_is_disabled
from snflow.models.services import (
    Interface,
    Network,
    NodeInfo,
    ServiceConfigError,
    ServiceHost,
    ServiceState,
    Site,
    parse_macs,
)
from snflow.models.snmove_interfaces import HostName, host_names

__all__ = ["load_service_state"]

_NODE_COLUMNS = {
    "mac": ("mac", "mac"),
    "ip": ("hosts", "ip"),
    "hostnames": ("hosts", "hostnames"),
    "otherinterfaces": ("hosts", "otherinterfaces"),
    "servicenode": ("noderes", "servicenode"),
    "xcatmaster": ("noderes", "xcatmaster"),
    "tftpserver": ("noderes", "tftpserver"),
    "nfsserver": ("noderes", "nfsserver"),
    "netboot": ("noderes", "netboot"),
    "provmethod": ("nodetype", "provmethod"),
    "os": ("nodetype", "os"),
    "arch": ("nodetype", "arch"),
    "profile": ("nodetype", "profile"),
    "mgt": ("nodehm", "mgt"),
    "cons": ("nodehm", "cons"),
    "conserver": ("nodehm", "conserver"),
    "consoleondemand": ("nodehm", "consoleondemand"),
    "serialport": ("nodehm", "serialport"),
    "serialspeed": ("nodehm", "serialspeed"),
    "termserver": ("nodehm", "termserver"),
    "termport": ("nodehm", "termport"),
}
_FLAGS = ("dhcpserver", "tftpserver", "conserver")
_SITE_KEYS = {
    "master": "master",
    "domain": "domain",
    "dhcpbackend": "dhcpbackend",
    "nameservers": "nameservers",
    "tftpdir": "tftpdir",
    "dhcplease": "dhcplease",
    "httpport": "httpport",
    "xcatdport": "xcatdport",
    "consoleondemand": "consoleondemand",
    "xcatsslver": "xcatsslver",
}


def load_service_state(view: ClusterView) -> ServiceState:
    """Every node, service host, network and site value the service planners need."""
    site = _site(view.site)
    nodes = list(view.nodelist)
    columns = [Column(t, c) for t, c in _NODE_COLUMNS.values()]
    attrs = view.node_attributes(nodes, columns)
    values = {
        node: {key: attrs[node].get(Column(t, c), "") for key, (t, c) in _NODE_COLUMNS.items()}
        for node in nodes
    }
    raw_hosts = view.rows("hosts", None, ("ip", "hostnames", "otherinterfaces"))
    host_rows: dict[str, dict[str, str]] = {k: v for k, v in raw_hosts.items() if k not in values}
    for node, v in values.items():
        host_rows[node] = {k: v[k] for k in ("ip", "hostnames", "otherinterfaces") if v[k]}
    addresses: dict[str, str] = {}
    for key in sorted(host_rows):
        for entry in _names(key, host_rows[key]):
            addresses.setdefault(entry.name, entry.address)
    flags = _service_flags(view)
    master = site.master
    named = {s for v in values.values() for s in parse_servicenodes(v["servicenode"])}
    sn_names = sorted((set(flags) | named) - {master})
    hosts = [_host(master, host_rows, {}, is_mn=True)]
    hosts += [_host(name, host_rows, flags.get(name, {})) for name in sn_names]
    return ServiceState(
        site=site,
        hosts=tuple(hosts),
        networks=_networks(view),
        nodes=tuple(_node(name, values[name], addresses) for name in nodes),
        addresses=addresses,
    )


def _site(values: Mapping[str, str]) -> Site:
    fields = {f: values[k].strip() for k, f in _SITE_KEYS.items() if values.get(k, "").strip()}
    if "master" not in fields:
        raise ServiceConfigError(["site.master is not set: the management node is unknown"])
    try:
        return Site(**fields)
    except ValidationError as exc:
        problems = [
            f"site.{'.'.join(str(p) for p in e['loc'])}: {e['msg']} ({e['input']!r})"
            for e in exc.errors()
        ]
        raise ServiceConfigError(problems) from None


def _service_flags(view: ClusterView) -> dict[str, dict[str, str]]:
    """Node -> its effective ``servicenode`` flags, for every node the table covers
    (a row for a group covers its members; a node's own row wins)."""
    rows = view.rows("servicenode", None, _FLAGS)
    members: set[str] = set()
    for key in rows:
        if key in view.nodelist:
            members.add(key)
        else:
            members.update(view.group_members(key) or ())
    ordered = [n for n in view.nodelist if n in members]
    found = view.node_attributes(ordered, [Column("servicenode", f) for f in _FLAGS])
    return {n: {c.column: v for c, v in found[n].items()} for n in ordered}


def _host(
    name: str, host_rows: Mapping[str, Mapping[str, str]], flags: Mapping[str, str], **kw: bool
) -> ServiceHost:
    entries = _names(name, host_rows.get(name, {}))
    interfaces = [Interface(name=e.name, address=e.address) for e in entries]
    if not interfaces and _is_ip(name):
        interfaces = [Interface(name=name, address=name)]
    return ServiceHost(name=name, interfaces=tuple(interfaces), **flags, **kw)


def _names(name: str, row: Mapping[str, str]) -> tuple[HostName, ...]:
    return host_names(name, row.get("ip"), row.get("hostnames"), row.get("otherinterfaces"))


def _is_ip(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def _networks(view: ClusterView) -> tuple[Network, ...]:
    tab = TABLES["networks"]
    names = [c for c in Network.model_fields if c in tab.c]
    rows = view.conn.execute(sa.select(tab.c.disable, *(tab.c[n] for n in names)))
    found = []
    for disable, *cells in rows:
        if not row_is_disabled(disable):
            found.append(Network(**{n: (v or "") for n, v in zip(names, cells, strict=True)}))
    return tuple(sorted(found, key=lambda n: (n.net, n.mask, n.netname)))


def _node(name: str, values: Mapping[str, str], addresses: Mapping[str, str]) -> NodeInfo:
    macs, _ = parse_macs(name, values["mac"])
    aliases = {m.hostname: addresses.get(m.hostname, "") for m in macs if m.alias}
    fields = {k: v for k, v in values.items() if k in NodeInfo.model_fields and v}
    fields["servicenode"] = parse_servicenodes(values["servicenode"])
    fields["aliases"] = aliases
    return NodeInfo(name=name, **fields)
