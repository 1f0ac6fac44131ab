"""makedhcp, planned and rendered: per DHCP server, its subnets and its host entries.

:func:`plan_dhcp` decides what every DHCP-serving host must hold (xCAT's ``makedhcp``,
``snmove.md`` §16, design decision 11): a node with a ``mac`` gets a host entry on every
DHCP service node of its ``servicenode`` pool (on the management node when it has no
service node); ``next-server`` is ``noderes.tftpserver`` when set and not
``<xcatmaster>``, else the answering host's own address on the node's network, so the
backup's file already names the backup. :func:`render_isc` writes an include file for ISC
dhcpd, :func:`render_kea` a complete kea-dhcp4 configuration; both are deterministic.

Each host's file is whole: it holds every node of the state that the host serves, so the
caller passes the state of all nodes with a MAC, and ``nodes`` only selects which hosts
get a new file. This module is pure (no I/O); the tasks that install the files validate
them with ``dhcpd -t -cf`` / ``kea-dhcp4 -t`` first.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from snflow.models.natsort import natural_key
from snflow.models.services import (
    XCATMASTER,
    Facing,
    Network,
    NodeInfo,
    ServiceConfigError,
    ServiceHost,
    ServiceState,
    check_header,
    facing,
    parse_macs,
    pool_hosts,
    server_address,
)

__all__ = [
    "KEA_LEASE_FILE",
    "DhcpEntry",
    "DhcpHostConfig",
    "DhcpSubnet",
    "plan_dhcp",
    "render_dhcp",
    "render_isc",
    "render_isc_main",
    "render_kea",
]

KEA_LEASE_FILE = "/var/lib/kea/kea-leases4.csv"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_XNBA = "(option[77].text == 'xNBA' or substring(option[77].hex,1,4) == 'xNBA')"
_UEFI = "(option[93].hex == 0x0007 or option[93].hex == 0x0009)"
_ISC_OPTIONS = (
    "option user-class-identifier code 77 = string;",
    "option client-architecture code 93 = unsigned integer 16;",
    "option conf-file code 209 = text;",
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class DhcpSubnet(_Frozen):
    """One network a DHCP host serves (``makedhcp -n``)."""

    label: str
    network: str  # 127.20.0.0/16
    interface: str = ""
    next_server: str
    routers: str = ""
    domain: str = ""
    nameservers: tuple[str, ...] = ()
    ranges: tuple[tuple[str, str], ...] = ()
    lease_time: int = 43200


class DhcpEntry(_Frozen):
    """One host declaration / reservation: one MAC of one node."""

    name: str  # declaration name: the node, a mac!alias, or <node>-1 for a 2nd MAC
    node: str
    hostname: str
    mac: str
    ip: str = ""
    subnet: str
    next_server: str
    filename: str = ""
    xnba_url: str = ""  # xnba: the node's script, given to the xNBA loader
    conf_file: str = ""  # petitboot


class DhcpHostConfig(_Frozen):
    """Everything one DHCP-serving host's snflow file holds."""

    host: str
    backend: Literal["isc", "kea"]
    subnets: tuple[DhcpSubnet, ...]
    entries: tuple[DhcpEntry, ...] = ()
    networks_only: bool = False


def plan_dhcp(
    state: ServiceState,
    nodes: Sequence[str] | None = None,
    delete: Iterable[str] = (),
    networks_only: bool = False,
) -> dict[str, DhcpHostConfig]:
    """The DHCP file of every host that ``makedhcp`` touches, by MN-facing host name.

    ``nodes=None`` is ``-a`` (every DHCP host); a list is a noderange (the hosts serving
    those nodes); ``delete`` (``-d``) leaves nodes out of the files of the hosts that
    serve them; ``networks_only`` (``-n``) writes subnets without host entries on every
    DHCP host. Every problem is collected and raised as one :class:`ServiceConfigError`.
    """
    problems: list[str] = []
    known = state.node_map()
    deleted = set(delete)
    names = list(dict.fromkeys(nodes)) if nodes is not None else []
    for name in [*names, *sorted(deleted - set(names), key=natural_key)]:
        if name not in known:
            problems.append(f"{name}: unknown node")
        elif name not in deleted and not known[name].mac.strip():
            problems.append(f"{name}: no MAC address in the mac table")
    asked = set(names) | deleted
    served: dict[str, list[NodeInfo]] = {}  # host -> nodes it holds
    pools: dict[str, list[ServiceHost]] = {}
    for node in state.nodes:
        if node.mac.strip() or node.name in deleted:
            pools[node.name], found = pool_hosts(state, node, "dhcpserver")
            if nodes is None or node.name in asked:
                problems.extend(found)
    everyone = set(state.role_hosts("dhcpserver"))
    mn = state.mn()
    if mn is not None and any(not n.servicenode for n in state.nodes if n.mac.strip()):
        everyone.add(mn.name)
    if nodes is None or networks_only:
        affected = everyone
    else:
        affected = {h.name for n in asked for h in pools.get(n, ())}
    for node in state.nodes:
        if node.mac.strip() and node.name not in deleted:
            for host in pools.get(node.name, ()):
                if host.name in affected:
                    served.setdefault(host.name, []).append(node)
    configs = {}
    checked: set[str] = set()
    for name in sorted(affected, key=natural_key):
        host = state.host(name)
        assert host is not None
        subnets = _subnets(state, host, everyone, problems)
        entries: list[DhcpEntry] = []
        if not networks_only:
            for node in sorted(served.get(name, ()), key=lambda n: natural_key(n.name)):
                entries.extend(_entries(state, host, node, problems, node.name not in checked))
                checked.add(node.name)
        configs[name] = DhcpHostConfig(
            host=name,
            backend=state.site.dhcpbackend,
            subnets=tuple(subnets),
            entries=tuple(entries),
            networks_only=networks_only,
        )
    _check_unique([e for c in configs.values() for e in c.entries], problems)
    ServiceConfigError.raise_if_any(problems)
    return configs


def _subnets(
    state: ServiceState, host: ServiceHost, everyone: set[str], problems: list[str]
) -> list[DhcpSubnet]:
    """The networks on which ``host`` has an address, in address order."""
    found: dict[ipaddress.IPv4Network, DhcpSubnet] = {}
    for row in state.networks:
        net = row.network()
        if net is None:
            problems.append(f"network {row.label()}: invalid net/mask {row.net!r}/{row.mask!r}")
            continue
        here = host.address_on(net)
        if here is not None and not (net.is_link_local or net.is_multicast):
            found[net] = _subnet(state, host, row, net, here, everyone, problems)
    return [found[n] for n in sorted(found, key=lambda n: (int(n.network_address), n.prefixlen))]


def _subnet(
    state: ServiceState,
    host: ServiceHost,
    row: Network,
    net: ipaddress.IPv4Network,
    here: str,
    everyone: set[str],
    problems: list[str],
) -> DhcpSubnet:
    where = f"network {row.label()} ({net})"

    def address(value: str, what: str) -> str:
        ip = here if value == XCATMASTER else state.resolve(value, net)
        if ip is None:
            problems.append(f"{where}: cannot resolve {what} {value!r}")
        return ip or ""

    routers = address(row.gateway.strip(), "gateway") if row.gateway.strip() else ""
    if routers and ipaddress.IPv4Address(routers) not in net:
        problems.append(f"{where}: gateway {routers} is not on the network")
    names = [n.strip() for n in (row.nameservers or state.site.nameservers).split(",")]
    servers = tuple(a for a in (address(n, "nameserver") for n in names if n) if a)
    tftp = row.tftpserver.strip()
    ranges: list[tuple[str, str]] = []
    if row.dynamicrange.strip():
        owner = row.dhcpserver.strip()
        sharing = [h.name for h in state.hosts if h.name in everyone and h.address_on(net)]
        if not owner and len(sharing) > 1:
            problems.append(
                f"{where}: has a dynamic range and is served by {', '.join(sharing)}; "
                "set networks.dhcpserver to the one host that hands it out"
            )
        elif not owner or owner in host.names() or state.resolve(owner, net) == here:
            ranges = _ranges(row.dynamicrange, net, where, problems)
    return DhcpSubnet(
        label=row.label(),
        network=str(net),
        interface=row.mgtifname.strip(),
        next_server=address(tftp, "tftpserver") if tftp else here,
        routers=routers,
        domain=row.domain.strip() or state.site.domain,
        nameservers=servers,
        ranges=tuple(ranges),
        lease_time=state.site.dhcplease,
    )


def _ranges(
    text: str, net: ipaddress.IPv4Network, where: str, problems: list[str]
) -> list[tuple[str, str]]:
    ranges = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        bounds = re.split(r"\s*[-,\s]\s*", part)
        try:
            low, high = (ipaddress.IPv4Address(b) for b in bounds)
        except ValueError:
            problems.append(f"{where}: invalid dynamic range {part!r}")
            continue
        if low not in net or high not in net or low > high:
            problems.append(f"{where}: dynamic range {part!r} is not inside the network")
            continue
        ranges.append((str(low), str(high)))
    return ranges


def _entries(
    state: ServiceState, host: ServiceHost, node: NodeInfo, problems: list[str], report: bool
) -> list[DhcpEntry]:
    """The node's entries on ``host``; problems about the node itself reported once."""
    macs, bad = parse_macs(node.name, node.mac)
    mine: list[str] = list(bad) if report else []
    here = _facing(state, host, node, node.ip, mine)
    if here is None:
        problems.extend(mine)
        return []
    next_server, unresolved = server_address(state, node, node.tftpserver, here, "tftpserver")
    mine.extend([unresolved] if unresolved and report else [])
    port = "" if state.site.httpport == 80 else f":{state.site.httpport}"
    base = f"http://{next_server}{port}/tftpboot"
    boot: dict[str, str] = {}
    netboot = node.netboot.strip()
    if netboot == "pxe":
        boot["filename"] = "pxelinux.0"
    elif netboot == "xnba":
        boot.update(filename="xcat/xnba.kpxe", xnba_url=f"{base}/xcat/xnba/nodes/{node.name}")
    elif netboot.startswith("grub2"):
        boot["filename"] = f"/boot/grub2/grub2-{node.name}"
    elif netboot == "yaboot":
        boot["filename"] = f"/yb/node/yaboot-{node.name}"
    elif netboot == "petitboot":
        boot["conf_file"] = f"{base}/petitboot/{node.name}"
    entries = []
    for mac in macs:
        ip, subnet = node.ip, here.network
        if mac.alias:
            ip = node.aliases.get(mac.hostname, "")
            alias_net = _facing(state, host, node, ip, mine) if ip else here
            subnet = alias_net.network if alias_net else subnet
        if not _NAME.match(mac.hostname):
            mine.append(f"{node.name}: {mac.hostname!r} cannot name a DHCP host entry")
        entries.append(
            DhcpEntry(
                name=mac.hostname,
                node=node.name,
                hostname=mac.hostname if mac.alias else node.name,
                mac=mac.mac,
                ip=ip,
                subnet=str(subnet),
                next_server=next_server,
                **boot,
            )
        )
    problems.extend(mine)
    return entries


def _facing(
    state: ServiceState, host: ServiceHost, node: NodeInfo, ip: str, problems: list[str]
) -> Facing | None:
    try:
        ipaddress.IPv4Address(ip)
    except ValueError:
        problems.append(f"{node.name}: no valid IP address in the hosts table ({ip!r})")
        return None
    found = facing(state, host, ip)
    if found is None:
        problems.append(f"{node.name}: {ip} is on no network that {host.name} serves")
    return found


def _check_unique(entries: Sequence[DhcpEntry], problems: list[str]) -> None:
    """Each MAC and each IP belongs to one node (a node may repeat its own IP)."""
    unique = {(e.node, e.name): e for e in entries}  # a node served by two hosts counts once
    per_node = Counter((e.mac, e.node) for e in unique.values())
    macs: dict[str, set[str]] = {}
    ips: dict[str, set[str]] = {}
    for (mac, node), count in sorted(per_node.items()):
        macs.setdefault(mac, set()).add(node)
        if count > 1:
            problems.append(f"duplicate MAC {mac}: listed {count} times for {node}")
    for entry in unique.values():
        if entry.ip:
            ips.setdefault(entry.ip, set()).add(entry.node)
    for kind, owners in (("MAC", macs), ("IP address", ips)):
        for value, holders in sorted(owners.items()):
            if len(holders) > 1:
                names = sorted(holders, key=natural_key)
                problems.append(
                    f"duplicate {kind} {value}: {', '.join(names[:-1])} and {names[-1]}"
                )


# --- rendering ----------------------------------------------------------------------------


def render_dhcp(config: DhcpHostConfig, header: str, **kea: Any) -> str:
    """The file of ``config``'s backend (``site.dhcpbackend``); ``kea`` goes to Kea only."""
    if config.backend == "kea":
        return render_kea(config, header, **kea)
    return render_isc(config, header)


def render_isc(config: DhcpHostConfig, header: str) -> str:
    """The snflow include file for ISC dhcpd: option codes, subnets, host declarations.

    Self-contained: it declares the option codes it uses (the same declarations as
    xCAT's ``dhcpd.conf``; dhcpd accepts a repeated identical declaration).
    """
    lines = [f"# {check_header(header)}", f"# snflow DHCP configuration of {config.host}"]
    lines += [*_ISC_OPTIONS, ""]
    for subnet in config.subnets:
        net = ipaddress.IPv4Network(subnet.network)
        lines.append(f"subnet {net.network_address} netmask {net.netmask} {{  # {subnet.label}")
        lines.append("  authoritative;")
        lines += [f"  {k}-lease-time {subnet.lease_time};" for k in ("max", "min", "default")]
        lines += [f"  option routers {subnet.routers};"] if subnet.routers else []
        lines.append(f"  next-server {subnet.next_server};")
        if subnet.domain:
            lines += [f"  option domain-{k} {_q(subnet.domain)};" for k in ("name", "search")]
        if subnet.nameservers:
            lines.append(f"  option domain-name-servers {', '.join(subnet.nameservers)};")
        lines += [f"  range dynamic-bootp {low} {high};" for low, high in subnet.ranges]
        lines += ["}", ""]
    for entry in config.entries:
        lines += [f"host {entry.name} {{  # {entry.node}", f"  hardware ethernet {entry.mac};"]
        lines += [f"  fixed-address {entry.ip};"] if entry.ip else []
        lines.append(f"  next-server {entry.next_server};")
        if entry.xnba_url:
            arch0 = "option client-architecture = 00:00"
            uefi = "option client-architecture = 00:07 or option client-architecture = 00:09"
            xnba = 'option user-class-identifier = "xNBA"'
            lines += [
                f"  if {xnba} and {arch0} {{",
                "    always-broadcast on;",
                f"    filename {_q(entry.xnba_url)};",
                f"  }} else if {xnba} and ({uefi}) {{",
                f"    filename {_q(entry.xnba_url + '.uefi')};",
                f"  }} else if {uefi} {{",
                '    filename "xcat/xnba.efi";',
                "  } else {",
                f"    filename {_q(entry.filename)};",
                "  }",
            ]
        elif entry.filename:
            lines.append(f"  filename {_q(entry.filename)};")
        lines += [f"  option conf-file {_q(entry.conf_file)};"] if entry.conf_file else []
        name = _q(entry.hostname)
        lines += [f"  option host-name {name};", f"  ddns-hostname {name};", "}", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def render_isc_main(include_path: str, header: str) -> str:
    """A minimal ``dhcpd.conf`` that includes the snflow file (for checks and test beds)."""
    return (
        f"# {check_header(header)}\n"
        "authoritative;\n"
        "ddns-update-style none;\n"
        f"include {_q(include_path)};\n"
    )


def render_kea(
    config: DhcpHostConfig,
    header: str,
    *,
    interfaces: Sequence[str] | None = None,
    lease_file: str = KEA_LEASE_FILE,
) -> str:
    """A complete kea-dhcp4 configuration (JSON with a ``//`` header comment).

    ``interfaces`` defaults to the served networks' ``mgtifname`` (``*`` when none is
    set); ``kea-dhcp4 -t`` fails when a listed interface does not exist where it runs.
    Subnet ids are the network address as a number, stable across runs (Kea's leases
    refer to them). xnba nodes get per-node client classes: the xNBA loader first, then
    the node's script for the xNBA client (Kea cannot branch inside a reservation).
    """
    if interfaces is None:
        named = {s.interface for s in config.subnets if s.interface and "!" not in s.interface}
        interfaces = sorted(named) or ["*"]
    classes: list[dict[str, Any]] = []
    reservations: dict[str, list[dict[str, Any]]] = {s.network: [] for s in config.subnets}
    for entry in config.entries:
        item: dict[str, Any] = {"hw-address": entry.mac}
        if entry.ip:
            item["ip-address"] = entry.ip
        item.update({"hostname": entry.hostname, "next-server": entry.next_server})
        if entry.xnba_url:
            classes += _kea_xnba_classes(entry)
        elif entry.filename:
            item["boot-file-name"] = entry.filename
        if entry.conf_file:
            item["option-data"] = [{"name": "conf-file", "data": entry.conf_file}]
        item["user-context"] = {"node": entry.node}
        reservations.setdefault(entry.subnet, []).append(item)
    subnets = []
    for subnet in config.subnets:
        net = ipaddress.IPv4Network(subnet.network)
        options = [{"name": "routers", "data": subnet.routers}] if subnet.routers else []
        if subnet.domain:
            options.append({"name": "domain-name", "data": subnet.domain})
            options.append({"name": "domain-search", "data": subnet.domain})
        if subnet.nameservers:
            options.append({"name": "domain-name-servers", "data": ", ".join(subnet.nameservers)})
        subnets.append(
            {
                "id": int(net.network_address) or 1,
                "subnet": subnet.network,
                "user-context": {"network": subnet.label},
                "next-server": subnet.next_server,
                "valid-lifetime": subnet.lease_time,
                "option-data": options,
                "pools": [{"pool": f"{low} - {high}"} for low, high in subnet.ranges],
                "reservations": reservations.get(subnet.network, []),
            }
        )
    dhcp4: dict[str, Any] = {
        "interfaces-config": {"interfaces": list(interfaces)},
        "lease-database": {"type": "memfile", "persist": True, "name": lease_file},
        "authoritative": True,
        "user-context": {"generated-by": "snflow", "host": config.host},
    }
    ips = [e.ip for e in config.entries if e.ip]
    if len(ips) != len(set(ips)):  # a node's second MAC shares its address
        dhcp4["ip-reservations-unique"] = False
    if any(e.conf_file for e in config.entries):
        dhcp4["option-def"] = [{"name": "conf-file", "code": 209, "type": "string"}]
    if classes:
        dhcp4["client-classes"] = classes
    dhcp4["subnet4"] = subnets
    return f"// {check_header(header)}\n" + json.dumps({"Dhcp4": dhcp4}, indent=2) + "\n"


def _kea_xnba_classes(entry: DhcpEntry) -> list[dict[str, Any]]:
    """The loader for the firmware, the node's script for the xNBA loader (by MAC)."""
    rows = (
        ("bios", f"{_XNBA} and option[93].hex == 0x0000", entry.xnba_url),
        ("uefi", f"{_XNBA} and {_UEFI}", f"{entry.xnba_url}.uefi"),
        ("efi-loader", f"not {_XNBA} and {_UEFI}", "xcat/xnba.efi"),
        ("loader", f"not {_XNBA} and not {_UEFI}", entry.filename),
    )
    mac = f"pkt4.mac == 0x{entry.mac.replace(':', '')}"
    return [
        {
            "name": f"snflow-xnba-{entry.name}-{kind}",
            "test": f"{test} and {mac}",
            "boot-file-name": f,
        }
        for kind, test, f in rows
    ]


def _q(text: str) -> str:
    """A dhcpd string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
