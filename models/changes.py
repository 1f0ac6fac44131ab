"""Row-level changes to the cluster database: staged in memory, then applied in one go.

A definition command reads the rows it will touch (one query per table), stages the
values it wants, and gets back a :class:`ChangeSet`: per row, ``before`` and ``after``.
The change set is the diff (an empty one means nothing changes) and is applied with
:func:`apply_changes` inside the command's single transaction, set-based (one statement
per table and shape of change, executed for many rows at once).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from snflow.models.bulk import delete_rows, insert_rows, update_rows
from snflow.models.schema import TABLES, table_keys

__all__ = ["ChangeSet", "RowChange", "Staging", "apply_changes"]

Key = tuple[str, ...]
Values = dict[str, str | None]

_NOTHING: frozenset[Key] = frozenset()
# Above this many keys one scan of the table beats an IN list.
_IN_LIST_LIMIT = 2000


# Plain dataclasses, not pydantic models: change sets never cross a process or task
# boundary (they are made and written inside one transaction), and validating 10^4 rows of
# 20 columns twice (before, after) was a tenth of a 10k-node move's plan+apply.
@dataclass(frozen=True, slots=True)
class RowChange:
    """One row of one table: ``before`` ``None`` = inserted, ``after`` ``None`` = deleted."""

    table: str
    key: Key
    before: Values | None
    after: Values | None

    @property
    def changed_columns(self) -> list[str]:
        before, after = self.before or {}, self.after or {}
        # One pass over each row (this runs per changed row: 10^4 rows of 20 columns).
        changed = {c for c, v in after.items() if before.get(c) != v}
        changed.update(c for c, v in before.items() if v is not None and c not in after)
        return sorted(changed)


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """Every row a command changes; empty when the database already is as asked."""

    rows: tuple[RowChange, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.rows)


class Staging:
    """Current rows of the tables a command touches, and the values it wants them to have."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._current: dict[str, dict[Key, Values]] = {}
        self._loaded: dict[str, set[Key] | None] = {}
        self._wanted: dict[str, dict[Key, Values | None]] = {}

    def prefetch(self, table: str, keys: Iterable[Key] | None) -> None:
        """Read the rows of ``table`` for ``keys`` (all rows when ``None``) in one query."""
        tab = TABLES[table]
        key_cols = [tab.c[k] for k in table_keys(table)]
        query = sa.select(tab)
        wanted = None if keys is None else set(keys)
        if wanted is not None:
            if not wanted - (self._loaded.get(table) or set()):
                return
            if len(key_cols) == 1 and len(wanted) <= _IN_LIST_LIMIT:
                query = query.where(key_cols[0].in_([k[0] for k in wanted]))
        current = self._current.setdefault(table, {})
        names = [c.name for c in tab.columns]
        where = [names.index(k.name) for k in key_cols]
        for row in self.conn.execute(query).all():
            key = tuple([row[i] for i in where])
            if wanted is None or key in wanted:
                current[key] = dict(zip(names, row, strict=True))
        if wanted is None:
            self._loaded[table] = None
        elif self._loaded.get(table, set()) is not None:
            self._loaded.setdefault(table, set()).update(wanted)

    def _ensure(self, table: str, key: Key) -> None:
        loaded = self._loaded.get(table, _NOTHING)
        if loaded is not None and key not in loaded:
            self.prefetch(table, [key])

    def current(self, table: str, key: Key) -> Values | None:
        """The row as it is in the database (``None`` if absent)."""
        self._ensure(table, key)
        rows = self._current.get(table)
        return None if rows is None else rows.get(key)

    def get(self, table: str, key: Key) -> Values | None:
        """The row as it will be once staged changes are applied."""
        wanted = self._wanted.get(table, {})
        if key in wanted:
            return wanted[key]
        row = self.current(table, key)
        return dict(row) if row is not None else None

    def keys(self, table: str) -> list[Key]:
        """Every key of ``table`` as it will be (the table must have been prefetched whole)."""
        keys = set(self._current.get(table, {})) | set(self._wanted.get(table, {}))
        return [k for k in keys if self.get(table, k) is not None]

    def set(self, table: str, key: Key, column: str, value: str | None) -> None:
        """Stage ``table.column = value`` on the row ``key`` (creating the row if needed)."""
        row = self.get(table, key)
        if row is None:
            row = dict(zip(table_keys(table), key, strict=True))
        row[column] = value if value != "" else None
        self._wanted.setdefault(table, {})[key] = row

    def delete(self, table: str, key: Key) -> None:
        """Stage the removal of row ``key`` of ``table``."""
        if self.get(table, key) is not None:
            self._wanted.setdefault(table, {})[key] = None

    def changes(self) -> ChangeSet:
        """The staged changes that differ from the database, in a stable order."""
        rows: list[RowChange] = []
        for table in sorted(self._wanted):
            for key, after in sorted(self._wanted[table].items(), key=lambda kv: kv[0]):
                before = self.current(table, key)
                if before is None and after is not None and _empty_row(table, after):
                    continue
                if before == after or (
                    before and after and before.keys() != after.keys() and _same(before, after)
                ):
                    continue
                rows.append(RowChange(table=table, key=key, before=before, after=after))
        return ChangeSet(rows=tuple(rows))


def _same(before: Values, after: Values) -> bool:
    cols = set(before) | set(after)
    return all(before.get(c) == after.get(c) for c in cols)


def _empty_row(table: str, row: Values) -> bool:
    keys = set(table_keys(table))
    return all(v is None for c, v in row.items() if c not in keys)


def apply_changes(conn: Connection, changes: ChangeSet) -> None:
    """Write ``changes`` on ``conn`` (inside the caller's transaction), set-based."""
    # (table, kind, columns) -> rows: key values, then the values of the columns.
    groups: dict[tuple[str, str, tuple[str, ...]], list[tuple[str | None, ...]]] = {}
    for change in changes.rows:
        keys = table_keys(change.table)
        if change.after is None:
            groups.setdefault((change.table, "delete", ()), []).append(change.key)
        elif change.before is None:
            cols = tuple(sorted(c for c, v in change.after.items() if v is not None))
            row = tuple(change.after[c] for c in cols)
            groups.setdefault((change.table, "insert", cols), []).append(row)
        else:
            cols = tuple(sorted(set(change.changed_columns) - set(keys)))
            newkeys = tuple(k for k in keys if change.after.get(k) != change.before.get(k))
            row = (*change.key, *(change.after.get(c) for c in cols + newkeys))
            groups.setdefault((change.table, "update", cols + newkeys), []).append(row)
    # Deletes first so a rename (delete old key, insert new key) never collides.
    order = {"delete": 0, "update": 1, "insert": 2}
    for (table, kind, cols), rows in sorted(groups.items(), key=lambda g: order[g[0][1]]):
        tab, keys = TABLES[table], table_keys(table)
        if kind == "delete":
            delete_rows(conn, tab, keys, rows)
        elif kind == "insert":
            insert_rows(conn, tab, cols, rows)
        else:
            update_rows(conn, tab, keys, cols, rows)
