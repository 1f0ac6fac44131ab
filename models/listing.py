"""lsdef and nodels: which objects a listing shows, their attributes, and the text it prints.

:func:`list_definitions` (lsdef) and :func:`list_nodes` (nodels) read what they need through
a :class:`~snflow.models.cluster.ClusterView`: one query per table for a whole noderange,
never one per node. They return a :class:`~snflow.models.report.CommandReport` whose
output is one ``info`` block (joined once), errors as separate messages. The formatting
functions (:func:`format_names`, :func:`format_long`, :func:`format_compressed`,
:func:`stanza_objects`) are pure. Nothing here prints, and nothing here writes.

Output follows xCAT's ``defls`` (``DBobjectdefs.pm``) and ``nodels`` (``tabutils.pm``),
except that objects and nodes come in natural order (design decision 9).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from snflow.models import stanza as _stanza
from snflow.models.cluster import ClusterView
from snflow.models.defspec import (
    OBJECT_TYPES,
    SITE_OBJECT,
    Column,
    ObjectType,
    attribute_column,
    attributes_of,
)
from snflow.models.errors import DefinitionError
from snflow.models.natsort import natural_sorted
from snflow.models.report import CommandReport
from snflow.models.schema import NODE_KEYED_TABLES, TABLES, row_is_disabled
from snflow.models.selection import Condition, parse_condition

__all__ = [
    "NODELS_SHORTNAMES",
    "Definition",
    "LsdefRequest",
    "format_compressed",
    "format_long",
    "format_names",
    "list_definitions",
    "list_nodes",
    "stanza_objects",
]

#: nodels' short names for columns (``tabutils.pm`` ``%shortnames``).
NODELS_SHORTNAMES: dict[str, Column] = {
    "groups": Column("nodelist", "groups"),
    "tags": Column("nodelist", "groups"),
    "mgt": Column("nodehm", "mgt"),
}
_NODE_TABLES = frozenset({"nodelist", *NODE_KEYED_TABLES})
_DEFAULTS_ROW = "xcatdefaults"
_SCRIPT_ATTRS = ("postscripts", "postbootscripts")


@dataclass(frozen=True)
class Definition:
    """One object as lsdef shows it: ``attrs`` holds its non-empty values (groups: also
    ``members``, possibly empty)."""

    name: str
    objtype: ObjectType
    attrs: Mapping[str, str]


class LsdefRequest(BaseModel):
    """An ``lsdef`` command line."""

    model_config = ConfigDict(frozen=True)

    types: str | None = Field(default=None, description="-t: comma list; node when not given.")
    objects: str | None = Field(default=None, description="-o names, or the positional noderange.")
    attrs: str | None = Field(default=None, description="-i: attributes to show, comma list.")
    all_types: bool = Field(default=False, description="-a: every object of every type.")
    compress: bool = Field(default=False, description="-c: 'name: attr=value' lines (with -i).")
    long: bool = Field(default=False, description="-l: every attribute.")
    short: bool = Field(default=False, description="-s: names only.")
    stanza: bool = Field(default=False, description="-z: stanza format.")
    where: tuple[str, ...] = Field(default=(), description="-w attr==val ... (all must hold).")
    show_hidden: bool = Field(default=False, description="-S: include hidden nodes.")


# --- pure formatting ----------------------------------------------------------------------
def format_names(defs: Iterable[Definition], *, one_space: bool = False) -> list[str]:
    """``name  (type)`` lines (``-a``: one space, as xCAT prints it)."""
    sep = " " if one_space else "  "
    return [f"{d.name}{sep}({d.objtype})" for d in defs]


def _shown(d: Definition, attrs: Sequence[str] | None) -> list[tuple[str, str]]:
    if attrs is not None:
        return [(a, d.attrs.get(a, "")) for a in sorted(set(attrs))]
    return [
        (a, v) for a, v in sorted(d.attrs.items()) if v or (d.objtype == "group" and a == "members")
    ]


def format_long(
    defs: Iterable[Definition], attrs: Sequence[str] | None = None, *, with_type: bool = False
) -> list[str]:
    """``Object name: x`` then ``    attr=value`` sorted: every non-empty attribute, or
    exactly ``attrs`` (empty ones too). ``with_type`` adds ``  (type)`` to the header."""
    lines: list[str] = []
    for d in defs:
        lines.append(
            f"Object name: {d.name}  ({d.objtype})" if with_type else f"Object name: {d.name}"
        )
        lines.extend(f"    {a}={v}" for a, v in _shown(d, attrs))
    return lines


def format_compressed(defs: Iterable[Definition], attrs: Sequence[str]) -> list[str]:
    """``name: attr=value`` lines (``-c -i``)."""
    return [f"{d.name}: {a}={v}" for d in defs for a, v in _shown(d, attrs)]


def stanza_objects(
    defs: Iterable[Definition], attrs: Sequence[str] | None = None
) -> list[_stanza.StanzaObject]:
    """Definitions as stanzas that ``mkdef -z`` re-creates: non-empty attributes sorted
    (or exactly ``attrs``); a dynamic group carries its ``wherevals``, not its members."""
    out = []
    for d in defs:
        pairs = _shown(d, attrs)
        if attrs is None:
            dynamic = d.objtype == "group" and d.attrs.get("grouptype") == "dynamic"
            pairs = [(a, v) for a, v in pairs if v and not (dynamic and a == "members")]
        out.append(_stanza.StanzaObject(name=d.name, objtype=d.objtype, attrs=tuple(pairs)))
    return out


# --- reading definitions -------------------------------------------------------------------
def _node_definitions(
    view: ClusterView, nodes: Sequence[str], attrs: Sequence[str], *, with_defaults: bool
) -> list[Definition]:
    columns = {a: attribute_column("node", a) for a in attrs}
    values = view.node_attributes(nodes, {c for c in columns.values() if c is not None})
    defaults: dict[str, str] = {}
    if with_defaults and any(a in _SCRIPT_ATTRS for a in attrs):
        defaults = view.rows("postscripts", [_DEFAULTS_ROW], _SCRIPT_ATTRS).get(_DEFAULTS_ROW, {})
    pairs = [(a, c) for a, c in columns.items() if c is not None]
    out = []
    for node in nodes:
        have = values.get(node, {})
        found = {a: have[c] for a, c in pairs if c in have}
        for a in _SCRIPT_ATTRS:
            if defaults.get(a):
                found[a] = ",".join(v for v in (defaults[a], found.get(a)) if v)
        out.append(Definition(node, "node", found))
    return out


def _group_definitions(
    view: ClusterView, groups: Sequence[str], attrs: Sequence[str]
) -> list[Definition]:
    columns = {a: attribute_column("group", a) for a in attrs}
    by_table: dict[str, list[str]] = {}
    for col in columns.values():
        if col is not None and col.table in NODE_KEYED_TABLES:
            by_table.setdefault(col.table, []).append(col.column)
    rows = {t: view.rows(t, groups, cols) for t, cols in by_table.items()}
    out = []
    for group in groups:
        own = view.nodegroups.get(group, {})
        found: dict[str, str] = {}
        for attr, col in columns.items():
            if attr == "members":
                found[attr] = ",".join(natural_sorted(view.group_members(group) or ()))
            elif attr == "grouptype":
                found[attr] = own.get("grouptype") or "static"
            elif col is not None:
                source = own if col.table == "nodegroup" else rows[col.table].get(group, {})
                if source.get(col.column):
                    found[attr] = source[col.column]
        out.append(Definition(group, "group", found))
    return out


def _network_definitions(view: ClusterView) -> dict[str, Definition]:
    tab = TABLES["networks"]
    attrs = attributes_of("network")
    out: dict[str, Definition] = {}
    for row in view.conn.execute(sa.select(tab)).mappings():
        name = row["netname"]
        if not name or name in out or row_is_disabled(row["disable"]):
            continue
        found = {a: row[c.column] for a, c in attrs.items() if row[c.column]}
        out[name] = Definition(name, "network", found)
    return out


def _site_definition(view: ClusterView) -> Definition:
    return Definition(SITE_OBJECT, "site", {k: v for k, v in view.site.items() if v})


def _hidden_nodes(view: ClusterView) -> set[str]:
    tab = TABLES["nodelist"]
    return set(view.conn.execute(sa.select(tab.c.node).where(tab.c.hidden == "1")).scalars())


# --- lsdef -----------------------------------------------------------------------------------
def _check_flags(req: LsdefRequest) -> None:
    if req.all_types and req.types:
        raise DefinitionError("The flags '-a' and '-t' cannot be used together.")
    if req.long and req.short:
        raise DefinitionError("The flags '-l' and '-s' cannot be used together.")
    if req.compress and not req.attrs:
        raise DefinitionError("The flags '-c' and '-i' must be used together.")


def _types(req: LsdefRequest) -> list[ObjectType]:
    if req.all_types:
        return list(OBJECT_TYPES)
    out: list[ObjectType] = []
    for t in (req.types or "node").split(","):
        if t not in OBJECT_TYPES:
            raise DefinitionError(f"Type '{t}' is not a valid xCAT object type.")
        if t not in out:
            out.append(t)  # type: ignore[arg-type]
    return out


def _valid_attr(objtype: ObjectType, attr: str) -> bool:
    return attribute_column(objtype, attr) is not None


def _names(view: ClusterView, objtype: ObjectType, text: str, report: CommandReport) -> list[str]:
    """The requested names that exist; the others are reported as errors."""
    if objtype == "node":
        result = view.expand(text, verify=text.startswith("/"))
        if not result.nodes and not result.missing:
            raise DefinitionError(f"No node in '{text}', check the noderange syntax.")
        known = view.nodelist
        names, unknown = [], list(result.missing)
        for n in result.nodes:
            (names if n in known else unknown).append(n)
    else:
        wanted = list(dict.fromkeys(n for n in text.split(",") if n))
        if objtype == "group":
            known = set(view.group_names())
        elif objtype == "network":
            known = set(_network_definitions(view))
        else:
            known = {SITE_OBJECT}
        names = natural_sorted(n for n in wanted if n in known)
        unknown = [n for n in wanted if n not in known]
    for n in unknown:
        report.error(f"Could not find an object named '{n}' of type '{objtype}'.")
    return names


def _all_names(view: ClusterView, objtype: ObjectType) -> list[str]:
    if objtype == "node":
        return natural_sorted(view.nodelist)
    if objtype == "group":
        return view.group_names()
    if objtype == "network":
        return natural_sorted(_network_definitions(view))
    return [SITE_OBJECT]


def _definitions(
    view: ClusterView, objtype: ObjectType, names: Sequence[str], attrs: Sequence[str], stanza: bool
) -> list[Definition]:
    if objtype == "node":
        return _node_definitions(view, names, attrs, with_defaults=not stanza)
    if objtype == "group":
        return _group_definitions(view, names, attrs)
    if objtype == "network":
        nets = _network_definitions(view)
        return [nets[n] for n in names]
    return [_site_definition(view)]


def _invalid_attr(attr: str, objtype: str) -> str:
    return f"'{attr}' is not a valid attribute name for an object type of '{objtype}'."


def _shown_attrs(objtype: ObjectType, listed: Sequence[str], report: CommandReport) -> list[str]:
    """The ``-i`` attributes valid for ``objtype``; the others are reported as errors."""
    shown = []
    for attr in listed:
        if _valid_attr(objtype, attr):
            shown.append(attr)
        else:
            report.error(_invalid_attr(attr, objtype))
    return shown


def _check_where(conditions: Sequence[Condition], types: Sequence[ObjectType]) -> None:
    for cond in conditions:
        if not any(_valid_attr(t, cond.attr) for t in types):
            raise DefinitionError(_invalid_attr(cond.attr, ",".join(types)))


def list_definitions(view: ClusterView, req: LsdefRequest) -> CommandReport:
    """lsdef: the objects asked for, in the format asked for (see the module docstring)."""
    _check_flags(req)
    types = _types(req)
    conditions = [parse_condition(w) for w in req.where]
    _check_where(conditions, types)
    listed = [a for a in dict.fromkeys((req.attrs or "").split(",")) if a]
    long = bool(req.long or req.objects or req.attrs or req.stanza) and not req.short
    report = CommandReport()
    lines: list[str] = []
    stanzas: list[_stanza.StanzaObject] = []
    for objtype in types:
        shown = _shown_attrs(objtype, listed, report) if req.attrs else None
        if not all(_valid_attr(objtype, c.attr) for c in conditions):
            continue  # a -w attribute of another type: no object of this one matches
        names = _names(view, objtype, req.objects, report) if req.objects else None
        if names is None:
            names = _all_names(view, objtype)
        if objtype == "node" and not req.show_hidden and names:
            hidden = _hidden_nodes(view)
            names = [n for n in names if n not in hidden] if hidden else names
        if not names:
            continue
        if not long and not conditions:
            defs = [Definition(n, objtype, {}) for n in names]
            lines += format_names(defs, one_space=req.all_types)
            continue
        if shown is None and long:
            needed = list(attributes_of(objtype))
        else:
            needed = list(dict.fromkeys([*(shown or ()), *(c.attr for c in conditions)]))
        defs = _definitions(view, objtype, names, needed, req.stanza)
        if conditions:
            defs = [d for d in defs if all(c.matches(d.attrs.get(c.attr)) for c in conditions)]
        if req.stanza:
            stanzas += stanza_objects(defs, shown)
        elif not long:
            lines += format_names(defs, one_space=req.all_types)
        elif req.compress:
            lines += format_compressed(defs, shown or [])
        else:
            lines += format_long(defs, shown, with_type=len(types) > 1)
    if stanzas:
        lines.append(_stanza.render(stanzas).rstrip("\n"))
    if lines:
        report.info("\n".join(lines))
    elif not report.failed:
        report.info("Could not find any objects to display.")
    return report


# --- nodels ----------------------------------------------------------------------------------
def _nodels_column(text: str) -> list[tuple[str, Column]]:
    """``table.column``, a short name, or a whole table → (label, column) pairs."""
    if text in NODELS_SHORTNAMES:
        return [(text, NODELS_SHORTNAMES[text])]
    table, dot, column = text.partition(".")
    if not dot:
        if table in _NODE_TABLES:
            return [(f"{table}.{c.name}", Column(table, c.name)) for c in TABLES[table].columns]
        raise DefinitionError(f"{text} not a valid table.column description")
    if table not in _NODE_TABLES or column not in TABLES[table].c:
        raise DefinitionError(f"{text} not a valid table.column description")
    return [(text, Column(table, column))]


def list_nodes(
    view: ClusterView, noderange: str | None = None, columns: Sequence[str] = ()
) -> CommandReport:
    """nodels: node names (natural order), or ``node: value`` / ``node: label: value`` lines.

    A column argument with an operator (``nodehm.mgt==ipmi``) selects nodes instead of
    showing a column; a missing value compares as empty, as in xCAT.
    """
    shown: list[tuple[str, Column]] = []
    filters: list[tuple[Condition, Column]] = []
    for text in columns:
        if any(op in text for op in ("==", "!=", "=~", "!~")):
            cond = parse_condition(text)
            filters += [(cond, col) for _, col in _nodels_column(cond.attr)]
        else:
            shown += [p for p in _nodels_column(text) if p not in shown]
    nodes = list(view.expand_or_raise(noderange)) if noderange else natural_sorted(view.nodelist)
    cols = {c for _, c in shown} | {c for _, c in filters}
    values = view.node_attributes(nodes, cols) if cols else {}
    # Plain names need no per-node work (nodels of 10^5 nodes).
    lines = _node_lines(nodes, shown, filters, values) if shown or filters else nodes
    report = CommandReport()
    if lines:
        report.info("\n".join(lines))
    return report


def _node_lines(
    nodes: Sequence[str],
    shown: Sequence[tuple[str, Column]],
    filters: Sequence[tuple[Condition, Column]],
    values: Mapping[str, Mapping[Column, str]],
) -> list[str]:
    key_cols = {Column(t, k.name) for t in _NODE_TABLES for k in TABLES[t].primary_key}
    lines: list[str] = []
    for node in nodes:
        have = values.get(node, {})
        if any(not c.matches(_value(node, col, have, key_cols)) for c, col in filters):
            continue
        if not shown:
            lines.append(node)
        elif len(shown) == 1:
            lines.append(f"{node}: {_value(node, shown[0][1], have, key_cols)}")
        else:
            lines += [f"{node}: {lab}: {_value(node, c, have, key_cols)}" for lab, c in shown]
    return lines


def _value(node: str, col: Column, have: Mapping[Column, str], key_cols: set[Column]) -> str:
    return node if col in key_cols else have.get(col, "")
