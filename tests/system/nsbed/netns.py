"""Network namespaces, bridges and links of a bed (iproute2), and the route checks.

Nothing here creates an interface in the root namespace: a veth pair is created inside the
switch namespace with its peer placed straight into the host's namespace, so parallel beds
cannot collide on interface names and the machine's own network is never touched.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from .plan import BRIDGES, PREFIX, BedPlan

__all__ = [
    "BedError",
    "check_free_ranges",
    "create_network",
    "delete_namespaces",
    "ip",
    "list_namespaces",
    "netns_inode",
    "netns_pids",
    "pid_netns_inode",
    "route_get",
    "set_link",
]

_NETNS_DIR = Path("/run/netns")


class BedError(RuntimeError):
    """The bed cannot be built, checked or taken down."""


def ip(args: Sequence[str], *, batch: str | None = None, check: bool = True) -> str:
    """Run ``ip ARGS`` (with ``-batch -`` reading ``batch``); its stdout."""
    argv = ["ip", *args] + (["-batch", "-"] if batch is not None else [])
    proc = subprocess.run(argv, input=batch, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise BedError(f"{' '.join(argv)} failed: {proc.stderr.strip()}\n{batch or ''}".strip())
    return proc.stdout


def check_free_ranges(networks: Iterable[ipaddress.IPv4Network]) -> None:
    """Refuse bed networks that overlap a route or address of this machine (root namespace),
    the default route excepted: the bed's traffic must never be mistaken for real traffic."""
    nets = list(networks)
    routes = json.loads(ip(["-j", "-4", "route", "show", "table", "all"]) or "[]")
    addrs = json.loads(ip(["-j", "-4", "addr", "show"]) or "[]")
    used = [r.get("dst", "") for r in routes]
    used += [f"{a['local']}/{a['prefixlen']}" for i in addrs for a in i.get("addr_info", [])]
    for text in used:
        if text in ("", "default"):
            continue
        try:
            other = ipaddress.ip_network(text, strict=False)
        except ValueError:
            continue
        if other.prefixlen == 0:
            continue
        clash = [str(n) for n in nets if n.overlaps(other)]
        if clash:
            raise BedError(f"this machine routes {other}, which overlaps the bed's {clash[0]}")


def create_network(plan: BedPlan) -> None:
    """Every namespace of ``plan``, the switch's bridges, one veth pair per link, addresses,
    the CNs' default routes (via their primary SN, which forwards nothing)."""
    ip([], batch="".join(f"netns add {ns}\n" for ns in plan.namespaces))
    switch = ["link set lo up"]
    for bridge in BRIDGES.values():
        switch += [f"link add {bridge} type bridge", f"link set {bridge} up"]
    for host in plan.hosts:
        for link in host.links:
            switch += [
                f"link add {link.peer} type veth peer name {link.ifname} "
                f"address {link.mac} netns {host.netns}",
                f"link set {link.peer} master {BRIDGES[link.network]} up",
            ]
    ip(["-n", plan.switch], batch="\n".join(switch) + "\n")
    for host in plan.hosts:
        lines = ["link set lo up"]
        for link in host.links:
            lines += [f"addr add {link.cidr} dev {link.ifname}", f"link set {link.ifname} up"]
        if host.gateway:
            lines.append(f"route add default via {host.gateway}")
        ip(["-n", host.netns], batch="\n".join(lines) + "\n")


def set_link(netns: str, ifname: str, up: bool) -> None:
    ip(["-n", netns, "link", "set", ifname, "up" if up else "down"])


def list_namespaces(prefix: str = PREFIX) -> list[str]:
    """Namespaces of this machine whose name starts with ``prefix``."""
    names = [line.split()[0] for line in ip(["netns", "list"]).splitlines() if line.strip()]
    return [n for n in names if n.startswith(prefix)]


def netns_pids(name: str) -> list[int]:
    """PIDs of the processes in namespace ``name`` (none if it does not exist)."""
    if not (_NETNS_DIR / name).exists():
        return []
    return [int(p) for p in ip(["netns", "pids", name], check=False).split()]


def netns_inode(name: str) -> tuple[int, int] | None:
    """Identity (device, inode) of namespace ``name``, or None."""
    try:
        st = os.stat(_NETNS_DIR / name)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def pid_netns_inode(pid: int) -> tuple[int, int] | None:
    """Identity of the network namespace process ``pid`` is in, or None if it is gone."""
    try:
        st = os.stat(f"/proc/{pid}/ns/net")
    except OSError:
        return None
    return st.st_dev, st.st_ino


def delete_namespaces(names: Iterable[str]) -> None:
    """``ip netns del`` each existing name (their veths, bridges and addresses go with them)."""
    names = [n for n in names if (_NETNS_DIR / n).exists()]
    if names:
        ip(["-force"], batch="".join(f"netns del {n}\n" for n in names), check=False)
    left = [n for n in names if (_NETNS_DIR / n).exists()]
    if left:
        raise BedError(f"namespaces not deleted: {', '.join(left)}")


def route_get(netns: str, address: str) -> dict | None:
    """``ip route get ADDRESS`` inside ``netns``: the route (``dev``, maybe ``gateway``),
    or None when the namespace has no route to it ("Network is unreachable")."""
    proc = subprocess.run(
        ["ip", "-n", netns, "-j", "route", "get", address],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        if "unreachable" in proc.stderr.lower():
            return None
        raise BedError(f"ip route get {address} in {netns} failed: {proc.stderr.strip()}")
    routes = json.loads(proc.stdout or "[]")
    return routes[0] if routes else None
