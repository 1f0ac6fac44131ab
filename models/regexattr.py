r"""xCAT regex attribute values: compute a node's value from a group-level rule.

A value in a node-keyed table may derive each node's value from its name (xCAT's
``transRegexAttrs`` in ``perl-xCAT/xCAT/Table.pm``):

* ``/pat/repl/`` (exactly three ``/``): ``s/pat/repl/`` on the node name.
* ``|pat|repl|``: the same, and each parenthesised part of ``repl`` is an integer
  expression (xCAT evaluates it under ``use integer``: ``/`` truncates toward zero at
  every step, ``%`` takes the sign of the dividend).
* ``|repl|`` ("easy regex"): ``pat`` is one ``[\D0]*(\d+)`` per number in the node
  name, then ``.*$``.

>>> evaluate("node05", "|\\D+(\\d+)|10.0.0.($1+0)|")
'10.0.0.5'
>>> evaluate("node05", "|\\D+(\\d+)|sn(($1-1)/10+1)|")
'sn1'
>>> evaluate("node15", "|\\D+(\\d+)|sn(($1-1)/10+1)|")
'sn2'
>>> evaluate("node20", "|\\D+(\\d+)|sn(($1-1)/10+1)|")  # 19/10 is 1, then 1+1
'sn2'
>>> evaluate("cn3", "/cn(\\d+)/bmc$1/")
'bmc3'
>>> evaluate("node20", "|\\D+(\\d+)|cmm(sprintf('%02d',($1-1)/14+1))|")
'cmm02'
>>> evaluate("cn3", "sn1")
'sn1'

A name the pattern does not match is returned as it is; an empty result is ``None``
(attribute undefined). Not done: running Perl. A part may only use integers, ``$N``,
``+ - * / %``, unary ``-``/``+``, parentheses, or be one ``sprintf('<fmt>', expr, ...)``
with integer conversions; patterns use Python's ``re`` (what it shares with Perl, plus
``\z``). Unlike xCAT, ``$N`` outside the parts is replaced (xCAT leaves the text ``$1``),
and what xCAT silently turns into an empty part (bad syntax, division by zero, a missing
or non-numeric group, an octal literal, unbalanced parentheses) or an unchanged name (an
empty pattern) raises :class:`RegexAttributeError`.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable
from typing import Any

from snflow.models.errors import RegexAttributeError

__all__ = ["evaluate", "is_regex_value"]

_Groups = tuple[str | None, ...]
_Piece = str | Callable[[_Groups], str]
_Ast = tuple[Any, ...]
_Rule = tuple[re.Pattern[str] | None, Callable[[_Groups], str]]  # pattern None: easy regex

_SLASH_FORM = re.compile(r"/([^/]*)/([^/]*)/")
_GROUP_REF = re.compile(r"\$(?:([1-9][0-9]*)|\{([1-9][0-9]*)\})")
_EASY_NUMBER = re.compile(r"[\D0]*(\d+)")
_PERL_ESCAPE = re.compile(r"\\.", re.DOTALL)
_PERL_TO_PYTHON = {"\\z": r"\Z", "\\Z": r"(?=\n?\Z)"}
_INTEGER = re.compile(r"[+-]?[0-9]+")
_TOKEN = re.compile(
    r"""\s*(?:(?P<num>[0-9]+)|\$(?P<grp>[1-9][0-9]*)|\$\{(?P<bgrp>[1-9][0-9]*)\}"""
    r"""|(?P<str>'[^']*'|"[^"]*")|(?P<name>[A-Za-z_]\w*)|(?P<op>\*\*|\+\+|--|\S))"""
)
_CONVERSION = re.compile(r"%(?:%|([-+ 0]*)([0-9]*)([diouxX]))")


class _EvalError(Exception):
    """A part that cannot be computed for one node (the caller names node and value)."""


def is_regex_value(value: str) -> bool:
    """True if ``value`` has one of xCAT's regex forms (``/p/r/``, ``|p|r|``, ``|r|``)."""
    return _split_form(value) is not None


def evaluate(node: str, value: str) -> str | None:
    """The value that ``value`` gives ``node``; ``None`` when that is empty.

    A value in no regex form is returned unchanged (``""`` as ``None``). Raises
    :class:`RegexAttributeError` naming ``value`` when it is malformed or cannot be
    computed for ``node``.
    """
    rule = _compile(value) if value[:1] in ("/", "|") else None
    if rule is None:
        return value or None
    pattern, replace = rule
    match = (pattern or _easy_pattern(len(_EASY_NUMBER.findall(node)))).search(node)
    if match is None:
        return node or None
    try:
        middle = replace(match.groups())
    except _EvalError as exc:
        message = f"cannot evaluate {value!r} for node {node!r}: {exc}"
        raise RegexAttributeError(message, value) from None
    return (node[: match.start()] + middle + node[match.end() :]) or None


def _split_form(value: str) -> tuple[str | None, str, bool] | None:
    """``(pattern, or None for easy regex; replacement; has arithmetic)``, None if plain."""
    slash = _SLASH_FORM.fullmatch(value)
    if slash:
        return slash[1], slash[2], False
    if len(value) >= 2 and value[0] == value[-1] == "|" and "\n" not in value:
        parts = value[1:-1].split("|", 1)
        return (None, parts[0], True) if len(parts) == 1 else (parts[0], parts[1], True)
    return None


def _bad(value: str, problem: str) -> RegexAttributeError:
    return RegexAttributeError(f"invalid regex attribute value {value!r}: {problem}", value)


@functools.lru_cache(maxsize=1024)
def _compile(value: str) -> _Rule | None:
    """Pattern and replacement function of ``value``, once per distinct value."""
    form = _split_form(value)
    if form is None:
        return None
    perl_pattern, repl, arithmetic = form
    pattern = None if perl_pattern is None else _compile_pattern(perl_pattern, value)
    ngroups = None if pattern is None else pattern.groups
    pieces: list[_Piece] = []
    depth = text_start = part_start = 0
    for i, char in enumerate(repl if arithmetic else ""):
        if char == "(":
            if depth == 0:
                pieces += _text_pieces(repl[text_start:i], ngroups, value)
                part_start = i + 1
            depth += 1
        elif char == ")":
            if depth == 0:
                raise _bad(value, f"unbalanced ')' in {repl!r}")
            depth -= 1
            if depth == 0:
                pieces.append(_Parser(repl[part_start:i], ngroups, value).part())
                text_start = i + 1
    if depth:
        raise _bad(value, f"unclosed '(' in {repl!r}")
    pieces += _text_pieces(repl[text_start:], ngroups, value)
    return pattern, _concat(pieces)


def _compile_pattern(perl: str, value: str) -> re.Pattern[str]:
    if not perl:
        raise _bad(value, "empty pattern")
    python = _PERL_ESCAPE.sub(lambda m: _PERL_TO_PYTHON.get(m[0], m[0]), perl)
    try:
        return re.compile(python)
    except re.error as exc:
        raise _bad(value, f"bad pattern {perl!r}: {exc}") from None


@functools.lru_cache(maxsize=64)
def _easy_pattern(numbers: int) -> re.Pattern[str]:
    return re.compile(r"[\D0]*(\d+)" * numbers + ".*$")


def _check_group(number: int, ngroups: int | None, value: str) -> int:
    if ngroups is not None and number > ngroups:
        raise _bad(value, f"${number} but the pattern has {ngroups} group(s)")
    return number


def _text_pieces(text: str, ngroups: int | None, value: str) -> list[_Piece]:
    """Literal text, each ``$N`` or ``${N}`` replaced by its group ("" if unmatched)."""
    pieces: list[_Piece] = []
    last = 0
    for ref in _GROUP_REF.finditer(text):
        number = _check_group(int(ref[1] or ref[2]), ngroups, value)
        pieces += [text[last : ref.start()], functools.partial(_group_text, number=number)]
        last = ref.end()
    return [*pieces, text[last:]]


def _concat(pieces: list[_Piece]) -> Callable[[_Groups], str]:
    """One function for the whole replacement: literal text around the computed parts."""
    texts, funcs = [""], []
    for piece in pieces:
        if isinstance(piece, str):
            texts[-1] += piece
        else:
            funcs.append(piece)
            texts.append("")
    head, rest = texts[0], list(zip(funcs, texts[1:], strict=True))
    if len(rest) == 1:  # the usual shape
        (func, tail), *_ = rest
        return lambda groups: head + func(groups) + tail
    return lambda groups: head + "".join([func(groups) + tail for func, tail in rest])


def _group_text(groups: _Groups, number: int) -> str:
    return (groups[number - 1] if number <= len(groups) else None) or ""


def _group_int(groups: _Groups, number: int) -> int:
    text = groups[number - 1] if number <= len(groups) else None
    if text is not None and text.isdigit() and text.isascii():
        return int(text)
    if text is None:
        raise _EvalError(f"${number} matched nothing")
    if not _INTEGER.fullmatch(text):
        raise _EvalError(f"${number} is {text!r}, not a number")
    return int(text)


def _divide(a: int, b: int) -> int:
    """Perl ``use integer`` division: truncation toward zero."""
    if b > 0 and a >= 0:
        return a // b
    if b == 0:
        raise _EvalError("division by zero")
    quotient = abs(a) // abs(b)
    return quotient if (a < 0) == (b < 0) else -quotient


def _modulo(a: int, b: int) -> int:
    """Perl ``use integer`` modulus: the remainder has the sign of ``a``."""
    return a - b * _divide(a, b)


_OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": _divide, "%": _modulo}


def _build(ast: _Ast) -> Callable[[_Groups], int]:
    """A parsed expression as a function of the match groups (constant operands inlined)."""
    if ast[0] == "num":
        number = ast[1]
        return lambda groups: number
    if ast[0] == "grp":
        return functools.partial(_group_int, number=ast[1])
    if ast[0] == "neg":
        inner = _build(ast[1])
        return lambda groups: -inner(groups)
    func, left = _OPERATORS[ast[1]], _build(ast[2])
    if ast[3][0] == "num":
        const = ast[3][1]
        return lambda groups: func(left(groups), const)
    right = _build(ast[3])
    return lambda groups: func(left(groups), right(groups))


def _as_text(func: Callable[[_Groups], int]) -> Callable[[_Groups], str]:
    return lambda groups: str(func(groups))


class _Parser:
    """Recursive descent over one parenthesised part of ``repl`` (its parens removed).

    ``part := 'sprintf' '(' STRING (',' expr)* ')' | expr``;
    ``expr := term (('+'|'-') term)*``; ``term := unary (('*'|'/'|'%') unary)*``;
    ``unary := ('-'|'+') unary | NUMBER | '$'N | '${'N'}' | '(' expr ')'``.
    """

    def __init__(self, text: str, ngroups: int | None, value: str) -> None:
        self.text, self.ngroups, self.value = text, ngroups, value
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while (token := _TOKEN.match(text, pos)) is not None:
            kind = token.lastgroup or ""
            self.tokens.append(("grp" if kind == "bgrp" else kind, token[kind]))
            pos = token.end()
        self.tokens.append(("end", ""))
        self.pos = 0

    def _fail(self, problem: str) -> RegexAttributeError:
        return _bad(self.value, f"bad expression ({self.text}): {problem}")

    def _next(self) -> tuple[str, str]:
        self.pos += 1
        return self.tokens[self.pos - 1]

    def _expect(self, text: str) -> None:
        kind, got = self._next()
        if (kind, got) != ("op", text):
            raise self._fail(f"expected {text!r}, found {got or 'the end'!r}")

    def part(self) -> Callable[[_Groups], str]:
        if self.tokens[0] == ("name", "sprintf"):
            piece = self._sprintf()
        else:
            ast = self._expr()
            # A bare $N is a Perl string: leading zeros stay, as in xCAT.
            grp = ast[0] == "grp"
            piece = functools.partial(_group_text, number=ast[1]) if grp else _as_text(_build(ast))
        if self.tokens[self.pos][0] != "end":
            raise self._fail(f"unexpected {self.tokens[self.pos][1]!r}")
        return piece

    def _sprintf(self) -> Callable[[_Groups], str]:
        self.pos = 1
        self._expect("(")
        kind, literal = self._next()
        body = literal[1:-1]
        if kind != "str" or "\\" in body or (literal[0] == '"' and ("$" in body or "@" in body)):
            raise self._fail("sprintf needs a plain quoted format")
        if "%" in _CONVERSION.sub("", body):
            raise self._fail(f"unsupported sprintf format {literal}")
        args: list[Callable[[_Groups], int]] = []
        while self.tokens[self.pos] == ("op", ","):
            self.pos += 1
            args.append(_build(self._expr()))
        self._expect(")")
        if len(args) != sum(1 for m in _CONVERSION.finditer(body) if m[3]):
            raise self._fail(f"sprintf format {literal} does not match its arguments")
        fmt = _CONVERSION.sub(
            lambda m: f"%{m[1]}{m[2]}{m[3].replace('u', 'd')}" if m[3] else "%%", body
        )
        return lambda groups: fmt % tuple(arg(groups) for arg in args)

    def _expr(self) -> _Ast:
        ast = self._term()
        while self.tokens[self.pos] in (("op", "+"), ("op", "-")):
            ast = ("op", self._next()[1], ast, self._term())
        return ast

    def _term(self) -> _Ast:
        ast = self._unary()
        while self.tokens[self.pos] in (("op", "*"), ("op", "/"), ("op", "%")):
            ast = ("op", self._next()[1], ast, self._unary())
        return ast

    def _unary(self) -> _Ast:
        kind, text = self._next()
        if (kind, text) in (("op", "-"), ("op", "+")):
            inner = self._unary()
            return ("neg", inner) if text == "-" else inner
        if kind == "num":
            if len(text) > 1 and text[0] == "0":
                raise self._fail(f"{text} has a leading zero (octal in Perl)")
            return ("num", int(text))
        if kind == "grp":
            return ("grp", _check_group(int(text), self.ngroups, self.value))
        if (kind, text) == ("op", "("):
            ast = self._expr()
            self._expect(")")
            return ast
        if kind == "end":
            raise self._fail("missing operand")
        raise self._fail(f"{text!r} is not allowed (only integers, $N, + - * / % and sprintf)")
