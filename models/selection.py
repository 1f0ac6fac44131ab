"""Attribute selections: ``attr OP value`` as used by noderanges, ``lsdef -w`` and dynamic groups.

Operators, checked in xCAT's order: ``!=`` (not equal), ``=~`` (regex), ``==`` or ``=``
(equal), ``!~`` (negated regex); a regex value loses one surrounding ``/`` on each side.
Pure and stdlib-only, so the noderange parser can use it.

>>> parse_condition("mgt==ipmi")
Condition(attr='mgt', op='==', value='ipmi')
>>> parse_condition("cons=~/^h/").matches("hmc")
True
"""

from __future__ import annotations

import re
from typing import NamedTuple

from snflow.models.errors import DefinitionError

__all__ = ["SHORTNAMES", "Condition", "compare", "parse_condition", "try_parse_condition"]

#: Short names a noderange selection accepts for ``table.column``.
SHORTNAMES = {"groups": "nodelist.groups", "tags": "nodelist.groups", "mgt": "nodehm.mgt"}


class Condition(NamedTuple):
    """One ``attr OP value`` selection."""

    attr: str
    op: str
    value: str

    def matches(self, actual: str | None) -> bool:
        """Whether a value satisfies the condition; ``None`` (no value) never does."""
        return actual is not None and compare(actual, self.op, self.value)


def try_parse_condition(text: str) -> Condition | None:
    """``attr OP value`` → :class:`Condition`, or ``None`` when ``text`` has no operator."""
    if re.match(r"[^=]*!=", text):
        op = "!="
    elif re.match(r"[^=]*=~", text):
        op = "=~"
    else:
        op = next((o for o in ("==", "=", "!~") if o in text), "")
        if not op:
            return None
    attr, value = text.split(op, 1)
    if op in ("=~", "!~"):
        value = value.removeprefix("/").removesuffix("/")
    return Condition(attr.strip(), "==" if op == "=" else op, value.strip())


def parse_condition(text: str) -> Condition:
    """Like :func:`try_parse_condition`, but a text without operator or attribute is an error."""
    condition = try_parse_condition(text)
    if condition is None or not condition.attr:
        raise DefinitionError(
            f"Invalid selection string '{text}': expected attr==value, attr=~value, "
            "attr!=value or attr!~value."
        )
    return condition


def compare(actual: str, op: str, value: str) -> bool:
    """``actual OP value`` with ``op`` one of ``==``, ``!=``, ``=~``, ``!~`` (re.search)."""
    if op == "==":
        return actual == value
    if op == "!=":
        return actual != value
    try:
        found = re.search(value, actual) is not None
    except re.error as exc:
        raise DefinitionError(f"Invalid regular expression '{value}': {exc}") from exc
    return found == (op == "=~")
