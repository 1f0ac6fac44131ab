"""The virtual cluster's rows in the cluster database: written by ``sim up``, read by
``sim up --from-db``. Every function works inside the caller's transaction.

The virtual cluster owns the nodes it created (``nodelist.comments`` is
:data:`~snflow.sim.rows.SIM_MARK`): :func:`write_cluster` replaces them, and refuses a
database holding other nodes unless told to replace those too (``force``).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from snflow.models.changes import Staging, apply_changes
from snflow.models.cluster import ClusterView
from snflow.models.defspec import Column
from snflow.models.natsort import fold
from snflow.models.schema import NODE_KEYED_TABLES, TABLES
from snflow.sim.errors import SimError
from snflow.sim.layout import NETWORK_A, NETWORK_B, NodeDefinition, SimLayout
from snflow.sim.rows import SIM_MARK, SITE, cluster_rows, host_updates

__all__ = ["fill_from_db", "foreign_nodes", "read_definitions", "write_cluster"]

_SERVICENODE = Column("noderes", "servicenode")
_XCATMASTER = Column("noderes", "xcatmaster")
_IP = Column("hosts", "ip")
_OTHER = Column("hosts", "otherinterfaces")


def foreign_nodes(conn: Connection) -> list[str]:
    """Nodes of ``nodelist`` that the virtual cluster did not create."""
    tab = TABLES["nodelist"]
    mine = sa.and_(tab.c.comments.is_not(None), tab.c.comments == SIM_MARK)
    query = sa.select(tab.c.node).where(sa.not_(mine))
    return [row[0] for row in conn.execute(query)]


def write_cluster(conn: Connection, layout: SimLayout, *, force: bool = False) -> int:
    """Replace the cluster definition with ``layout``'s; return the number of rows written.

    Removed first: every node of ``nodelist`` and its rows in the node-keyed tables, the
    rows keyed by the names about to be written, every row marked as the simulation's,
    networks "a" and "b", the ``site`` keys written. Without ``force`` a database holding
    nodes the simulation did not create is refused (nothing is changed).
    """
    foreign = foreign_nodes(conn)
    if foreign and not force:
        raise SimError(
            f"the cluster database already defines {len(foreign)} node(s) that the virtual "
            f"cluster did not create ({fold(foreign)}); use --from-db to serve them, "
            "or --force to replace them"
        )
    rows = cluster_rows(layout)
    nodelist = TABLES["nodelist"]
    all_nodes = sa.select(nodelist.c.node).scalar_subquery()
    for table in NODE_KEYED_TABLES:
        tab = TABLES[table]
        names = [r["node"] for r in rows.get(table, [])]
        conn.execute(
            tab.delete().where(
                sa.or_(tab.c.node.in_(all_nodes), tab.c.node.in_(names), tab.c.comments == SIM_MARK)
            )
        )
    conn.execute(nodelist.delete())
    nodegroup = TABLES["nodegroup"]
    groups = [r["groupname"] for r in rows["nodegroup"]]
    conn.execute(
        nodegroup.delete().where(
            sa.or_(nodegroup.c.groupname.in_(groups), nodegroup.c.comments == SIM_MARK)
        )
    )
    networks = TABLES["networks"]
    conn.execute(
        networks.delete().where(
            sa.or_(
                networks.c.netname.in_(["a", "b"]),
                networks.c.net.in_([NETWORK_A[0], NETWORK_B[0]]),
                networks.c.comments == SIM_MARK,
            )
        )
    )
    site = TABLES["site"]
    conn.execute(site.delete().where(site.c.key.in_(list(SITE))))
    written = 0
    for table, table_rows in rows.items():
        for shape in _by_columns(table_rows):
            conn.execute(TABLES[table].insert(), shape)
            written += len(shape)
    return written


def _by_columns(rows: list[dict[str, str | None]]) -> list[list[dict[str, str | None]]]:
    """Rows grouped by their set of columns, so each group is one executemany."""
    shapes: dict[tuple[str, ...], list[dict[str, str | None]]] = {}
    for row in rows:
        shapes.setdefault(tuple(sorted(row)), []).append(row)
    return list(shapes.values())


def read_definitions(conn: Connection) -> list[NodeDefinition]:
    """Every node of the database with the attributes the simulation needs (effective
    values: group rows and regular expressions applied)."""
    view = ClusterView(conn)
    nodes = list(view.nodelist)
    attrs = view.node_attributes(nodes, [_SERVICENODE, _XCATMASTER, _IP, _OTHER])
    return [
        NodeDefinition(
            name=node,
            groups=view.nodelist[node],
            service_nodes=tuple(
                s.strip() for s in attrs[node].get(_SERVICENODE, "").split(",") if s.strip()
            ),
            xcatmaster=attrs[node].get(_XCATMASTER),
            ip=attrs[node].get(_IP),
            otherinterfaces=attrs[node].get(_OTHER),
        )
        for node in nodes
    ]


def fill_from_db(conn: Connection, layout: SimLayout) -> int:
    """Write the ``hosts`` values ``layout`` assigned to the database's own nodes (addresses,
    an SN's network "b" entry); return the number of rows changed. Nothing else changes."""
    view = ClusterView(conn)
    names = [h.name for h in layout.hosts]
    attrs = view.node_attributes(names, [_IP, _OTHER])
    current = {n: (attrs[n].get(_IP), attrs[n].get(_OTHER)) for n in names}
    updates = host_updates(layout, current)
    if not updates:
        return 0
    staging = Staging(conn)
    staging.prefetch("hosts", [(n,) for n in updates])
    for node, values in updates.items():
        for column, value in values.items():
            staging.set("hosts", (node,), column, value)
    changes = staging.changes()
    apply_changes(conn, changes)
    return len(changes.rows)
