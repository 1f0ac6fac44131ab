"""What ``snmove`` reads from the cluster database, set-based, on the caller's connection.

:func:`read_move_state` is the Plan phase's one read: the selected nodes and everything
:func:`~snflow.models.snmove.plan_move` needs about them (effective attributes, networks,
the service nodes' host names, xcatdefaults), plus the journal mark that lets Apply notice
a move that ran in between. :func:`read_node_environment` is what the node phase reads
after the change: each node's attributes as they now are, for the postscripts' environment.
One query per table either way, whatever the number of nodes.

Not here: probing service nodes (their live interfaces come from a task), resolving names
with the system resolver (a task's fallback), planning.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Connection

from snflow.models.cluster import ClusterView
from snflow.models.defspec import Column
from snflow.models.gcpause import pauses_gc
from snflow.models.journal import journal_mark
from snflow.models.schema import TABLES, row_is_disabled
from snflow.models.snmove import (
    MESSAGES,
    ClusterState,
    HostName,
    MoveOptions,
    Network,
    NodeState,
    host_names,
    moved_away_nodes,
    select_nodes,
)

__all__ = [
    "MoveContext",
    "NodeEnvironment",
    "read_host_names",
    "read_move_state",
    "read_node_environment",
]

_SERVICENODE = Column("noderes", "servicenode")
_XCATMASTER = Column("noderes", "xcatmaster")
_NFSSERVER = Column("noderes", "nfsserver")
_IP = Column("hosts", "ip")
_STATE_COLUMNS: dict[str, Column] = {
    "servicenode": _SERVICENODE,
    "xcatmaster": _XCATMASTER,
    "tftpserver": Column("noderes", "tftpserver"),
    "nfsserver": _NFSSERVER,
    "monserver": Column("noderes", "monserver"),
    "conserver": Column("nodehm", "conserver"),
    "os": Column("nodetype", "os"),
    "provmethod": Column("nodetype", "provmethod"),
    "postscripts": Column("postscripts", "postscripts"),
    "postbootscripts": Column("postscripts", "postbootscripts"),
    "ip": _IP,
}
_HOST_COLUMNS = ("ip", "hostnames", "otherinterfaces")
_ENV_COLUMNS: dict[str, Column] = {
    "servicenode": _SERVICENODE,
    "xcatmaster": _XCATMASTER,
    "nfsserver": _NFSSERVER,
    "os": Column("nodetype", "os"),
    "arch": Column("nodetype", "arch"),
    "profile": Column("nodetype", "profile"),
    "provmethod": Column("nodetype", "provmethod"),
    "installnic": Column("noderes", "installnic"),
    "primarynic": Column("noderes", "primarynic"),
    "ip": _IP,
}


class MoveContext(BaseModel):
    """The Plan phase's read: selected nodes, the state to plan from, the journal mark."""

    model_config = ConfigDict(frozen=True)

    selected: tuple[str, ...] = ()
    state: ClusterState = Field(default_factory=ClusterState)
    #: Newest journal row when this was read (Apply refuses nodes journaled after it).
    mark: int = 0
    #: Errors found while selecting (unknown nodes): nothing can be planned.
    errors: tuple[str, ...] = ()


def _networks(conn: Connection) -> tuple[Network, ...]:
    tab = TABLES["networks"]
    query = sa.select(
        tab.c.net, tab.c.mask, tab.c.gateway, tab.c.mgtifname, tab.c.netname, tab.c.disable
    )
    return tuple(
        Network(net=net, mask=mask or "", gateway=gw or None, mgtifname=ifn, netname=name)
        for net, mask, gw, ifn, name, disable in conn.execute(query)
        if net and not row_is_disabled(disable)
    )


def read_host_names(view: ClusterView, names: Iterable[str]) -> dict[str, tuple[HostName, ...]]:
    """The ``hosts`` names and addresses of the hosts called ``names`` (effective rows)."""
    hosts = sorted({n for n in names if n})
    columns = [Column("hosts", c) for c in _HOST_COLUMNS]
    attrs = view.node_attributes(hosts, columns)
    return {
        host: host_names(host, *(attrs[host].get(c) for c in columns))
        for host in hosts
        if attrs[host]
    }


def _host_candidates(options: MoveOptions, nodes: Iterable[NodeState], master: str) -> set[str]:
    """Every name the planner may look up in ``hosts``: SNs, masters, servers."""
    names = {options.source, options.source_n, options.dest, options.dest_n, master}
    for node in nodes:
        names.update(node.servicenodes)
        names.update((node.xcatmaster, node.tftpserver, node.nfsserver))
    return {n for n in names if n}


@pauses_gc
def read_move_state(conn: Connection, options: MoveOptions) -> MoveContext:
    """Select the nodes of ``options`` and read what planning their move needs."""
    view = ClusterView(conn)
    mark = journal_mark(conn)
    master = view.site.get("master", "")
    all_servicenode: dict[str, str | None] = {}
    listed: Sequence[str] | None = None
    if options.noderange is not None:
        result = view.expand(options.noderange)
        if result.missing:
            text = MESSAGES["invalid_nodes"].format(nodes=",".join(result.missing))
            return MoveContext(mark=mark, errors=(text,))
        listed = result.nodes
    else:
        all_servicenode = dict(view.column_values(list(view.nodelist), _SERVICENODE))
        all_servicenode.update({n: None for n in view.nodelist if n not in all_servicenode})
    selected = select_nodes(options, all_servicenode, listed, site_master=master or None)
    if not selected and options.source:
        selected_state = moved_away_nodes(options, all_servicenode)
        nodes = {n: NodeState(node=n, servicenode=all_servicenode[n]) for n in selected_state}
        return MoveContext(mark=mark, state=ClusterState(nodes=nodes, site_master=master or None))
    attrs = view.node_attributes(selected, _STATE_COLUMNS.values())
    nodes = {
        n: NodeState(node=n, **{k: attrs[n].get(c, "") for k, c in _STATE_COLUMNS.items()})
        for n in selected
    }
    defaults = view.rows("postscripts", ["xcatdefaults"], ["postscripts", "postbootscripts"])
    xcatdefaults = defaults.get("xcatdefaults", {})
    hosts = read_host_names(view, _host_candidates(options, nodes.values(), master))
    state = ClusterState(
        nodes=nodes,
        site_master=master or None,
        default_postscripts=xcatdefaults.get("postscripts", ""),
        default_postbootscripts=xcatdefaults.get("postbootscripts", ""),
        networks=_networks(conn),
        hosts=hosts,
    )
    return MoveContext(selected=tuple(selected), state=state, mark=mark)


class NodeEnvironment(BaseModel):
    """What the postscripts' environment is made of, read after the database change."""

    model_config = ConfigDict(frozen=True)

    site: dict[str, str] = Field(default_factory=dict)
    #: Node -> its effective attributes (keys of ``_ENV_COLUMNS``; unset ones absent).
    nodes: dict[str, dict[str, str]] = Field(default_factory=dict)
    #: Nodes that are service nodes (a ``servicenode`` table row): ``NTYPE=service``.
    service_nodes: frozenset[str] = frozenset()
    #: Host name -> address, for the master values the nodes now have.
    addresses: dict[str, str] = Field(default_factory=dict)


def read_node_environment(conn: Connection, nodes: Sequence[str]) -> NodeEnvironment:
    """The site table and each node's attributes as they are now (one query per table)."""
    view = ClusterView(conn)
    attrs = view.node_attributes(list(nodes), _ENV_COLUMNS.values())
    per_node = {
        n: {k: attrs[n][c] for k, c in _ENV_COLUMNS.items() if attrs[n].get(c)} for n in nodes
    }
    service = view.rows("servicenode", list(nodes), [])
    masters = {a.get("xcatmaster", "") for a in per_node.values()}
    servicenodes = {sn for a in per_node.values() for sn in a.get("servicenode", "").split(",")}
    hosts = read_host_names(view, masters | servicenodes)
    addresses = {h.name: h.address for entries in hosts.values() for h in reversed(entries)}
    return NodeEnvironment(
        site=dict(view.site),
        nodes=per_node,
        service_nodes=frozenset(service),
        addresses={m: addresses[m] for m in masters if m in addresses},
    )
