"""Staging object definitions (node, group, network, site) as rows of xCAT's tables.

:class:`ObjectWriter` turns validated targets into staged row values: node attributes
onto the node's own rows, group attributes onto rows keyed by the group name, static
membership onto each member's ``nodelist.groups``, dynamic groups onto ``nodegroup``,
networks onto ``networks`` by ``netname``, the site object onto ``site`` keys.
Errors are added to the report; the caller discards the staging when any was found.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from snflow.models.changes import Staging
from snflow.models.cluster import ClusterView
from snflow.models.defspec import GROUP_OWN_ATTRS, Column, attribute_column
from snflow.models.errors import SnflowError
from snflow.models.report import CommandReport
from snflow.models.schema import NODE_KEYED_TABLES, TABLES
from snflow.models.selection import parse_condition

__all__ = ["ObjectWriter", "Target"]

Mode = Literal["replace", "plus", "minus"]
_NODE_TABLES = ("nodelist", *NODE_KEYED_TABLES)


class Target(BaseModel):
    """One object to define, with its ``attr=value`` assignments in command-line order."""

    model_config = ConfigDict(frozen=True)

    objtype: str
    name: str
    attrs: tuple[tuple[str, str], ...] = ()

    def assignments(self) -> list[tuple[str, str]]:
        return [(a, v) for a, v in self.attrs if a != "objtype"]


def _split(value: str | None, delim: str) -> list[str]:
    return [v for v in (value or "").split(delim) if v]


class ObjectWriter:
    """Stages definitions of objects into a :class:`Staging`, reporting what goes wrong."""

    def __init__(self, view: ClusterView, stage: Staging, report: CommandReport) -> None:
        self.view = view
        self.stage = stage
        self.report = report
        self._effective: dict[str, dict[Column, str]] = {}

    # --- reading ---------------------------------------------------------------------------
    def prefetch(self, targets: Sequence[Target]) -> None:
        """Read every row the targets can touch: one query per table."""
        self.stage.prefetch("nodelist", None)
        self.stage.prefetch("nodegroup", None)
        names = [(t.name,) for t in targets]
        tables = {"networks"} if any(t.objtype == "network" for t in targets) else set()
        for t in targets:
            for attr, _ in t.assignments():
                col = attribute_column(t.objtype, attr)  # type: ignore[arg-type]
                if col is not None:
                    tables.add(col.table)
        for table in sorted(tables - {"nodelist", "nodegroup"}):
            self.stage.prefetch(table, None if table in ("networks", "site") else names)
        nodes = [t.name for t in targets if t.objtype == "node"]
        cols = {
            attribute_column("node", a)
            for t in targets
            if t.objtype == "node"
            for a, _ in t.assignments()
        }
        if nodes and cols - {None}:
            self._effective = self.view.node_attributes(nodes, [c for c in cols if c])

    def _node_exists(self, name: str) -> bool:
        return self.stage.get("nodelist", (name,)) is not None

    def _groups(self, node: str) -> list[str]:
        row = self.stage.get("nodelist", (node,)) or {}
        return _split(row.get("groups"), ",")

    def _members(self, group: str) -> list[str]:
        return [k[0] for k in self.stage.keys("nodelist") if group in self._groups(k[0])]

    def _group_exists(self, name: str) -> bool:
        return self.stage.get("nodegroup", (name,)) is not None or bool(self._members(name))

    # --- combining values -------------------------------------------------------------------
    def _combine(
        self, mode: Mode, obj: str, attr: str, current: str | None, value: str, delim: str = ","
    ) -> str | None:
        if mode == "replace":
            return value
        items, new = _split(current, delim), _split(value, delim)
        if mode == "plus":
            return delim.join(items + [v for v in new if v not in items])
        if not items:
            self.report.error(f"No value got for attribute '{attr}' for the '{obj}' definition.")
            return current
        for item in new:
            if item not in items:
                self.report.error(
                    f"{item} is not in the attribute of '{attr}' for the '{obj}' definition."
                )
        return delim.join(i for i in items if i not in new)

    # --- writing ---------------------------------------------------------------------------
    def write(
        self,
        targets: Sequence[Target],
        *,
        mode: Mode,
        create_only: bool,
        force: bool,
        dynamic: bool,
        where: list[str],
    ) -> tuple[list[str], list[str]]:
        """Stage every target; return (names processed, names of nodes created)."""
        touched: list[str] = []
        created: list[str] = []
        for target in targets:
            exists = self._exists(target)
            if create_only and exists:
                if not force:
                    self.report.warning(
                        f"A definition for '{target.name}' already exists. No changes will be "
                        "made.  Run again with '-f' option to force replace."
                    )
                    continue
                self.remove(target.objtype, [target.name], keep_membership=True)
                exists = False
            if mode == "minus" and not exists:
                self.report.error(
                    f"The '-m' option is not valid since the '{target.name}' definition does "
                    "not exist."
                )
                continue
            try:
                if target.objtype == "node":
                    if not self._write_node(target, mode, exists):
                        continue
                    if not exists:
                        created.append(target.name)
                elif target.objtype == "group":
                    self._write_group(target, mode, exists, dynamic, where)
                elif target.objtype == "network":
                    self._write_network(target, mode)
                else:
                    self._write_site(target, mode)
            except SnflowError as exc:
                self.report.error(str(exc))
                continue
            touched.append(target.name)
        return touched, created

    def _exists(self, target: Target) -> bool:
        # As xCAT does, "already exists" means: before this command (a stanza may define
        # nodes and then their group).
        if target.objtype == "node":
            return target.name in self.view.nodelist
        if target.objtype == "group":
            return self.view.group_members(target.name) is not None
        if target.objtype == "network":
            return self._network_key(target.name) is not None
        return True

    def _write_node(self, target: Target, mode: Mode, exists: bool) -> bool:
        attrs = target.assignments()
        if not exists and "groups" not in {a for a, _ in attrs}:
            self.report.error(
                f"Attribute 'groups' is not specified for node '{target.name}', skipping to "
                "the next node."
            )
            return False
        key = (target.name,)
        for attr, value in attrs:
            col = attribute_column("node", attr)
            assert col is not None  # validated before
            if col.table == "nodelist":
                current = (self.stage.get("nodelist", key) or {}).get(col.column)
            else:
                current = self._effective.get(target.name, {}).get(col)
            new = self._combine(mode, target.name, attr, current, value)
            self.stage.set(col.table, key, col.column, new)
        return True

    def _set_groups(self, node: str, groups: list[str]) -> None:
        self.stage.set("nodelist", (node,), "groups", ",".join(groups))

    def _write_group(
        self, target: Target, mode: Mode, exists: bool, dynamic: bool, where: list[str]
    ) -> None:
        name, key = target.name, (target.name,)
        attrs = target.assignments()
        own = {a: v for a, v in attrs if a in GROUP_OWN_ATTRS}
        row = self.stage.get("nodegroup", key) or {}
        if dynamic or own.get("grouptype") == "dynamic":
            if "members" in own:
                raise SnflowError("Cannot use a list of members together with the '-w' option.")
            if any(a not in ("usercomment", "grouptype", "wherevals") for a, _ in attrs):
                raise SnflowError(f"Can not assign attributes to dynamic node group '{name}'.")
            given = where or _split(own.get("wherevals"), "::")
            for cond in given:
                parse_condition(cond)
            current = row.get("wherevals") if row.get("grouptype") == "dynamic" else None
            wherevals = self._combine(mode, name, "wherevals", current, "::".join(given), "::")
            if not wherevals:
                raise SnflowError(
                    f"The 'where' attributes and values were not provided for dynamic group "
                    f"'{name}'. Skipping to the next group."
                )
            self.stage.set("nodegroup", key, "grouptype", "dynamic")
            self.stage.set("nodegroup", key, "members", "dynamic")
            self.stage.set("nodegroup", key, "wherevals", wherevals)
            if "usercomment" in own:
                self.stage.set("nodegroup", key, "comments", own["usercomment"])
            return
        if not row or row.get("grouptype") != "static":
            self.stage.set("nodegroup", key, "grouptype", "static")
            self.stage.set("nodegroup", key, "members", "static")
            self.stage.set("nodegroup", key, "wherevals", None)
        for attr, value in attrs:
            if attr == "members":
                self._write_members(name, value, mode)
            elif attr == "usercomment":
                self.stage.set("nodegroup", key, "comments", value)
            elif attr in ("grouptype", "wherevals", "membergroups"):
                if attr == "membergroups":
                    self.stage.set("nodegroup", key, attr, value)
            else:
                col = attribute_column("group", attr)
                assert col is not None
                current = (self.stage.get(col.table, key) or {}).get(col.column)
                self.stage.set(
                    col.table, key, col.column, self._combine(mode, name, attr, current, value)
                )

    def _write_members(self, group: str, value: str, mode: Mode) -> None:
        wanted = list(self.view.expand(value, verify=False).nodes) if value else []
        missing = [n for n in wanted if not self._node_exists(n)]
        for node in missing:
            self.report.error(f"Could not find a node named '{node}', skipping to the next node.")
        if missing:
            return
        current = self._members(group)
        if mode == "minus":
            for node in wanted:
                if node not in current:
                    self.report.error(f"{node} is not a member of '{group}'.")
            drop, add = set(wanted), []
        elif mode == "plus":
            drop, add = set(), wanted
        else:
            drop, add = set(current) - set(wanted), wanted
        for node in sorted(drop):
            self._set_groups(node, [g for g in self._groups(node) if g != group])
        for node in add:
            groups = self._groups(node)
            if group not in groups:
                self._set_groups(node, [*groups, group])

    def _network_key(self, netname: str) -> tuple[str, ...] | None:
        for key in self.stage.keys("networks"):
            if (self.stage.get("networks", key) or {}).get("netname") == netname:
                return key
        return None

    def _write_network(self, target: Target, mode: Mode) -> None:
        old_key = self._network_key(target.name)
        row = dict(self.stage.get("networks", old_key) or {}) if old_key else {}
        row["netname"] = target.name
        for attr, value in target.assignments():
            col = attribute_column("network", attr)
            assert col is not None
            row[col.column] = self._combine(mode, target.name, attr, row.get(col.column), value)
        if not row.get("net") or not row.get("mask"):
            raise SnflowError(
                f"Cannot define network '{target.name}': the 'net' and 'mask' attributes are "
                "required."
            )
        new_key = (row["net"], row["mask"])
        if old_key is not None and old_key != new_key:
            self.stage.delete("networks", old_key)
        elif old_key is None and self.stage.get("networks", new_key) is not None:
            other = (self.stage.get("networks", new_key) or {}).get("netname")
            raise SnflowError(
                f"Network '{other}' already has net {new_key[0]} and mask {new_key[1]}."
            )
        for column in (c.name for c in TABLES["networks"].columns):
            if column in row:
                self.stage.set("networks", new_key, column, row[column])

    def _write_site(self, target: Target, mode: Mode) -> None:
        for attr, value in target.assignments():
            current = (self.stage.get("site", (attr,)) or {}).get("value")
            new = self._combine(mode, target.name, attr, current, value)
            if new:
                self.stage.set("site", (attr,), "value", new)
            else:
                self.stage.delete("site", (attr,))

    # --- removing and renaming ---------------------------------------------------------------
    def remove(self, objtype: str, names: Sequence[str], *, keep_membership: bool = False) -> None:
        """Stage the removal of objects; unknown names are errors."""
        if objtype == "site":
            self.report.error("The site definition cannot be removed.")
            return
        if objtype == "network":
            self.stage.prefetch("networks", None)
        elif objtype in ("node", "group"):
            self.stage.prefetch("nodelist", None)
            self.stage.prefetch("nodegroup", None)
            for table in NODE_KEYED_TABLES:
                self.stage.prefetch(table, [(n,) for n in names])
        for name in names:
            if objtype == "network":
                key = self._network_key(name)
                if key is None:
                    self._not_found(name, objtype)
                else:
                    self.stage.delete("networks", key)
                continue
            exists = self._node_exists(name) if objtype == "node" else self._group_exists(name)
            if not exists:
                self._not_found(name, objtype)
                continue
            tables = _NODE_TABLES if objtype == "node" else ("nodegroup", *NODE_KEYED_TABLES)
            for table in tables:
                self.stage.delete(table, (name,))
            if objtype == "group" and not keep_membership:
                for node in self._members(name):
                    self._set_groups(node, [g for g in self._groups(node) if g != name])

    def _not_found(self, name: str, objtype: str) -> None:
        self.report.error(f"Could not find an object named '{name}' of type '{objtype}'.")

    def rename(self, objtype: str, old: str, new: str) -> None:
        """Stage ``chdef -n``: every row keyed by ``old`` moves to ``new``."""
        if objtype == "site":
            self.report.error("The site object cannot be renamed.")
            return
        self.stage.prefetch("nodelist", None)
        self.stage.prefetch("nodegroup", None)
        if objtype == "network":
            self.stage.prefetch("networks", None)
            key = self._network_key(old)
            if key is None:
                self.report.error(f"The {old} is not a valid object.")
            elif self._network_key(new) is not None:
                self.report.error(f"Object {new} already exists.")
            else:
                self.stage.set("networks", key, "netname", new)
            return
        tables = _NODE_TABLES if objtype == "node" else ("nodegroup", *NODE_KEYED_TABLES)
        for table in tables:
            self.stage.prefetch(table, [(old,), (new,)])
        exists = self._node_exists if objtype == "node" else self._group_exists
        if not exists(old):
            self.report.error(f"The {old} is not a valid object.")
            return
        if exists(new) or (objtype == "node" and self._group_exists(new)):
            self.report.error(f"Object {new} already exists.")
            return
        members = self._members(old) if objtype == "group" else []
        for table in tables:
            row = self.stage.get(table, (old,))
            if row is None:
                continue
            key_col = TABLES[table].primary_key.columns.keys()[0]
            self.stage.delete(table, (old,))
            for column, value in row.items():
                if column != key_col:
                    self.stage.set(table, (new,), column, value)
            self.stage.set(table, (new,), key_col, new)
        for node in members:
            self._set_groups(node, [new if g == old else g for g in self._groups(node)])
