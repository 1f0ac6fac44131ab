"""Natural order of node names, and folding a list of names back into a noderange.

Natural order compares the runs of digits in a name as numbers, so ``node2`` sorts before
``node10`` (design decision 9); xCAT itself prints names in byte order.

>>> natural_sorted(["node10", "node2", "sn1", "node1"])
['node1', 'node2', 'node10', 'sn1']

:func:`fold` is the inverse of noderange expansion, for reports: runs of consecutive numbers
become bracket ranges, with their zero padding kept, several dimensions at once.

>>> fold(["cn001", "cn002", "cn003", "cn007", "sn1"])
'cn[001-003,007],sn1'
>>> fold(["f1n1", "f1n2", "f1n3", "f2n1", "f2n2", "f2n3"])
'f[1-2]n[1-3]'

This module is pure: it imports only the standard library and does no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["fold", "natural_key", "natural_sorted"]

_DIGITS = re.compile(r"([0-9]+)")
_CONTROL = re.compile(r"[\x01-\x1f]")  # the markers of _encode; it joins names with \x00

# A folded field: the text runs of a bracket spec, e.g. ("001-003", "007").
_Spec = tuple[str, ...]
_Fields = tuple[str | _Spec, ...]  # text, number, text, ...: a name being folded


def natural_key(name: str) -> tuple[tuple[str | int, ...], str]:
    """Sort key putting ``name`` in natural order.

    The first element alternates text and numbers (text at even positions, so two keys
    never compare a number with a text); the name itself breaks ties between names that
    differ only in zero padding (``n01`` before ``n1``), which makes the order total.

    >>> natural_key("cn010b2")
    (('cn', 10, 'b', 2, ''), 'cn010b2')
    """
    parts = _DIGITS.split(name)
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), name


def _encode(names: list[str]) -> list[str] | None:
    """Strings that order like :func:`natural_key` (ties aside), all in a few C-level calls.

    Each digit run becomes ``chr(1 + length)`` and its digits without leading zeros, so a
    plain string comparison compares numbers by value. ``None`` when a name holds a control
    character or a run of more than 30 digits (never in node names).
    """
    joined = "\x00".join(names)
    if joined.count("\x00") != len(names) - 1 or _CONTROL.search(joined):
        return None
    parts = _DIGITS.split(joined)
    numbers = [p.lstrip("0") for p in parts[1::2]]
    if numbers and max(map(len, numbers)) > 30:  # its marker would reach " "
        return None
    parts[1::2] = [chr(1 + len(s)) + s for s in numbers]
    return "".join(parts).split("\x00")


def natural_sorted(names: Iterable[str]) -> list[str]:
    """Return ``names`` as a list in natural order (duplicates are kept).

    The order of ``sorted(names, key=natural_key)``, computed about three times faster by
    sorting on :func:`_encode`'s strings (100,000 names in about 0.1 s).
    """
    names = list(names)
    encoded = _encode(names)
    if encoded is None:
        return sorted(names, key=natural_key)
    if len(set(encoded)) != len(encoded):  # n01 and n1: the name decides, as in natural_key
        return [name for _, name in sorted(zip(encoded, names, strict=True))]
    order = sorted(range(len(names)), key=encoded.__getitem__)
    return [names[i] for i in order]


def _runs(numbers: Iterable[str]) -> _Spec:
    """Group digit strings into ranges that noderange expansion gives back exactly.

    A run that starts with ``0`` is zero-padded to the width of its first number
    (``098-101`` is 098, 099, 100, 101); any other run counts without padding.
    """
    ordered = sorted(set(numbers), key=lambda s: (int(s), len(s), s))
    runs: list[list[str]] = []  # [first, last] text of each run
    open_runs: dict[int, list[tuple[int, int]]] = {}  # next number -> [(width, run index)]
    for text in ordered:
        value = int(text)
        candidates = open_runs.get(value, [])
        chosen = next((c for c in candidates if text == str(value).zfill(c[0])), None)
        if chosen is None:
            chosen = (len(text) if text[0] == "0" else 0, len(runs))
            runs.append([text, text])
        else:
            candidates.remove(chosen)
            runs[chosen[1]][1] = text
        open_runs.setdefault(value + 1, []).append(chosen)
    return tuple(first if first == last else f"{first}-{last}" for first, last in runs)


def _render(fields: _Fields) -> str:
    return "".join(f if isinstance(f, str) else "[" + ",".join(f) + "]" for f in fields)


def _first_name(fields: _Fields) -> str:
    return "".join(f if isinstance(f, str) else f[0].split("-")[0] for f in fields)


def fold(names: Iterable[str]) -> str:
    """Compress node names into a noderange (natural order, duplicates dropped).

    Every run of digits is a dimension; dimensions are folded from the last to the first,
    so a full grid becomes ``f[1-2]n[1-3]``. A dimension is never folded when nothing
    precedes it (``1a,2a`` stay apart: xCAT needs text before ``[``).

    The result expands back to exactly ``names`` when they are plain node names (letters,
    digits, ``_``, an even number of ``-``, not all digits): ``expand_syntax(fold(x))``
    equals ``natural_sorted(set(x))``.

    >>> fold(["node098", "node099", "node100", "node1"])
    'node[1,098-100]'
    """
    items: set[_Fields] = {tuple(_DIGITS.split(n)) for n in set(names)}
    dimensions = max((len(f) // 2 for f in items), default=0)
    for dim in reversed(range(dimensions)):
        pos = 2 * dim + 1
        groups: dict[tuple[_Fields, _Fields], list[str]] = {}
        folded: set[_Fields] = set()
        for fields in items:
            number = fields[pos] if len(fields) > pos else None
            if not isinstance(number, str) or (pos == 1 and not fields[0]):
                folded.add(fields)  # no such dimension, or nothing before it
                continue
            groups.setdefault((fields[:pos], fields[pos + 1 :]), []).append(number)
        for (head, tail), numbers in groups.items():
            folded.add((*head, numbers[0] if len(numbers) == 1 else _runs(numbers), *tail))
        items = folded
    return ",".join(_render(f) for f in sorted(items, key=lambda f: natural_key(_first_name(f))))
