"""The cluster-database rows that describe a virtual cluster (pure: no database, no I/O).

:func:`cluster_rows` turns a :func:`~snflow.sim.layout.plan_layout` layout into the xCAT
rows of the procedure's cluster; :func:`host_updates` says which ``hosts`` values a
database's own nodes need so the virtual cluster can serve them (``--from-db``).

>>> from snflow.sim.layout import plan_layout
>>> rows = cluster_rows(plan_layout(2, 4))
>>> [(r["node"], r["groups"]) for r in rows["nodelist"]]  # doctest: +NORMALIZE_WHITESPACE
[('sn1', 'service'), ('sn2', 'service'), ('cn001', 'compute,sn1group'),
 ('cn002', 'compute,sn1group'), ('cn003', 'compute,sn2group'), ('cn004', 'compute,sn2group')]
>>> [(r["node"], r["servicenode"], r["xcatmaster"]) for r in rows["noderes"]][1:3]
[('cn002', 'sn1,sn2', 'sn1-b'), ('cn003', 'sn2,sn1', 'sn2-b')]
"""

from __future__ import annotations

from collections.abc import Mapping

from snflow.sim.layout import (
    MN_ADDRESS,
    MN_NAME,
    NETWORK_A,
    NETWORK_B,
    SimHost,
    SimLayout,
    format_otherinterfaces,
    parse_otherinterfaces,
)

__all__ = [
    "COMPUTE_GROUP",
    "SERVICE_GROUP",
    "SIM_MARK",
    "SITE",
    "cluster_rows",
    "host_updates",
    "mac_address",
    "primary_group",
]

#: ``comments`` of every row the virtual cluster writes: how ``sim up`` knows its own nodes.
SIM_MARK = "snflow sim"
SERVICE_GROUP = "service"
COMPUTE_GROUP = "compute"

#: The ``site`` keys written.
SITE: dict[str, str] = {
    "master": MN_NAME,
    "SNsyncfiledir": "/var/xcat/syncfiles",
    "domain": "cluster.snflow",
    "nameservers": "<xcatmaster>",
    "ntpservers": "<xcatmaster>",
}

_OS, _ARCH = "rhels9", "x86_64"
#: Every ``_GRUB2_EVERY``-th CN boots with grub2, the others with pxe.
_GRUB2_EVERY = 4

Row = dict[str, str | None]


def primary_group(service_node: str) -> str:
    """The static group of the CNs whose primary SN is ``service_node`` (``sn1group``)."""
    return f"{service_node}group"


def mac_address(address: str) -> str:
    """A unique locally administered MAC from a host's address: a CN at 127.20.H.L gets
    ``02:00:00:00:HH:LL``, an SN at 127.10.0.i ``02:00:00:0a:00:ii``.

    >>> mac_address("127.20.4.18"), mac_address("127.10.0.3")
    ('02:00:00:00:04:12', '02:00:00:0a:00:03')
    """
    _, second, third, fourth = (int(o) for o in address.split("."))
    prefix = "00" if second == 20 else f"{second:02x}"
    return f"02:00:00:{prefix}:{third:02x}:{fourth:02x}"


def _marked(row: Row) -> Row:
    return {**row, "comments": SIM_MARK}


def _sn_rows(sn: SimHost, out: dict[str, list[Row]]) -> None:
    out["nodelist"].append({"node": sn.name, "groups": SERVICE_GROUP})
    out["hosts"].append(
        {
            "node": sn.name,
            "ip": sn.address,
            "otherinterfaces": format_otherinterfaces([(sn.b_name or "", sn.b_address or "")]),
        }
    )
    out["mac"].append({"node": sn.name, "interface": "eth0", "mac": mac_address(sn.address)})
    out["nodetype"].append(
        {
            "node": sn.name,
            "os": _OS,
            "arch": _ARCH,
            "profile": "service",
            "provmethod": f"{_OS}-{_ARCH}-install-service",
            "nodetype": "osi",
        }
    )
    out["nodehm"].append({"node": sn.name, "mgt": "ipmi", "cons": "ipmi"})
    out["servicenode"].append(
        {"node": sn.name, "dhcpserver": "1", "tftpserver": "1", "conserver": "1"}
    )


def _cn_rows(cn: SimHost, number: int, b_names: Mapping[str, str], out: dict) -> None:
    primary = cn.service_nodes[0]
    out["nodelist"].append({"node": cn.name, "groups": f"{COMPUTE_GROUP},{primary_group(primary)}"})
    out["noderes"].append(
        {
            "node": cn.name,
            "servicenode": ",".join(cn.service_nodes),
            "xcatmaster": b_names[primary],
            "netboot": "grub2" if number % _GRUB2_EVERY == 0 else "pxe",
        }
    )
    out["nodetype"].append(
        {
            "node": cn.name,
            "os": _OS,
            "arch": _ARCH,
            "profile": COMPUTE_GROUP,
            "provmethod": f"{_OS}-{_ARCH}-netboot-compute",
            "nodetype": "osi",
        }
    )
    out["nodehm"].append(
        {
            "node": cn.name,
            "mgt": "ipmi",
            "cons": "ipmi",
            "conserver": primary,
            "serialport": "0",
            "serialspeed": "115200",
        }
    )
    out["hosts"].append({"node": cn.name, "ip": cn.address})
    out["mac"].append({"node": cn.name, "interface": "eth0", "mac": mac_address(cn.address)})


def cluster_rows(layout: SimLayout) -> dict[str, list[Row]]:
    """Table -> rows (each marked with :data:`SIM_MARK`) describing ``layout``'s cluster."""
    out: dict[str, list[Row]] = {
        t: []
        for t in (
            "site",
            "networks",
            "nodelist",
            "nodegroup",
            "noderes",
            "nodetype",
            "nodehm",
            "postscripts",
            "hosts",
            "mac",
            "servicenode",
        )
    }
    out["site"] = [{"key": k, "value": v} for k, v in SITE.items()]
    out["networks"] = [
        {"net": NETWORK_A[0], "mask": NETWORK_A[1], "netname": "a", "mgtifname": "eth0"},
        {
            "net": NETWORK_B[0],
            "mask": NETWORK_B[1],
            "netname": "b",
            "mgtifname": "eth1",
            "gateway": "<xcatmaster>",
        },
    ]
    out["hosts"].append({"node": MN_NAME, "ip": MN_ADDRESS})
    b_names = {sn.name: sn.b_name or sn.name for sn in layout.service_nodes}
    for sn in layout.service_nodes:
        _sn_rows(sn, out)
    for number, cn in enumerate(layout.compute_nodes, start=1):
        _cn_rows(cn, number, b_names, out)
    groups = [primary_group(sn.name) for sn in layout.service_nodes]
    out["nodegroup"] = [
        {"groupname": g, "grouptype": "static"} for g in (*groups, COMPUTE_GROUP, SERVICE_GROUP)
    ]
    out["postscripts"] = [
        {
            "node": "xcatdefaults",
            "postscripts": "syslog,remoteshell,syncfiles",
            "postbootscripts": "otherpkgs",
        },
        {"node": COMPUTE_GROUP, "postscripts": "mkresolvconf,setupntp"},
        {"node": SERVICE_GROUP, "postscripts": "servicenode"},
    ]
    return {table: [_marked(r) for r in rows] for table, rows in out.items()}


def host_updates(
    layout: SimLayout, current: Mapping[str, tuple[str | None, str | None]]
) -> dict[str, dict[str, str]]:
    """The ``hosts`` values each node needs for ``layout`` (node -> column -> value), given
    its effective ``(ip, otherinterfaces)``; nodes already right are left out. An SN's
    network "b" entry replaces the one of the same name, its other interfaces are kept.

    >>> from snflow.sim.layout import plan_layout
    >>> sn = plan_layout(1, 0).host("sn1")
    >>> host_updates(SimLayout(hosts=(sn,)), {"sn1": ("10.0.0.1", "sn1-b:10.1.0.1,x:1.2.3.4")})
    {'sn1': {'ip': '127.10.0.1', 'otherinterfaces': 'sn1-b:127.20.0.1,x:1.2.3.4'}}
    """
    updates: dict[str, dict[str, str]] = {}
    for host in layout.hosts:
        ip, other = current.get(host.name, (None, None))
        wanted: dict[str, str] = {}
        if ip != host.address:
            wanted["ip"] = host.address
        if host.role == "sn" and host.b_name and host.b_address:
            pairs = parse_otherinterfaces(other)
            rest = [(n, a) for n, a in pairs if n != host.b_name]
            index = next((i for i, (n, _) in enumerate(pairs) if n == host.b_name), 0)
            new = format_otherinterfaces(
                [*rest[:index], (host.b_name, host.b_address), *rest[index:]]
            )
            if new != (other or ""):
                wanted["otherinterfaces"] = new
        if wanted:
            updates[host.name] = wanted
    return updates
