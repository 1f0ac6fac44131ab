"""xCAT stanza files: read ``mkdef -z``/``chdef -z`` input, write ``lsdef -z`` output.

A stanza file (``man 5 xcatstanzafile``; xCAT reads it in ``DBobjUtils::readFileInput``)
holds one stanza per object::

    # <xCAT data object stanza file>

    testnode:
        objtype=node
        groups=all

Blank lines and ``#`` comment lines are skipped. A header is a line ending in ``:``; the
object name is the text before the last ``:``, trimmed (so the IPv6 network ``fd59::/64:``
works). An attribute line is ``attr = value``: the value is trimmed and one pair of
surrounding double quotes removed; it is an attribute even when the value ends in ``:``
(``net=fd59::``, which xCAT's own reader takes for a bad header). Every object stanza
needs ``objtype=``. A ``default-<type>:`` stanza sets defaults for the later stanzas of
that type; defaults accumulate, an empty value removes one, and a value given in the
stanza wins wherever it appears.

>>> objects = parse("n1:\\n  objtype=node\\n  groups = \\"all\\"\\n")
>>> objects
[StanzaObject(name='n1', objtype='node', attrs=(('groups', 'all'),))]
>>> print(render(objects), end="")
# <xCAT data object stanza file>
<BLANKLINE>
n1:
    objtype=node
    groups=all

What it does not do: check names, object types or attribute names against the schema
(the caller does), or sort (:func:`render` keeps the order it is given). Unlike xCAT,
which skips what it cannot read, a line it cannot read is a :class:`StanzaError` naming
the line. :func:`render` writes values raw, as xCAT does, and puts double quotes around
a value only when it would not read back otherwise (leading or trailing space, or
surrounding quotes), so ``parse(render(objects)) == objects`` for any one-line values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from snflow.models.errors import StanzaError

__all__ = ["StanzaObject", "parse", "render"]

_HEADER = "# <xCAT data object stanza file>"

_DEFAULT_PREFIX = "default-"


@dataclass(frozen=True, slots=True)
class StanzaObject:
    """One object stanza: its name, ``objtype`` and other attributes in file order."""

    name: str
    objtype: str
    attrs: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class _Stanza:
    """A stanza being read: an object (``objtype`` from its lines) or a defaults stanza."""

    name: str
    line: int
    default_type: str | None
    attrs: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)


def _error(line: int, problem: str) -> StanzaError:
    return StanzaError(f"line {line}: {problem}", line)


def parse(text: str) -> list[StanzaObject]:
    """The object stanzas of ``text``, in file order, with defaults applied.

    Raises :class:`StanzaError` (``.line`` is 1-based) for the first line it cannot read:
    an attribute before any header, a header with ``=`` in the name, a line with text
    after a colon or neither a header nor ``attr=value``, a repeated attribute or object,
    or an object stanza without ``objtype``.
    """
    objects: list[StanzaObject] = []
    defaults: dict[str, dict[str, str]] = {}
    seen: dict[tuple[str, str], int] = {}
    stanza: _Stanza | None = None
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        attr, equals, value = line.partition("=")
        attr = attr.strip()
        if line.endswith(":") and not (equals and _is_attr_name(attr)):
            _close(stanza, objects, defaults, seen)
            stanza = _header(line, number)
            continue
        if ":" in attr or (not equals and ":" in line):
            raise _error(number, f"invalid header {line!r}: text after the colon")
        if not equals:
            raise _error(number, f"expected '<object name>:' or '<attribute>=<value>': {line!r}")
        if not _is_attr_name(attr):
            raise _error(number, f"invalid attribute name {attr!r} in {line!r}")
        if stanza is None:
            raise _error(number, f"attribute line {line!r} before any '<object name>:' header")
        if attr in stanza.attrs:
            first = stanza.lines[attr]
            raise _error(number, f"'{attr}' is set twice for '{stanza.name}' (also line {first})")
        if attr == "objtype" and stanza.default_type is not None:
            raise _error(number, f"a default stanza cannot set objtype: {line!r}")
        stanza.attrs[attr] = _unquote(value.strip())
        stanza.lines[attr] = number
    _close(stanza, objects, defaults, seen)
    return objects


def _header(line: str, number: int) -> _Stanza:
    name = line[:-1].strip()
    if "=" in name:
        raise _error(number, f"invalid header {line!r}: an object name cannot contain '='")
    if not name:
        raise _error(number, "missing object name before ':'")
    if name.startswith(_DEFAULT_PREFIX):
        objtype = name[len(_DEFAULT_PREFIX) :]
        if not objtype:
            raise _error(number, f"missing object type in default stanza {line!r}")
        return _Stanza(name, number, objtype)
    return _Stanza(name, number, None)


def _close(
    stanza: _Stanza | None,
    objects: list[StanzaObject],
    defaults: dict[str, dict[str, str]],
    seen: dict[tuple[str, str], int],
) -> None:
    """Finish ``stanza``: record its defaults, or append its object with defaults applied."""
    if stanza is None:
        return
    if stanza.default_type is not None:
        kept = defaults.setdefault(stanza.default_type, {})
        for attr, value in stanza.attrs.items():
            if value:
                kept[attr] = value
            else:
                kept.pop(attr, None)
        return
    objtype = stanza.attrs.pop("objtype", "")
    if not objtype:
        raise _error(
            stanza.line,
            f"No objtype value was specified for '{stanza.name}'. Cannot create object definition.",
        )
    first = seen.setdefault((stanza.name, objtype), stanza.line)
    if first != stanza.line:
        raise _error(
            stanza.line, f"a second stanza for {objtype} '{stanza.name}' (first on line {first})"
        )
    given = stanza.attrs
    inherited = [(a, v) for a, v in defaults.get(objtype, {}).items() if a not in given]
    objects.append(StanzaObject(stanza.name, objtype, (*inherited, *given.items())))


def _is_attr_name(attr: str) -> bool:
    return bool(attr) and not any(c.isspace() or c == ":" for c in attr)


def _unquote(value: str) -> str:
    """Remove one pair of surrounding double quotes."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _quote(value: str) -> str:
    """``value`` as written in a stanza: raw unless it would not read back unchanged."""
    if value != value.strip() or _unquote(value) != value:
        return f'"{value}"'
    return value


def render(objects: Iterable[StanzaObject]) -> str:
    """Stanza text for ``objects`` as ``lsdef -z`` prints it (objects, attributes in order).

    Raises :class:`StanzaError` (``.line`` 0) for an object that cannot be written so
    that it reads back: a name or attribute name that a stanza cannot hold, an empty
    ``objtype``, a value with a newline, a repeated attribute or object.
    """
    lines = [_HEADER]
    seen: set[tuple[str, str]] = set()
    for obj in objects:
        _check_renderable(obj, seen)
        lines += ["", f"{obj.name}:", f"    objtype={_quote(obj.objtype)}"]
        lines += [f"    {attr}={_quote(value)}" for attr, value in obj.attrs]
    return "\n".join(lines) + "\n"


def _check_renderable(obj: StanzaObject, seen: set[tuple[str, str]]) -> None:
    def fail(problem: str) -> StanzaError:
        return StanzaError(f"cannot write {obj.objtype} '{obj.name}' as a stanza: {problem}")

    name = obj.name
    if not name or name != name.strip() or "\n" in name or "=" in name:
        raise fail("the name is empty, has surrounding space, a newline or '='")
    if name.startswith(("#", _DEFAULT_PREFIX)):
        raise fail(f"a name starting with '#' or '{_DEFAULT_PREFIX}' reads differently")
    if (name, obj.objtype) in seen:
        raise fail("the object is given twice")
    seen.add((name, obj.objtype))
    if not obj.objtype or "\n" in obj.objtype:
        raise fail("objtype is empty or has a newline")
    attrs: set[str] = set()
    for attr, value in obj.attrs:
        if not _is_attr_name(attr) or attr.startswith("#") or "=" in attr:
            raise fail(f"invalid attribute name {attr!r}")
        if attr == "objtype" or attr in attrs:
            raise fail(f"attribute '{attr}' is given twice")
        attrs.add(attr)
        if "\n" in value:
            raise fail(f"the value of '{attr}' has a newline")
