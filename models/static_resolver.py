"""An in-memory :class:`~snflow.models.noderange.NodeResolver`: a cluster without a database.

Used by tests and by any code that knows its nodes and groups already.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from types import MappingProxyType

from snflow.models.selection import SHORTNAMES, compare, try_parse_condition

__all__ = ["StaticResolver"]


class StaticResolver:
    """An in-memory cluster, for tests and for code that has no database.

    :param nodes: node name → its groups (``nodelist.groups``, a list or a comma string).
    :param dynamic_groups: group name → ``wherevals`` (``mgt==ipmi::cons=~hmc``): members are
        the nodes satisfying every condition; a node lacking the attribute never matches.
    :param defined_groups: ``nodegroup`` names, so an empty group is not a missing name.
    :param attributes: node → ``{"table.column": value}``; ``nodelist.groups`` is implied.
    :param columns: more known ``table.column`` names (a node without a value has ``""``).

    >>> r = StaticResolver({"cn1": "all", "cn2": ["all"]}, defined_groups=["spare"])
    >>> sorted(r.group_members("all")), r.group_members("spare"), r.group_members("x")
    (['cn1', 'cn2'], frozenset(), None)
    """

    __slots__ = ("_attributes", "_columns", "_excludenodes", "_files", "_members", "_nodes")

    def __init__(
        self,
        nodes: Mapping[str, Iterable[str] | str],
        *,
        dynamic_groups: Mapping[str, str] | None = None,
        defined_groups: Iterable[str] = (),
        attributes: Mapping[str, Mapping[str, str]] | None = None,
        excludenodes: str = "",
        files: Mapping[str, str] | None = None,
        columns: Iterable[str] = (),
    ) -> None:
        groups_of = {n: g.split(",") if isinstance(g, str) else list(g) for n, g in nodes.items()}
        attrs = {n: dict((attributes or {}).get(n, {})) for n in groups_of}
        for node, groups in groups_of.items():
            attrs[node].setdefault("nodelist.groups", ",".join(groups))
        members: dict[str, set[str]] = {g: set() for g in defined_groups}
        for node, groups in groups_of.items():
            for group in groups:
                members.setdefault(group, set()).add(node)
        setattr_ = object.__setattr__
        setattr_(self, "_nodes", frozenset(groups_of))
        setattr_(self, "_attributes", MappingProxyType(attrs))
        known = {c for values in attrs.values() for c in values} | set(columns)
        setattr_(self, "_columns", frozenset(known | {"nodelist.groups"}))
        for group, wherevals in (dynamic_groups or {}).items():
            members[group] = set(self._where(wherevals))
        setattr_(self, "_members", MappingProxyType({g: frozenset(m) for g, m in members.items()}))
        setattr_(self, "_excludenodes", excludenodes)
        setattr_(self, "_files", MappingProxyType(dict(files or {})))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("StaticResolver is immutable")

    def __repr__(self) -> str:
        return f"StaticResolver(<{len(self._nodes)} nodes, {len(self._members)} groups>)"

    def _value(self, node: str, attr: str) -> str | None:
        values = self._attributes[node]
        column = SHORTNAMES.get(attr, attr)
        if "." in column:
            return values.get(column)
        return next((v for c, v in values.items() if c.partition(".")[2] == column), None)

    def _where(self, wherevals: str) -> Iterable[str]:
        conditions = [try_parse_condition(c) for c in wherevals.split("::")]
        for node in self._nodes:
            if all(
                c is not None and (v := self._value(node, c[0])) is not None and compare(v, *c[1:])
                for c in conditions
            ):
                yield node

    def nodes(self) -> AbstractSet[str]:
        return self._nodes

    def group_members(self, name: str) -> AbstractSet[str] | None:
        return self._members.get(name)

    def select(self, column: str, op: str, value: str) -> AbstractSet[str]:
        if column not in self._columns:
            return frozenset()
        attrs = self._attributes
        return frozenset(n for n in self._nodes if compare(attrs[n].get(column, ""), op, value))

    def exclude_noderange(self) -> str:
        return self._excludenodes

    def read_lines(self, path: str) -> list[str] | None:
        text = self._files.get(path)
        return None if text is None else text.splitlines()
