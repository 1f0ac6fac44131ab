"""xCAT noderange expansion (``NodeRange.pm``): pure, with the cluster injected.

A noderange names a set of nodes. Everything the parser must know about the cluster (node
names, groups, attribute values, ``site.excludenodes``, files) comes from a
:class:`NodeResolver` (:mod:`snflow.models.static_resolver` has an in-memory one). No I/O
happens here.

>>> from snflow.models.static_resolver import StaticResolver
>>> r = StaticResolver({"node1": ["all", "rack1"], "node2": ["all", "rack1"], "node10": ["all"]})
>>> expand("all,-node2", r)
NoderangeResult(nodes=('node1', 'node10'), missing=())
>>> expand("rack1@all,node8-node10", r)
NoderangeResult(nodes=('node1', 'node2', 'node10'), missing=('node8', 'node9'))
>>> expand_syntax("cn[01-02]n[1-2]")
('cn01n1', 'cn01n2', 'cn02n1', 'cn02n2')
>>> fold(["cn01", "cn02", "cn03", "sn1"])
'cn[01-03],sn1'

Grammar, as xCAT evaluates it (spec ``xdcp-noderange-defs.md`` §1): quotes are deleted; the
first ``( )`` group is evaluated at once (``a,-( )`` subtracts it, ``a@( )`` intersects);
the rest splits at commas outside ``[ ]`` and ``( )`` (or, if there are none, at ``@``, so
``@`` binds tighter). Left to right, ``@x`` intersects at once, ``-x`` is subtracted at the
very end, ``^path`` unions the noderanges on the file's lines. An element is, first match
wins: a node; ``(..)`` or anything with ``@``; a group; ``table.column==value`` (also ``!=``,
``=~``, ``!~``, ``=``); digits (``10`` is ``node10``); ``/regex``; ``pre[1-3,7]post``;
``name+N``; ``L-R`` or ``L:R`` (a left side starting with ``0`` is zero-padded). Anything else
is missing (``verify=True``) or taken literally (``verify=False``).

Deviations from xCAT, each a Perl quirk: output is in natural order (design decision 9);
zero-padded ranges that descend (``n05-n03``) are empty and a padded range stops at its right
end (xCAT counts on to ``n99``); ``/a|b`` matches whole names (xCAT: ``^a|b$``); ``^path`` and an
operator with nothing after it (``a,-,b``) do not pass their operator on to the next element;
names missed by ``site.excludenodes`` are not reported, and a file does not erase the names
missed before it (of its own lines, only the last line's missed names count, as in xCAT);
``x+N`` without digits is a missing name; ``XCAT_NODE_PREFIX=""`` does not loop; ``(a),(b)@(c)``
does not die. Malformed brackets, unbalanced parentheses (a stray ``)`` too) and bad regexes
raise :class:`~snflow.models.errors.NoderangeError`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from collections.abc import Set as AbstractSet
from typing import NamedTuple, Protocol

from snflow.models.errors import NoderangeError
from snflow.models.natsort import fold, natural_key, natural_sorted
from snflow.models.selection import SHORTNAMES, try_parse_condition

__all__ = [
    "NodeResolver",
    "NoderangeResult",
    "expand",
    "expand_or_raise",
    "expand_syntax",
    "fold",
    "natural_key",
    "natural_sorted",
]

_MAX_DEPTH = 64
_DIGIT_FIELDS = re.compile(r"([0-9]+)")
_BRACKET = re.compile(r"(.+?)\[(.+?)\](.*)")
_MORE_BRACKETS = re.compile(r"\[.+?\]")
_BRACKET_SEPARATORS = re.compile(r"([,:-])")
_COMMA = re.compile(",")
_INCREMENT_FRONT = re.compile(r"(.*?)([0-9]+)(\..+)?")
_FILE_ENTRY = re.compile(r"[^:\t ]*")
_SPECIALS = re.compile(r"[][(),@]")


class NodeResolver(Protocol):
    """Everything the parser needs to know about the cluster, injected (ClusterShell-style).

    ``nodes()``: every node name in ``nodelist``. ``group_members(name)``: the members of a
    static or dynamic group, empty for a defined group without members, ``None`` when ``name``
    is no group. ``select(column, op, value)``: the nodes whose ``table.column`` satisfies
    ``op`` (``!=``, ``=~``, ``==``, ``!~``; regex ``re.search``) ``value``, a missing value
    comparing as ``""``; empty for an unknown column. ``exclude_noderange()``:
    ``site.excludenodes`` or ``""``. ``read_lines(path)``: the lines of a ``^path`` file without
    line ends, ``None`` when it cannot be opened.
    """

    def nodes(self) -> AbstractSet[str]: ...
    def group_members(self, name: str) -> Collection[str] | None: ...
    def select(self, column: str, op: str, value: str) -> Collection[str]: ...
    def exclude_noderange(self) -> str: ...
    def read_lines(self, path: str) -> list[str] | None: ...


class NoderangeResult(NamedTuple):
    """Expanded node names (natural order) and the names that matched nothing (in order)."""

    nodes: tuple[str, ...]
    missing: tuple[str, ...]


def expand(
    noderange: str,
    resolver: NodeResolver,
    *,
    verify: bool = True,
    prefix: str = "node",
    suffix: str = "",
) -> NoderangeResult:
    """Expand ``noderange`` against the cluster ``resolver`` describes.

    :param verify: unknown names are reported in ``missing`` (else they pass through as names).
    :param prefix: ``XCAT_NODE_PREFIX`` (the caller reads the environment): ``10`` is ``node10``.
    :param suffix: ``XCAT_NODE_SUFFIX``.
    :raises NoderangeError: the noderange cannot be parsed (``.part`` is the faulty fragment).
    """
    run = _Expansion(resolver, prefix, suffix)
    nodes = run.noderange(noderange, verify, False)
    site_excluded = resolver.exclude_noderange()
    if site_excluded:
        mark = len(run.missing)
        nodes -= run.noderange(site_excluded, True, False)
        del run.missing[mark:]
    return NoderangeResult(tuple(natural_sorted(nodes)), tuple(dict.fromkeys(run.missing)))


def expand_or_raise(
    noderange: str,
    resolver: NodeResolver,
    *,
    verify: bool = True,
    prefix: str = "node",
    suffix: str = "",
) -> tuple[str, ...]:
    """Expand like :func:`expand`; any missing name is an error, as xcatd makes it.

    :raises NoderangeError: ``Invalid nodes and/or groups in noderange: a,b`` with ``.missing``.
    """
    result = expand(noderange, resolver, verify=verify, prefix=prefix, suffix=suffix)
    if result.missing:
        raise NoderangeError(
            "Invalid nodes and/or groups in noderange: " + ",".join(result.missing),
            part=noderange,
            missing=result.missing,
        )
    return result.nodes


def expand_syntax(noderange: str, prefix: str = "node", suffix: str = "") -> tuple[str, ...]:
    """Expand ``noderange`` by syntax alone (xCAT's ``genericrange``), e.g. for new nodes.

    There is no cluster: no groups, no attribute selection, no ``^file``; names pass through.

    >>> expand_syntax("node098+2,10")
    ('node10', 'node098', 'node099', 'node100')
    """
    return tuple(natural_sorted(_Expansion(None, prefix, suffix).noderange(noderange, False, True)))


# --- the parser ---------------------------------------------------------------------------


def _perl_trim(parts: list[str]) -> list[str]:
    """Drop trailing empty fields, as Perl's ``split`` does."""
    while parts and not parts[-1]:
        parts.pop()
    return parts


def _perl_split(pattern: re.Pattern[str], text: str) -> list[str]:
    return _perl_trim(pattern.split(text))


def _split_elements(text: str) -> list[str]:
    """Fields and separators: at commas outside ``[ ]`` and ``( )``, else at ``@`` outside ``( )``.

    Same result as xCAT's ``split(/(,(?![^[]*?])(?![^\\(]*?\\)))/)`` (a separator is protected
    when the next ``]`` comes before the next ``[``, or the next ``)`` before the next ``(``),
    computed in one backward pass instead of a scan to the end for every comma.
    """
    specials = [(m.start(), m.group()) for m in _SPECIALS.finditer(text)]
    for separator, brackets in ((",", True), ("@", False)):
        following = dict.fromkeys("[]()", len(text))
        cuts = [len(text)]
        for pos, char in reversed(specials):
            if char in following:
                following[char] = pos
            elif char == separator and not (
                following[")"] < following["("] or (brackets and following["]"] < following["["])
            ):
                cuts.append(pos)
        if len(cuts) > 1:
            cuts.append(-1)
            fields = [text[cuts[i] + 1 : cuts[i - 1]] for i in range(len(cuts) - 1, 0, -1)]
            return _perl_trim([x for field in fields for x in (field, separator)][:-1])
    return [text] if text else []


def _first_group(text: str) -> tuple[str, str, str] | None:
    """(before, inside, after) the first ``( )`` group, ``None`` without one; checks balance."""
    opened: list[int] = []
    group = None
    for match in re.finditer(r"[()]", text):
        if match.group() == "(":
            opened.append(match.start())
        elif not opened:
            raise NoderangeError("Unbalanced parentheses in noderange", part=text[: match.end()])
        else:
            start = opened.pop()
            if not opened and group is None:
                group = text[:start], text[start + 1 : match.start()], text[match.end() :]
    if opened:
        raise NoderangeError("Unbalanced parentheses in noderange", part=text[opened[0] :])
    return group


def _check_brackets(atom: str) -> None:
    opened = -1
    for match in re.finditer(r"[][]", atom):
        pos = match.start()
        if match.group() == "[":
            if opened >= 0:
                raise NoderangeError("Nested brackets in noderange", part=atom)
            if pos == 0:
                raise NoderangeError("A name must come before '[' in noderange", part=atom)
            opened = pos
        elif opened < 0:
            raise NoderangeError("Unbalanced brackets in noderange", part=atom)
        elif pos == opened + 1:
            raise NoderangeError("Empty brackets in noderange", part=atom)
        else:
            opened = -1
    if opened >= 0:
        raise NoderangeError("Unbalanced brackets in noderange", part=atom)


class _Expansion:
    """One expansion: the resolver, ``XCAT_NODE_PREFIX/SUFFIX`` and the names missed so far."""

    def __init__(self, resolver: NodeResolver | None, prefix: str, suffix: str) -> None:
        self.resolver = resolver
        self.known: AbstractSet[str] = resolver.nodes() if resolver else frozenset()
        self.prefix, self.suffix = prefix, suffix
        self.missing: list[str] = []
        self.depth = 0

    def noderange(self, text: str, verify: bool, generic: bool) -> set[str]:
        """``NodeRange::noderange`` without the site exclusion (see :func:`expand`)."""
        if self.depth >= _MAX_DEPTH:
            raise NoderangeError("Noderange nested too deeply", part=text)
        self.depth += 1
        try:
            return self._noderange(text.replace("'", "").replace('"', ""), verify, generic)
        finally:
            self.depth -= 1

    def _noderange(self, text: str, verify: bool, generic: bool) -> set[str]:
        nodes: set[str] = set()
        excluded: set[str] = set()
        group = _first_group(text) if "(" in text or ")" in text else None
        if group:
            start, inner, text = group
            op = ",-" if start.endswith("-") else "@" if start.endswith("@") else ","
            for tail in (",-", ",", "@"):
                start = start.removesuffix(tail)
            nodes = self.noderange(start, verify, generic) if start else set()
            _combine(nodes, op, self.noderange(inner, verify, generic))
        elements = _split_elements(text)
        for index in range(0, len(elements), 2):
            atom, op = elements[index], elements[index - 1] if index else ","
            if atom.startswith("-"):
                atom, op = atom[1:], op + "-"
            elif atom.startswith("@"):
                atom, op = atom[1:], "@"
            if atom.startswith("^"):
                nodes |= self._file(atom, verify, generic)
            elif atom and op == ",-":
                excluded.update(self.atom(atom, verify, generic))
            elif atom:
                _combine(nodes, op, self.atom(atom, verify, generic))
        nodes -= excluded
        return nodes

    def _file(self, atom: str, verify: bool, generic: bool) -> set[str]:
        """``^path``: the union of each line's noderange (its first word; ``#``, ``^`` skipped)."""
        if self.resolver is None:
            raise NoderangeError("A noderange file needs a cluster to be read", part=atom)
        lines = self.resolver.read_lines(atom[1:])
        found: set[str] = set()
        mark = len(self.missing)
        for line in lines or ():
            if not line.startswith(("#", "^")):
                del self.missing[mark:]  # xCAT: each line restarts the missing list
                entry = _FILE_ENTRY.match(line)
                found |= self.noderange(entry.group() if entry else "", verify, generic)
        return found

    def atom(self, atom: str, verify: bool, generic: bool) -> Collection[str]:
        """``NodeRange::expandatom``: one element, first matching rule wins."""
        if not generic and atom in self.known:
            return (atom,)
        group = _first_group(atom) if atom.startswith("(") else None
        if group and group[::2] == ("", ""):  # one group; "(a)@(b)" is not
            return self.noderange(group[1], verify, generic)
        if "@" in atom:
            return self.noderange(atom, verify, generic)
        members = None if generic or self.resolver is None else self.resolver.group_members(atom)
        if members is not None and not members:
            return ()  # a defined group without members is not missing
        if "=" in atom or "~" in atom:
            return self._select(atom)
        if atom.isascii() and atom.isdigit() and (self.prefix or self.suffix):
            return self.atom(f"{self.prefix}{atom}{self.suffix}", verify, generic)
        if members:
            return members
        if atom.startswith("/"):
            return self._regex(atom) if verify and not generic else (atom,)
        if "[" in atom or "]" in atom:
            _check_brackets(atom)
            if match := _BRACKET.search(atom):
                return self._brackets(*match.groups(), verify, generic)
        if "+" in atom:
            return self._increment(atom, verify, generic)
        if "-" in atom or ":" in atom:
            return self._range(atom, verify, generic)
        return self._unknown(atom, verify)

    def _unknown(self, atom: str, verify: bool) -> Collection[str]:
        if verify:
            self.missing.append(atom)
            return ()
        return (atom,)

    def _select(self, atom: str) -> Collection[str]:
        """``table.column OP value`` (or ``groups``/``tags``/``mgt``): never missing."""
        condition = try_parse_condition(atom)
        if condition is None or self.resolver is None:
            return ()
        column, op, value = condition
        column = SHORTNAMES.get(column, column)
        if op in ("=~", "!~"):
            _compile(value, atom)
        return self.resolver.select(column, op, value) if "." in column else ()

    def _regex(self, atom: str) -> Collection[str]:
        """``/re``: the node names ``re`` matches in full; no match is not missing."""
        pattern = _compile(atom[1:], atom)
        return [name for name in self.known if pattern.fullmatch(name)]

    def _brackets(
        self, start: str, spec: str, ending: str, verify: bool, generic: bool
    ) -> Collection[str]:
        """``pre[1-3,7]post``: ``pre1post-pre3post,pre7post``; later brackets one at a time."""
        more = _MORE_BRACKETS.search(ending) is not None
        tail = "" if more else ending
        fields = [*_perl_split(_BRACKET_SEPARATORS, spec), ""]
        subrange = "".join(
            f"{start}{fields[i]}{tail}{fields[i + 1]}" for i in range(0, len(fields) - 1, 2)
        )
        result: list[str] = []
        for piece in _perl_split(_COMMA, subrange):
            if not more:
                result.extend(self.atom(piece, verify, generic))
                continue
            for head in self.atom(piece, False, True):
                result.extend(self.atom(head + ending, verify, generic))
        return result

    def _increment(self, atom: str, verify: bool, generic: bool) -> Collection[str]:
        """``pre007.dom+3``: pre007.dom .. pre010.dom (bare ``10+3`` takes the node prefix)."""
        front, increment = atom.split("+", 1)
        match = _INCREMENT_FRONT.fullmatch(front)
        if match is None or not (increment.isascii() and increment.isdigit()):
            return self._unknown(atom, verify)
        prefix, first, suffix = match.group(1), match.group(2), match.group(3) or ""
        last = str(int(first) + int(increment)).zfill(len(first))
        if not prefix and not suffix:
            prefix, suffix = self.prefix, self.suffix
        return self._generate(prefix, first, last, suffix, verify, generic)

    def _range(self, atom: str, verify: bool, generic: bool) -> Collection[str]:
        """``L-R`` (split at the middle of an odd number of ``-``) or ``L:R``.

        The first number that differs between the two sides is counted; all else must match.
        """
        if ":" in atom:
            left, right = atom.split(":")[:2]
        else:
            count = atom.count("-")
            halves = count % 2 and re.search(f"([^-]+?{'-[^-]*' * (count // 2)})-(.*)", atom)
            if not halves:
                return self._unknown(atom, verify)
            left, right = halves.groups()
        if left == right:
            return self.atom(left, verify, generic)
        lfields = _perl_split(_DIGIT_FIELDS, left)
        rfields = _perl_split(_DIGIT_FIELDS, right)
        if len(lfields) == len(rfields):
            for idx, (lhs, rhs) in enumerate(zip(lfields, rfields, strict=True)):
                if lhs == rhs:
                    continue
                if idx % 2 == 0 or lfields[idx + 1 :] != rfields[idx + 1 :]:
                    break
                head, tail = "".join(lfields[:idx]), "".join(lfields[idx + 1 :])
                return self._generate(head, lhs, rhs, tail, verify, generic)
        return self._unknown(atom, verify)

    def _generate(
        self, head: str, first: str, last: str, tail: str, verify: bool, generic: bool
    ) -> Collection[str]:
        """Expand ``head + n + tail`` for the numbers of ``first..last`` (Perl's ``..``).

        A ``first`` starting with ``0`` gives zero-padded names (to its width), an empty range
        when it is longer than ``last``; any other counts as a plain number. Descending: empty.
        """
        width = len(first) if first[0] == "0" else 0
        if width > len(last):
            return ()
        names = [f"{head}{n:0{width}d}{tail}" for n in range(int(first), int(last) + 1)]
        if not generic:
            known = self.known
            hits = [name for name in names if name in known]
            if len(hits) == len(names):
                return hits
        result: list[str] = []
        for name in names:
            result.extend(self.atom(name, verify, generic))
        return result


def _compile(pattern: str, atom: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise NoderangeError(f"Invalid regular expression in {atom!r}", part=atom) from exc


def _combine(nodes: set[str], op: str, new: Iterable[str]) -> None:
    """Apply ``op`` at once: ``@`` (or ``@-``) intersects, ``,-`` subtracts, ``,`` unions."""
    if "@" in op:
        nodes.intersection_update(new)
    elif op == ",-":
        nodes.difference_update(new)
    else:
        nodes.update(new)
