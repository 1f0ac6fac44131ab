"""The planning core of ``snmove``: current state + options → per-node changes. No I/O.

A flow reads the cluster database once (and probes the destination SNs with ``ip -o addr``
when ``-D`` is absent), builds a :class:`ClusterState`, picks nodes with :func:`select_nodes`
and calls :func:`plan_move`. The :class:`MovePlan` it gets back is the diff: what
``--dry-run`` prints (:func:`render_plan`), what the journal records and what apply writes.
Rules follow ``xcat/snmove.md`` §3-§9 with the decisions of ``design.md`` (exact name
compares, ``syslog`` always, one gateway per node, validation in full before any write,
xcatmaster stored as the SN's host name on the node's network, xcatinfo on every moved node).

>>> cn1 = NodeState(node="cn1", servicenode="sn1,sn2", xcatmaster="sn1-c", ip="10.0.1.1")
>>> state = ClusterState(nodes={"cn1": cn1}, networks=(Network(net="10.0.0.0/16"),))
>>> options = MoveOptions(noderange="cn1", dest_n="sn2-c", ignore_nodes=True)
>>> render_plan(plan_move(state, options, ["cn1"]))  # doctest: +NORMALIZE_WHITESPACE
['cn1: noderes.servicenode: sn1,sn2 -> sn2,sn1', 'cn1: noderes.xcatmaster: sn1-c -> sn2-c']

Not here: reading the database, resolving names, probing SNs, writing, running anything.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict

from snflow.models.gcpause import pauses_gc
from snflow.models.natsort import fold, natural_sorted
from snflow.models.snmove_interfaces import (
    MESSAGES,
    ClusterState,
    HostName,
    Interface,
    MoveOptions,
    Network,
    NodeState,
    SnmoveError,
    address_of,
    host_names,
    network_of,
    normalize_ip,
    parse_ip_addr,
    split_names,
)

__all__ = [
    "ALWAYS_SCRIPT",
    "CANDIDATE_SCRIPTS",
    "MESSAGES",
    "AttributeChange",
    "ClusterState",
    "HostName",
    "Interface",
    "MoveOptions",
    "MovePlan",
    "Network",
    "NodePlan",
    "NodeState",
    "SnmoveError",
    "host_names",
    "moved_away_nodes",
    "parse_ip_addr",
    "plan_move",
    "render_plan",
    "select_nodes",
]

#: Postscript run on every moved node that is up (decision 3).
ALWAYS_SCRIPT = "syslog"
#: Run when in the node's list (with xcatdefaults), in this order after syslog (xCAT's order).
CANDIDATE_SCRIPTS = ("setupntp", "mkresolvconf")
_FROZEN = ConfigDict(frozen=True)


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for n in names if n))


class AttributeChange(BaseModel):
    """One attribute of one node: ``table.column`` (object attribute ``attr``) before → after."""

    model_config = _FROZEN

    table: Literal["noderes", "nodehm"]
    column: str
    attr: str
    before: str | None
    after: str | None


class NodePlan(BaseModel):
    """What moving one node means: database changes and the work on the node."""

    model_config = _FROZEN

    node: str
    old_sn: str | None
    new_sn: str
    new_xcatmaster: str
    changes: tuple[AttributeChange, ...]
    #: Postscripts to run on the node (empty with ``-i``).
    postscripts: tuple[str, ...] = ()
    #: New default gateway; ``None``: the gateway is not touched.
    gateway: str | None = None
    #: ``XCATSERVER`` for ``/opt/xcat/xcatinfo`` (the new master's address when known).
    xcatinfo_server: str
    #: ``False`` with ``-i``: nothing runs on the node (xcatinfo, gateway, postscripts).
    run_on_node: bool = True
    #: ``nodetype.provmethod`` (nodeset runs for the node when set, even with ``-i``).
    provmethod: str | None = None


class MovePlan(BaseModel):
    """A whole move. With ``errors`` it holds no node changes and nothing may be written."""

    model_config = _FROZEN

    nodes: tuple[NodePlan, ...] = ()
    errors: tuple[str, ...] = ()
    #: Reported but not blocking (xCAT carries on): e.g. an invalid monserver kept as is.
    warnings: tuple[str, ...] = ()
    #: Nodes already on the destination: nothing to move.
    skipped: tuple[str, ...] = ()
    destination_sns: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether applying the plan changes anything."""
        return bool(self.nodes)

    @property
    def conserver_nodes(self) -> tuple[str, ...]:
        """Nodes whose ``nodehm.conserver`` changes (for makeconservercf)."""
        return tuple(p.node for p in self.nodes if any(c.table == "nodehm" for c in p.changes))


def _first_sn(servicenode: str | None, site_master: str | None) -> str | None:
    names = split_names(servicenode or "")
    return names[0] if names else site_master


def select_nodes(
    options: MoveOptions,
    all_nodes_servicenode: Mapping[str, str | None],
    noderange_nodes: Sequence[str] | None,
    *,
    site_master: str | None = None,
) -> list[str]:
    """The nodes to move, in natural order.

    A noderange selects its nodes (``-s`` then only overrides the old SN). ``-s SN1`` alone
    selects every node whose **first** ``servicenode`` entry is exactly ``SN1``; nodes with
    no servicenode count as served by ``site_master`` (xCAT's bucket).
    """
    if options.noderange is not None:
        if noderange_nodes is None:
            raise ValueError("select_nodes: the noderange's nodes are needed")
        return natural_sorted(dict.fromkeys(noderange_nodes))
    return natural_sorted(
        node
        for node, servicenode in all_nodes_servicenode.items()
        if _first_sn(servicenode, site_master) == options.source
    )


def moved_away_nodes(
    options: MoveOptions, all_nodes_servicenode: Mapping[str, str | None]
) -> list[str]:
    """Nodes a completed ``-s SN1 [-d SN2]`` move left behind: ``SN1`` listed after the first
    entry (which is ``SN2`` when ``-d`` is given). Used when ``-s`` selects nothing, to tell
    "nothing to move" from an unknown SN."""
    found = []
    for node, servicenode in all_nodes_servicenode.items():
        names = split_names(servicenode or "")
        if options.source in names[1:] and options.dest in (None, names[0]):
            found.append(node)
    return natural_sorted(found)


class _Master(NamedTuple):
    """A new xcatmaster value and its address (``None`` when unknown)."""

    value: str
    address: str | None


def _computed_master(state: ClusterState, sn: str, network: Network) -> _Master | None:
    """§7 + decision 8: the SN's first live address on ``network``, stored as the SN's
    ``hosts`` name for it (the first live address on the network that has one), else the IP."""
    live = [i.address for i in state.sn_interfaces.get(sn, ()) if network.contains(i.address)]
    named = {h.address: h.name for h in reversed(state.hosts.get(sn, ()))}
    for address in live:
        if address in named:
            return _Master(named[address], address)
    return _Master(live[0], live[0]) if live else None


def _postscripts(state: ClusterState, node: NodeState, extra: MoveOptions) -> tuple[str, ...]:
    """Decision 3: syslog, then setupntp/mkresolvconf when listed, then ``-P``."""
    return _script_list(
        (*state.default_postscripts, *node.postscripts),
        (*state.default_postbootscripts, *node.postbootscripts),
        extra.postscripts,
    )


# Cached: the nodes of a move share a few lists (their groups'), and this runs per node.
@functools.lru_cache(maxsize=1024)
def _script_list(
    postscripts: tuple[str, ...],
    postbootscripts: tuple[str, ...],
    extra: tuple[str, ...] | str | None,
) -> tuple[str, ...]:
    full = _unique((*postscripts, *postbootscripts))
    if extra == "all":
        return full if ALWAYS_SCRIPT in full else (ALWAYS_SCRIPT, *full)
    listed = tuple(s for s in CANDIDATE_SCRIPTS if s in full)
    return _unique((ALWAYS_SCRIPT, *listed, *(extra or ())))


def _plan_node(
    state: ClusterState,
    options: MoveOptions,
    node: NodeState,
    new_sn: str,
    master: _Master,
    network: Network | None,
    warnings: dict[str, list[str]],
) -> NodePlan:
    """§6 and §8 for one node (exact string compares)."""
    names = node.servicenodes
    old_sn = options.source or (names[0] if names else None)
    old_master = options.source_n or node.xcatmaster
    old_ip = address_of(old_master, state.hosts)

    def is_old_master(value: str) -> bool:
        return value == old_master or (
            old_ip is not None and old_ip in (normalize_ip(value), address_of(value, state.hosts))
        )

    after: dict[str, str | None] = {
        "servicenode": ",".join(_unique((new_sn, *(n for n in names if n != new_sn)))),
        "xcatmaster": master.value,
    }
    for attr in ("tftpserver", "nfsserver"):
        value = getattr(node, attr)
        if value and old_master and is_old_master(value):
            after[attr] = master.value
    if node.monserver:
        fields = node.monserver.split(",")
        if len(fields) < 2:
            warnings.setdefault(MESSAGES["monserver"], []).append(node.node)
        elif fields[0] == old_sn:
            after["monserver"] = f"{new_sn},{master.value}"
    if node.conserver and node.conserver == old_sn:
        after["conserver"] = new_sn
    changes = tuple(
        AttributeChange(
            table="nodehm" if attr == "conserver" else "noderes",
            column=attr,
            attr=attr,
            before=getattr(node, attr),
            after=value,
        )
        for attr, value in after.items()
        if getattr(node, attr) != value
    )
    gateway = None
    run = not options.ignore_nodes
    if run and network is not None and network.gateway_is_xcatmaster:
        gateway = master.address
        if gateway is None:
            text = MESSAGES["no_gateway"].format(master=master.value, node=node.node)
            warnings.setdefault(text, [])
    return NodePlan(
        node=node.node,
        old_sn=old_sn,
        new_sn=new_sn,
        new_xcatmaster=master.value,
        changes=changes,
        postscripts=_postscripts(state, node, options) if run else (),
        gateway=gateway,
        xcatinfo_server=master.address or master.value,
        run_on_node=run,
        provmethod=node.provmethod,
    )


def _check_nodes(state: ClusterState, nodes: list[str]) -> list[str]:
    """Whole-selection errors: unknown nodes, AIX nodes, unresolvable nodes."""
    missing = [n for n in nodes if n not in state.nodes]
    if missing:
        return [MESSAGES["invalid_nodes"].format(nodes=",".join(missing))]
    aix = [n for n in nodes if state.nodes[n].os == "AIX"]
    errors = []
    if aix:
        mixed = len(aix) < len(nodes)
        errors.append(MESSAGES["mixed_os"] if mixed else MESSAGES["aix"].format(nodes=fold(aix)))
    errors += [
        MESSAGES["unresolved"].format(node=n) for n in nodes if not normalize_ip(state.nodes[n].ip)
    ]
    return errors


@pauses_gc
def plan_move(state: ClusterState, options: MoveOptions, selected: Sequence[str]) -> MovePlan:
    """Plan moving ``selected`` nodes (§5-§9, design decisions applied); never raises for data.

    Every problem of every node is collected in ``errors``; if there is any, the plan has no
    node changes. With an empty selection under ``-s``, nodes of ``state`` that a completed
    move left behind (:func:`moved_away_nodes`) are reported as skipped instead of an error.
    """
    nodes = natural_sorted(dict.fromkeys(selected))
    if not nodes:
        servicenodes = {n: s.servicenode for n, s in state.nodes.items()}
        moved = moved_away_nodes(options, servicenodes) if options.source else []
        if moved:
            return MovePlan(skipped=tuple(moved))
        return MovePlan(errors=(MESSAGES["no_definitions"],))
    errors = _check_nodes(state, nodes)
    if errors:
        return MovePlan(errors=tuple(errors))
    new_sn: dict[str, str] = {}
    for n in nodes:  # §5
        names = state.nodes[n].servicenodes
        sn = options.dest or (names[1] if len(names) > 1 else None)
        if sn:
            new_sn[n] = sn
        else:
            errors.append(MESSAGES["no_backup"].format(node=n))
    destinations = tuple(natural_sorted(set(new_sn.values())))
    if options.dest_n is None:
        errors += [
            MESSAGES["no_addresses"].format(sn=sn)
            for sn in destinations
            if sn not in state.sn_interfaces
        ]
    plans: list[NodePlan] = []
    skipped: list[str] = []
    warnings: dict[str, list[str]] = {}
    # Thousands of nodes share a few (SN, network) pairs: one master computation per pair.
    masters: dict[tuple[str, Network], _Master | None] = {}
    for n, sn in new_sn.items():  # §7, §8
        node = state.nodes[n]
        network = node.network or network_of(node.ip, state.networks)
        if options.dest_n is not None:
            master = _Master(options.dest_n, address_of(options.dest_n, state.hosts))
        elif network is None:
            master = None
        else:
            if (sn, network) not in masters:
                masters[sn, network] = _computed_master(state, sn, network)
            master = masters[sn, network]
        if master is None:
            errors.append(MESSAGES["no_xcatmaster"].format(node=n))
        elif node.servicenodes[:1] == (sn,) and node.xcatmaster == master.value:
            skipped.append(n)
        else:
            plans.append(_plan_node(state, options, node, sn, master, network, warnings))
    return MovePlan(
        nodes=() if errors else tuple(plans),
        errors=tuple(errors),
        warnings=tuple(f"{fold(ns)}: {text}" if ns else text for text, ns in warnings.items()),
        skipped=tuple(skipped),
        destination_sns=destinations,
    )


def _show(value: str | None) -> str:
    return "(unset)" if value is None else value


def _node_lines(plan: NodePlan) -> tuple[str, ...]:
    lines = [f"{c.table}.{c.column}: {_show(c.before)} -> {_show(c.after)}" for c in plan.changes]
    if plan.provmethod:
        lines.append(f"nodeset: {plan.provmethod}")
    if plan.run_on_node:
        lines.append(f"xcatinfo: XCATSERVER={plan.xcatinfo_server}")
        if plan.gateway:
            lines.append(f"default gateway: {plan.gateway}")
        if plan.postscripts:
            lines.append(f"postscripts: {','.join(plan.postscripts)}")
    return tuple(lines)


def render_plan(plan: MovePlan) -> list[str]:
    """The human diff of a plan: ``node: table.column: before -> after``, then the actions.

    Nodes whose lines are all identical are folded into one noderange (``cn[1-20]: ...``);
    skipped nodes end the list as ``<noderange>: nothing to move``. Errors and warnings are
    not rendered here (the caller prints them as such).
    """
    blocks: dict[tuple[str, ...], list[str]] = {}
    for node_plan in plan.nodes:
        blocks.setdefault(_node_lines(node_plan), []).append(node_plan.node)
    lines = [f"{fold(nodes)}: {line}" for block, nodes in blocks.items() for line in block]
    if plan.skipped:
        lines.append(f"{fold(plan.skipped)}: {MESSAGES['nothing']}")
    return lines
