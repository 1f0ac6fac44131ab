"""A read-only view of the cluster database for one command.

:class:`ClusterView` reads what a command needs with one query per table (the node list,
the site table, the group table, then the node-keyed tables for a whole noderange), and
answers noderange questions as a :class:`~snflow.models.noderange.NodeResolver`.
It caches within its lifetime; make a new one per command or flow step.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from functools import cached_property

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from snflow.models import noderange, regexattr
from snflow.models.attributes import parse_hierarchicalattrs, read_rows, resolve
from snflow.models.defspec import Column, attribute_column
from snflow.models.errors import DefinitionError
from snflow.models.schema import NODE_KEYED_TABLES, TABLES, row_is_disabled
from snflow.models.selection import SHORTNAMES, Condition, compare, parse_condition

__all__ = ["ClusterView", "parse_wherevals"]


def parse_wherevals(wherevals: str) -> list[Condition]:
    """A dynamic group's ``wherevals`` (``a==v::b=~re``) as conditions."""
    return [parse_condition(part) for part in wherevals.split("::") if part.strip()]


class ClusterView:
    """Everything a command reads from the cluster database, read once."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- whole-table reads ----------------------------------------------------------------
    @cached_property
    def site(self) -> dict[str, str]:
        """``site`` key -> value (enabled rows only)."""
        tab = TABLES["site"]
        rows = self.conn.execute(sa.select(tab.c.key, tab.c.value, tab.c.disable))
        return {k: v or "" for k, v, d in rows if not row_is_disabled(d)}

    @cached_property
    def nodelist(self) -> dict[str, tuple[str, ...]]:
        """Every node -> its groups, in ``nodelist`` order."""
        tab = TABLES["nodelist"]
        rows = self.conn.execute(sa.select(tab.c.node, tab.c.groups, tab.c.disable)).all()
        # Thousands of nodes share a few group lists: split each distinct one once (and
        # share its tuple), skip the disable test for the usual NULL. Per row of 10^5.
        split: dict[str | None, tuple[str, ...]] = {}
        result: dict[str, tuple[str, ...]] = {}
        for node, groups, disable in rows:
            if disable is not None and row_is_disabled(disable):
                continue
            names = split.get(groups)
            if names is None:
                names = split[groups] = tuple(filter(None, (groups or "").split(",")))
            result[node] = names
        return result

    @cached_property
    def nodegroups(self) -> dict[str, dict[str, str]]:
        """``nodegroup`` rows by group name."""
        return read_rows(
            self.conn,
            "nodegroup",
            None,
            ("grouptype", "members", "membergroups", "wherevals", "comments"),
        )

    @cached_property
    def _static_members(self) -> dict[str, list[str]]:
        members: dict[str, list[str]] = {}
        for node, groups in self.nodelist.items():
            for group in groups:
                members.setdefault(group, []).append(node)
        return members

    @cached_property
    def _listed_groups(self) -> frozenset[str]:
        """Every group named in some node's groups.

        Cheap (nodes share a few group lists): whether a name is a group is asked for
        every noderange atom, and building :attr:`_static_members` walks every node.
        """
        return frozenset(g for groups in set(self.nodelist.values()) for g in groups)

    @cached_property
    def hierarchical(self) -> dict[str, str]:
        return parse_hierarchicalattrs(self.site.get("hierarchicalattrs"))

    def group_names(self) -> list[str]:
        """Every group: defined in ``nodegroup`` or named in a node's groups, natural order."""
        return noderange.natural_sorted(set(self.nodegroups) | self._listed_groups)

    # --- NodeResolver -------------------------------------------------------------------
    def nodes(self) -> Collection[str]:
        return self.nodelist.keys()

    def group_members(self, name: str) -> Collection[str] | None:
        row = self.nodegroups.get(name)
        if row is not None and row.get("grouptype") == "dynamic":
            return self.dynamic_members(parse_wherevals(row.get("wherevals", "")))
        if name in self._listed_groups:
            return self._static_members[name]
        return () if row is not None else None

    def select(self, column: str, op: str, value: str) -> Collection[str]:
        column = SHORTNAMES.get(column, column)
        table, _, col = column.partition(".")
        if table not in TABLES or col not in TABLES[table].c:
            return ()
        values = self.column_values(list(self.nodelist), Column(table, col))
        return [n for n in self.nodelist if compare(values.get(n, ""), op, value)]

    def exclude_noderange(self) -> str:
        return self.site.get("excludenodes", "")

    def read_lines(self, path: str) -> list[str] | None:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                return handle.read().splitlines()
        except OSError:
            return None

    # --- noderange -------------------------------------------------------------------------
    def expand(self, text: str, *, verify: bool = True) -> noderange.NoderangeResult:
        """Expand a noderange against this database (``XCAT_NODE_PREFIX/SUFFIX`` honoured)."""
        return noderange.expand(
            text,
            self,
            verify=verify,
            prefix=os.environ.get("XCAT_NODE_PREFIX", "node"),
            suffix=os.environ.get("XCAT_NODE_SUFFIX", ""),
        )

    def expand_or_raise(self, text: str) -> tuple[str, ...]:
        """Expand a noderange; any unknown name is an error (design decision 9)."""
        return noderange.expand_or_raise(
            text,
            self,
            prefix=os.environ.get("XCAT_NODE_PREFIX", "node"),
            suffix=os.environ.get("XCAT_NODE_SUFFIX", ""),
        )

    # --- attributes ------------------------------------------------------------------------
    def rows(
        self, table: str, keys: Collection[str] | None, columns: Sequence[str]
    ) -> dict[str, dict[str, str]]:
        """Raw rows of ``table`` for ``keys`` (see :func:`~snflow.models.attributes.read_rows`)."""
        return read_rows(self.conn, table, keys, columns)

    def node_attributes(
        self, nodes: Sequence[str], columns: Iterable[Column]
    ) -> dict[str, dict[Column, str]]:
        """Effective values of ``columns`` for each of ``nodes``: one query per table.

        ``nodelist`` columns are the node's own (no inheritance); other node-keyed tables
        inherit from groups and evaluate regex values. Nodes not in ``nodelist`` get
        only their own rows.
        """
        by_table: dict[str, list[str]] = {}
        for col in columns:
            by_table.setdefault(col.table, [])
            if col.column not in by_table[col.table]:
                by_table[col.table].append(col.column)
        result: dict[str, dict[Column, str]] = {n: {} for n in nodes}
        whole = len(nodes) * 2 > len(self.nodelist)
        for table, cols in by_table.items():
            # One Column per column, not per node and value (10k nodes × 7 columns).
            keyed = {c: Column(table, c) for c in cols}
            if table == "nodelist":
                rows = read_rows(self.conn, "nodelist", None if whole else nodes, cols)
                for node in nodes:
                    for c, v in rows.get(node, {}).items():
                        result[node][keyed[c]] = v
                continue
            if table not in NODE_KEYED_TABLES:
                raise ValueError(f"{table} is not keyed by node")
            groups = {g for n in nodes for g in self.nodelist.get(n, ())}
            rows = read_rows(self.conn, table, None if whole else set(nodes) | groups, cols)
            hier = {c: d for c, d in self.hierarchical.items() if c in cols}
            # What a node's groups give is the same for every node of the same group list,
            # unless a group value is a regex (evaluated per node) or a column combines
            # values hierarchically: then every node is resolved on its own.
            shared = not hier and not any(_has_regex(rows[g]) for g in groups if g in rows)
            by_groups: dict[tuple[str, ...], dict[Column, str]] = {}
            for node in nodes:
                node_groups = self.nodelist.get(node, ())
                own = rows.get(node)
                if shared and not (own and _has_regex(own)):
                    inherited = by_groups.get(node_groups)
                    if inherited is None:
                        inherited = by_groups[node_groups] = _inherited(node_groups, rows, keyed)
                    values = result[node]
                    values.update(inherited)
                    if own:
                        values.update((keyed[c], v) for c, v in own.items())
                    continue
                for c, v in resolve(node, node_groups, rows, cols, hier).items():
                    result[node][keyed[c]] = v
        return result

    def column_values(self, nodes: Sequence[str], column: Column) -> dict[str, str]:
        """Effective value of one column for each node that has one."""
        values = self.node_attributes(nodes, [column])
        return {n: v[column] for n, v in values.items() if column in v}

    def dynamic_members(self, conditions: Sequence[Condition]) -> list[str]:
        """Nodes for which every condition holds; a node lacking an attribute never matches."""
        nodes = list(self.nodelist)
        columns: dict[str, Column] = {}
        for cond in conditions:
            col = attribute_column("node", cond.attr)
            if col is None:
                raise DefinitionError(
                    f"'{cond.attr}' is not a valid attribute name for an object type of 'node'."
                )
            columns[cond.attr] = col
        if not conditions:
            return []
        values = self.node_attributes(nodes, columns.values())
        groups_col = Column("nodelist", "groups")
        out = []
        for node in nodes:
            have = values[node]
            if groups_col in columns.values():
                have = {**have, groups_col: ",".join(self.nodelist[node])}
            if all(c.matches(have.get(columns[c.attr])) for c in conditions):
                out.append(node)
        return out


def _inherited(
    groups: Sequence[str], rows: Mapping[str, Mapping[str, str]], keyed: Mapping[str, Column]
) -> dict[Column, str]:
    """What ``groups`` give a node with no regex values in play: per column, the first
    group that defines it (``rows`` hold only the columns read, with non-empty values)."""
    values: dict[Column, str] = {}
    for group in reversed(groups):
        values.update((keyed[c], v) for c, v in rows.get(group, {}).items())
    return values


def _has_regex(row: Mapping[str, str]) -> bool:
    # Values are non-empty (read_rows drops empty ones); every regex form starts with / or |.
    return any(value[0] in "/|" and regexattr.is_regex_value(value) for value in row.values())
