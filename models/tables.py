"""tabdump and chtab: xCAT's raw table access, without inheritance or object semantics.

:func:`dump_table` renders a table in xCAT's CSV (``#col1,col2,...`` then one quoted line
per row, sorted by key in natural order). :func:`parse_chtab` turns a ``chtab`` command
line into a validated :class:`ChtabRequest` (every table, column and key checked before
anything is read), and :func:`apply_chtab` stages and writes it on the caller's
connection, inside the caller's single transaction. Values are written as given: no
group inheritance, no regex evaluation. Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Connection

from snflow.models.changes import Staging, apply_changes
from snflow.models.errors import DefinitionError
from snflow.models.natsort import natural_key
from snflow.models.report import CommandReport
from snflow.models.schema import TABLES, table_keys

__all__ = [
    "Assignment",
    "ChtabRequest",
    "apply_chtab",
    "csv_line",
    "dump_table",
    "parse_chtab",
    "table_columns",
    "table_names",
]


def table_names() -> list[str]:
    """Every table snflow manages, sorted."""
    return sorted(TABLES)


def table_columns(table: str) -> list[str]:
    """The columns of ``table`` in schema order (``comments`` and ``disable`` last)."""
    if table not in TABLES:
        raise DefinitionError(f"table {table} does not exist.")
    return [c.name for c in TABLES[table].columns]


def csv_line(values: Iterable[str | None]) -> str:
    """One xCAT CSV line: each value in double quotes (``"`` doubled), empty or NULL as nothing.

    >>> csv_line(["domain", 'x"y', None, ""])
    '"domain","x""y",,'
    """
    return ",".join('"' + v.replace('"', '""') + '"' if v else "" for v in values)


def _natural_order(keys: Iterable[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Key tuples sorted column by column in natural order (``node2`` before ``node10``)."""
    return sorted(keys, key=lambda key: tuple(natural_key(k) for k in key))


def dump_table(conn: Connection, table: str) -> str:
    """``table`` as xCAT's tabdump prints it: header line, then rows sorted by key."""
    columns = table_columns(table)
    tab = TABLES[table]
    keys = table_keys(table)
    rows: dict[tuple[str, ...], Sequence[str | None]] = {}
    for row in conn.execute(sa.select(*(tab.c[c] for c in columns))):
        values = dict(zip(columns, row, strict=True))
        rows[tuple(values[k] or "" for k in keys)] = tuple(row)
    lines = ["#" + ",".join(columns)]
    lines += [csv_line(rows[k]) for k in _natural_order(list(rows))]
    return "\n".join(lines)


class Assignment(BaseModel):
    """``table.column=value`` (or ``+=``: add the comma-separated items not yet present)."""

    model_config = ConfigDict(frozen=True)

    table: str
    column: str
    value: str
    append: bool = False


class ChtabRequest(BaseModel):
    """A validated ``chtab`` command line."""

    model_config = ConfigDict(frozen=True)

    keys: tuple[tuple[str, str], ...]
    assignments: tuple[Assignment, ...] = ()
    delete_from: tuple[str, ...] = ()

    @property
    def delete(self) -> bool:
        return bool(self.delete_from)


def _check_column(table: str, column: str) -> None:
    if table not in TABLES:
        raise DefinitionError(f"Table {table} does not exist.")
    if column not in TABLES[table].c:
        raise DefinitionError(f"Column '{column}' does not exist in table '{table}'.")


def _key_pairs(arg: str) -> list[tuple[str, str]]:
    pairs = []
    for item in arg.split(","):
        name, sep, value = item.partition("=")
        if not sep or not name or "." in name:
            raise DefinitionError(f'Incorrect argument "{item}".')
        pairs.append((name, value))
    return pairs


def parse_chtab(args: Sequence[str], *, delete: bool = False) -> ChtabRequest:
    """Validate ``chtab [-d] key=value[,key=value] ... table.column[+]=value ... | table ...``.

    Keys identify the row; when setting, they must be exactly the keys of every table
    written to. When deleting (``-d``), they may be any columns of each table named, and
    at least one is required (xCAT would empty the table).
    """
    keys: dict[str, str] = {}
    assignments: list[Assignment] = []
    tables: list[str] = []
    for arg in args:
        left, sep, value = arg.partition("=")
        if sep and "." in left:
            if delete:
                raise DefinitionError(f"'{arg}': -d takes key=value pairs and table names only.")
            append = left.endswith("+")
            table, _, column = left.removesuffix("+").partition(".")
            _check_column(table, column)
            if column in table_keys(table):
                raise DefinitionError(
                    f"'{table}.{column}' is a key of table '{table}': give it as {column}=<value>."
                )
            assignments.append(Assignment(table=table, column=column, value=value, append=append))
        elif sep:
            for name, val in _key_pairs(arg):
                if keys.get(name, val) != val:
                    raise DefinitionError(f"Key '{name}' is given twice with different values.")
                keys[name] = val
        elif delete:
            if arg not in TABLES:
                raise DefinitionError(f"Table {arg} does not exist.")
            tables.append(arg)
        else:
            raise DefinitionError(
                f'Incorrect argument "{arg}": expected key=value or table.column=value.'
            )
    if not keys:
        raise DefinitionError("No key=value given to identify the rows.")
    if delete:
        if not tables:
            raise DefinitionError("Missing table name.")
        for table in tables:
            for name in keys:
                _check_column(table, name)
    else:
        if not assignments:
            raise DefinitionError("No table.column=value given.")
        for table in dict.fromkeys(a.table for a in assignments):
            _check_keys(table, keys)
    return ChtabRequest(
        keys=tuple(keys.items()),
        assignments=tuple(assignments),
        delete_from=tuple(dict.fromkeys(tables)),
    )


def _check_keys(table: str, keys: Mapping[str, str]) -> None:
    wanted = table_keys(table)
    for name in keys:
        if name not in wanted:
            raise DefinitionError(
                f"'{name}' is not a key of table '{table}' (keys: {','.join(wanted)})."
            )
    for name in wanted:
        if not keys.get(name):
            raise DefinitionError(f"Table '{table}' needs the key {name}=<value>.")


def _merge(current: str | None, items: str) -> str:
    """chtab's ``+=``: current items, then the new ones not already there."""
    merged = [*(current or "").split(","), *items.split(",")]
    return ",".join(dict.fromkeys(v for v in merged if v))


def apply_chtab(conn: Connection, request: ChtabRequest) -> CommandReport:
    """Stage and write ``request`` on ``conn`` (the caller's transaction); report ``changed``."""
    stage = Staging(conn)
    keys = dict(request.keys)
    if request.delete:
        for table in request.delete_from:
            tab = TABLES[table]
            key_cols = [tab.c[k] for k in table_keys(table)]
            query = sa.select(*key_cols).where(*(tab.c[n] == v for n, v in keys.items()))
            matching = [tuple(row) for row in conn.execute(query)]
            stage.prefetch(table, matching)
            for key in matching:
                stage.delete(table, key)
    else:
        for a in request.assignments:
            key = tuple(keys[k] for k in table_keys(a.table))
            value = a.value
            if a.append:
                row = stage.get(a.table, key) or {}
                value = _merge(row.get(a.column), a.value)
            stage.set(a.table, key, a.column, value)
    changes = stage.changes()
    apply_changes(conn, changes)
    return CommandReport(changed=bool(changes))
