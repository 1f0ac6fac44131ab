"""makedhcp on one host: which nodes its file holds, and what changed. Pure: no I/O.

:func:`~snflow.models.dhcp.plan_dhcp` says what every DHCP host *may* hold (every node
its pool puts there, rendered from the database). Which of those a host's file *does*
hold follows xCAT's ``makedhcp``: ``makedhcp <noderange>`` adds those nodes and keeps the
entries already in the file, ``-d`` removes, ``-a`` puts every node, ``-a -d`` none, ``-n``
rewrites the networks and keeps the entries. So the task reads the host's current file
(:func:`installed_entries`), picks the members (:func:`select_members`), renders the file
for them (:func:`filter_config`) and reports the difference (:func:`entry_changes`).
Entries always come from the database: a kept entry is rewritten when its node changed.

:func:`plan_makedhcp` is the planning step of a request. Nodes without a service node
are served by the management node; one whose address is on no network of the management
node is left out with a warning (xCAT's ``nodeonmynet``), rather than failing the run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from snflow.models.dhcp import DhcpHostConfig, plan_dhcp
from snflow.models.natsort import natural_key
from snflow.models.services import ServiceState, facing, pool_hosts, sorted_nodes

__all__ = [
    "DhcpAction",
    "InstalledEntry",
    "entry_changes",
    "filter_config",
    "installed_entries",
    "plan_makedhcp",
    "query_hosts",
    "query_lines",
    "select_members",
]

DhcpAction = Literal["add", "delete", "networks", "query"]
_ISC_HOST = re.compile(r"^host (\S+) \{  # (\S+)\n(.*?)^\}\n", re.MULTILINE | re.DOTALL)


class InstalledEntry(BaseModel):
    """One host entry found in an installed file."""

    model_config = ConfigDict(frozen=True)

    name: str
    node: str
    mac: str = ""
    ip: str = ""
    text: str = ""  # the entry as written, to tell a rewritten entry from a kept one


def installed_entries(text: str | None, backend: Literal["isc", "kea"]) -> list[InstalledEntry]:
    """The snflow entries of an installed file (none when absent or unreadable)."""
    if not text:
        return []
    if backend == "isc":
        found = []
        for name, node, body in _ISC_HOST.findall(text):
            mac = re.search(r"hardware ethernet (\S+);", body)
            ip = re.search(r"fixed-address (\S+);", body)
            found.append(
                InstalledEntry(
                    name=name,
                    node=node,
                    mac=mac.group(1) if mac else "",
                    ip=ip.group(1) if ip else "",
                    text=body,
                )
            )
        return found
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    try:
        subnets = json.loads(body)["Dhcp4"]["subnet4"]
        return [
            InstalledEntry(
                name=str(r.get("hostname", "")),
                node=str(r["user-context"]["node"]),
                mac=str(r.get("hw-address", "")),
                ip=str(r.get("ip-address", "")),
                text=json.dumps(r, sort_keys=True),
            )
            for s in subnets
            for r in s.get("reservations", [])
            if isinstance(r.get("user-context"), dict) and "node" in r["user-context"]
        ]
    except (ValueError, KeyError, TypeError, AttributeError):
        return []


def plan_makedhcp(
    state: ServiceState, action: DhcpAction, nodes: Sequence[str] | None
) -> tuple[dict[str, DhcpHostConfig], list[str]]:
    """Every affected host's full config (all nodes it may hold), and warnings.

    ``nodes=None`` is ``-a`` (or ``-n``): every DHCP host. Raises
    :class:`~snflow.models.services.ServiceConfigError` with every problem found.
    """
    served, warnings = _scope(state, () if action == "networks" else nodes)
    if nodes is not None:  # nodes left out are not asked for either
        known = served.node_map()
        nodes = [n for n in nodes if n in known or n not in state.node_map()]
    state = served
    if action == "delete" and nodes is not None:
        return plan_dhcp(state, nodes=[], delete=nodes), warnings
    return plan_dhcp(state, nodes=None if action == "networks" else nodes), warnings


def _scope(state: ServiceState, asked: Sequence[str] | None) -> tuple[ServiceState, list[str]]:
    """``state`` without the nodes the management node cannot serve (no service node,
    address on none of its networks); a warning for each of them that was asked for."""
    mn = state.mn()
    if mn is None:
        return state, []
    dropped = [
        n
        for n in state.nodes
        if not n.servicenode and n.mac.strip() and n.ip and facing(state, mn, n.ip) is None
    ]
    if not dropped:
        return state, []
    wanted = None if asked is None else set(asked)
    warnings = [
        f"{n.name}: {n.ip} is on no network of the management node {mn.name}; "
        "no DHCP entry written for it"
        for n in dropped
        if wanted is None or n.name in wanted
    ]
    gone = {n.name for n in dropped}
    kept = tuple(n for n in state.nodes if n.name not in gone)
    return state.model_copy(update={"nodes": kept}), warnings


def query_hosts(state: ServiceState, nodes: Sequence[str]) -> list[str]:
    """The DHCP hosts that should hold entries for ``nodes`` (``-q``), natural order."""
    known = state.node_map()
    hosts: set[str] = set()
    for name in nodes:
        if name in known:
            hosts.update(h.name for h in pool_hosts(state, known[name], "dhcpserver")[0])
    return sorted(hosts, key=natural_key)


def select_members(
    action: DhcpAction,
    all_nodes: bool,
    requested: Collection[str],
    current: Collection[str],
    served: Collection[str],
) -> set[str]:
    """The nodes a host's file holds after the request, among those it may hold (``served``).

    >>> sorted(select_members("add", False, ["cn2"], ["cn1"], ["cn1", "cn2", "cn3"]))
    ['cn1', 'cn2']
    >>> sorted(select_members("delete", False, ["cn1"], ["cn1", "cn3"], ["cn1", "cn2", "cn3"]))
    ['cn3']
    """
    served_set = set(served)
    if action == "add":
        chosen = served_set if all_nodes else set(current) | set(requested)
    elif action == "delete":
        chosen = set() if all_nodes else set(current) - set(requested)
    else:  # networks, query: the entries stay as they are
        chosen = set(current)
    return chosen & served_set


def filter_config(config: DhcpHostConfig, members: Collection[str]) -> DhcpHostConfig:
    """``config`` holding only the entries of ``members``."""
    wanted = set(members)
    entries = tuple(e for e in config.entries if e.node in wanted)
    return config.model_copy(update={"entries": entries, "networks_only": False})


def entry_changes(
    before: Iterable[InstalledEntry], after: Iterable[InstalledEntry]
) -> tuple[list[str], list[str], list[str]]:
    """Nodes added, removed and rewritten between two files' entries (natural order)."""
    old: dict[str, list[str]] = {}
    new: dict[str, list[str]] = {}
    for entry in before:
        old.setdefault(entry.node, []).append(entry.text)
    for entry in after:
        new.setdefault(entry.node, []).append(entry.text)
    added = sorted_nodes(set(new) - set(old))
    removed = sorted_nodes(set(old) - set(new))
    updated = sorted_nodes(n for n in set(old) & set(new) if sorted(old[n]) != sorted(new[n]))
    return added, removed, updated


def query_lines(host: str, entries: Iterable[InstalledEntry], nodes: Sequence[str]) -> list[str]:
    """``makedhcp -q`` output for one host: one line per entry of the nodes asked, and
    ``no entry`` for a node without one.

    >>> e = InstalledEntry(name="cn1", node="cn1", mac="02:00:00:00:00:01", ip="10.0.0.1")
    >>> query_lines("sn1", [e], ["cn1", "cn2"])  # doctest: +NORMALIZE_WHITESPACE
    ['cn1: sn1: ip-address = 10.0.0.1, hardware-address = 02:00:00:00:00:01',
     'cn2: sn1: no entry']
    """
    by_node: dict[str, list[InstalledEntry]] = {}
    for entry in entries:
        by_node.setdefault(entry.node, []).append(entry)
    lines = []
    for node in nodes:
        found = by_node.get(node)
        if not found:
            lines.append(f"{node}: {host}: no entry")
        for e in found or ():
            label = node if e.name in (node, "") else f"{node} ({e.name})"
            lines.append(f"{label}: {host}: ip-address = {e.ip}, hardware-address = {e.mac}")
    return lines
