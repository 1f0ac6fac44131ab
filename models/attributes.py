"""Effective node attributes: the node's row, else its groups' rows, then regex values.

For a node and a column of a node-keyed table, xCAT takes the node's own row when it
defines the column, otherwise the row of the first group, in ``nodelist.groups`` order,
that defines it. Columns named in ``site.hierarchicalattrs`` are instead the
de-duplicated concatenation over the node row and all group rows. The value is then
evaluated for the node when it is in xCAT's regex form (``|\\D+(\\d+)|sn(($1-1)/10+1)|``).
Rows whose ``disable`` is set are ignored; empty values count as undefined.

:func:`resolve` is pure; :func:`read_rows` is the one query per table that feeds it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from snflow.models import regexattr
from snflow.models.schema import TABLES, row_is_disabled, table_keys

__all__ = [
    "Rows",
    "parse_hierarchicalattrs",
    "read_rows",
    "resolve",
]

#: Rows of one table by key (node or group name): column -> non-empty value.
Rows = dict[str, dict[str, str]]

# Above this many keys one scan of the table beats an IN list (and SQLite's bound-parameter limit).
_IN_LIST_LIMIT = 2000


def read_rows(
    conn: Connection, table: str, keys: Collection[str] | None, columns: Sequence[str]
) -> Rows:
    """Rows of ``table`` for ``keys`` (all when ``None``): one query, disabled rows skipped."""
    tab = TABLES[table]
    key_col = tab.c[table_keys(table)[0]]
    cols = [key_col, tab.c.disable, *(tab.c[c] for c in columns)]
    query = sa.select(*cols)
    if keys is not None:
        if not keys:
            return {}
        if len(keys) <= _IN_LIST_LIMIT:
            query = query.where(key_col.in_(list(keys)))
    wanted = None if keys is None or len(keys) <= _IN_LIST_LIMIT else set(keys)
    rows: Rows = {}
    # fetchall: one driver call, not one per row (10^5 rows for a whole cluster).
    for key, disable, *values in conn.execute(query).all():
        if (wanted is not None and key not in wanted) or row_is_disabled(disable):
            continue
        rows[key] = {c: v for c, v in zip(columns, values, strict=True) if v}
    return rows


def parse_hierarchicalattrs(value: str | None) -> dict[str, str]:
    """``site.hierarchicalattrs`` (``attr[:delim],...``) as column -> delimiter."""
    result: dict[str, str] = {}
    for item in (value or "").split(","):
        name, _, delim = item.strip().partition(":")
        if name:
            result[name] = delim or ","
    return result


def resolve(
    node: str,
    groups: Sequence[str],
    rows: Mapping[str, Mapping[str, str]],
    columns: Iterable[str],
    hierarchical: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Effective values of ``columns`` for ``node`` from one table's ``rows`` (pure).

    >>> rows = {"compute": {"xcatmaster": "sn1-b"}, "cn1": {"servicenode": "sn1,sn2"}}
    >>> resolve("cn1", ["compute"], rows, ["servicenode", "xcatmaster", "netboot"])
    {'servicenode': 'sn1,sn2', 'xcatmaster': 'sn1-b'}
    """
    hierarchical = hierarchical or {}
    chain = [rows.get(node)] + [rows.get(g) for g in groups]
    sources = [r for r in chain if r]
    result: dict[str, str] = {}
    for column in columns:
        delim = hierarchical.get(column)
        if delim is not None:
            parts: list[str] = []
            for src in sources:
                for item in src.get(column, "").split(delim):
                    if item and item not in parts:
                        parts.append(item)
            raw = delim.join(parts) if parts else None
        else:
            raw = next((src[column] for src in sources if column in src), None)
        if raw is None:
            continue
        # Every regex form starts with / or |: the cheap test first (it runs per node and column).
        regex = raw[:1] in ("/", "|") and regexattr.is_regex_value(raw)
        value = regexattr.evaluate(node, raw) if regex else raw
        if value:
            result[column] = value
    return result
