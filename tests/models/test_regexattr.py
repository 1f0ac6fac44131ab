r"""Regex attribute values (``/pat/repl/``, ``|pat|repl|``, ``|repl|``) as xCAT evaluates them.

Expected values were checked against xCAT's own ``transRegexAttrs`` run by Perl 5.36, except
where a case id says "unlike xcat"; the malformed values, which xCAT turns into an empty
part or a garbled name without a word, are errors here.
"""

from __future__ import annotations

import doctest
import time

import pytest

from snflow.models import regexattr
from snflow.models.errors import RegexAttributeError
from snflow.models.regexattr import evaluate, is_regex_value

SN_FORMULA = r"|\D+(\d+)|sn(($1-1)/10+1)|"


@pytest.mark.parametrize(
    ("node", "value", "expected"),
    [
        pytest.param(
            "node05", r"|\D+(\d+)|10.0.0.($1+0)|", "10.0.0.5", id="adding-zero-drops-leading-zeros"
        ),
        pytest.param("node05", SN_FORMULA, "sn1", id="service-node-formula-first-ten"),
        pytest.param("node15", SN_FORMULA, "sn2", id="service-node-formula-second-ten"),
        pytest.param(
            "node20", SN_FORMULA, "sn2", id="node20-gets-sn2-as-19-over-10-truncates-to-1"
        ),
        pytest.param("node21", SN_FORMULA, "sn3", id="node21-starts-the-third-ten"),
        pytest.param(
            "cn3",
            r"/cn(\d+)/bmc$1/",
            "bmc3",
            id="slash-form-substitutes-groups-where-xcat-leaves-dollar-1",
        ),
        pytest.param(
            "cn3", r"/cn(\d+)/bmc${1}0/", "bmc30", id="braced-group-reference-unlike-xcat"
        ),
        pytest.param("cn3", r"/\z/-bmc/", "cn3-bmc", id="perl-end-anchor-appends-to-the-name"),
        pytest.param("cn3", "/cn/bmc/", "bmc3", id="slash-form-replaces-only-the-match"),
        pytest.param("sn1", "sn1", "sn1", id="plain-value-is-unchanged"),
        pytest.param("cn3", "/install/", "/install/", id="two-slashes-is-a-plain-value"),
        pytest.param("cn3", "a|b|", "a|b|", id="value-not-starting-with-a-bar-is-plain"),
        pytest.param("mgmt", SN_FORMULA, "mgmt", id="node-the-pattern-misses-keeps-its-name"),
        pytest.param("mgmt", "/cn(\\d+)/x/", "mgmt", id="slash-form-miss-keeps-the-name"),
        pytest.param("node1", r"|10.0.0.($1+0)|", "10.0.0.1", id="easy-regex-builds-the-pattern"),
        pytest.param("f2n07", r"|($1).($2)|", "2.7", id="easy-regex-one-group-per-number"),
        pytest.param("node20", r"|\D+(\d+)|(($1-1)%14+1)|", "6", id="modulo-as-in-the-xcat-docs"),
        pytest.param(
            "node20",
            r"|\D+(\d+)|cmm(sprintf('%02d',($1-1)/14+1))|",
            "cmm02",
            id="sprintf-pads-as-in-the-xcat-docs",
        ),
        pytest.param(
            "node5",
            r'|\D+(\d+)|ib(sprintf("%03d-%x-%%",$1,$1*3))|',
            "ib005-f-%",
            id="sprintf-several-conversions",
        ),
        pytest.param("node05", r"|\D+(\d+)|(7/2*2)|", "6", id="division-truncates-at-every-step"),
        pytest.param(
            "node05", r"|\D+(\d+)|(-7/2).(7/-2)|", "-3.-3", id="division-truncates-toward-zero"
        ),
        pytest.param(
            "node05",
            r"|\D+(\d+)|(-7%3).(7%-3).(-7%-3)|",
            "-1.1.-1",
            id="modulo-has-the-dividends-sign",
        ),
        pytest.param("node05", r"|\D+(\d+)|a((1+2)*(3+4))b|", "a21b", id="nested-parentheses"),
        pytest.param(
            "node05", r"|\D+(\d+)|(-$1).(+$1).(- -$1)|", "-5.05.5", id="unary-minus-and-plus"
        ),
        pytest.param("node05", r"|\D+(\d+)|($1)|", "05", id="bare-group-keeps-its-text"),
        pytest.param(
            "node05", r"|\D+(\d+)|  ( $1 + 1 )  |", "  6  ", id="spaces-outside-parts-are-kept"
        ),
        pytest.param(
            "node05",
            r"|\D+(\d+)|x$1|",
            "x05",
            id="bar-form-without-parts-substitutes-groups-unlike-xcat",
        ),
        pytest.param("node05", r"|node(\d)(\d)|($1*10+$2)|", "5", id="two-groups-in-one-part"),
        pytest.param(
            "node05", r"|(x)?node(\d+)|a$1b|", "ab", id="unmatched-group-is-empty-text-unlike-xcat"
        ),
        pytest.param(
            "node05", r"|\D+(\d+)|a\b|", "a\\b", id="backslashes-in-the-replacement-are-literal"
        ),
    ],
)
def test_value_for_a_node(node: str, value: str, expected: str) -> None:
    assert evaluate(node, value) == expected


@pytest.mark.parametrize(
    ("node", "value"),
    [
        pytest.param("cn3", r"/cn(\d+)//", id="slash-form-replacing-everything"),
        pytest.param("cn3", r"|(.*)||", id="bar-form-replacing-everything"),
        pytest.param("cn3", "||", id="empty-easy-regex"),
        pytest.param("cn3", "", id="empty-plain-value"),
    ],
)
def test_empty_result_means_undefined(node: str, value: str) -> None:
    assert evaluate(node, value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("/a/b/", True, id="slash-form"),
        pytest.param("/tftpboot/xcat/", True, id="path-with-three-slashes-is-a-regex-as-in-xcat"),
        pytest.param("/a/b/c/", False, id="four-slashes-is-plain"),
        pytest.param("/install/", False, id="two-slashes-is-plain"),
        pytest.param("|p|r|", True, id="bar-form"),
        pytest.param("|r|", True, id="easy-regex"),
        pytest.param("||", True, id="empty-easy-regex"),
        pytest.param("|", False, id="single-bar-is-plain"),
        pytest.param("|a", False, id="unclosed-bar-is-plain"),
        pytest.param("sn1,sn2", False, id="service-node-list-is-plain"),
        pytest.param("", False, id="empty-is-plain"),
    ],
)
def test_regex_forms_are_recognised(value: str, expected: bool) -> None:
    assert is_regex_value(value) is expected


@pytest.mark.parametrize(
    ("node", "value", "fragment"),
    [
        pytest.param("cn3", "/cn(/x/", "bad pattern", id="pattern-that-does-not-compile"),
        pytest.param("cn3", "|[|x|", "bad pattern", id="bar-pattern-that-does-not-compile"),
        pytest.param("cn3", "//x/", "empty pattern", id="empty-pattern"),
        pytest.param("cn3", "||x|", "empty pattern", id="empty-bar-pattern"),
        pytest.param("cn3", r"|\D+(\d+)|a(1+2|", "unclosed '('", id="unclosed-parenthesis"),
        pytest.param("cn3", r"|\D+(\d+)|a)b|", "unbalanced ')'", id="stray-closing-parenthesis"),
        pytest.param("cn3", r"|\D+(\d+)|(1+)|", "missing operand", id="operator-without-operand"),
        pytest.param("cn3", r"|\D+(\d+)|()|", "missing operand", id="empty-part"),
        pytest.param(
            "cn3", r"|\D+(\d+)|(1 2)|", "unexpected '2'", id="two-numbers-without-operator"
        ),
        pytest.param(
            "cn3", r"|\D+(\d+)|(2**3)|", "unexpected '**'", id="power-is-not-arithmetic-here"
        ),
        pytest.param("cn3", r"|\D+(\d+)|(5--3)|", "unexpected '--'", id="perl-decrement"),
        pytest.param(
            "cn3", r"|\D+(\d+)|(system(1))|", "'system' is not allowed", id="function-call"
        ),
        pytest.param("cn3", r"|\D+(\d+)|(`id`)|", "'`' is not allowed", id="backticks"),
        pytest.param(
            "cn3", r"|\D+(\d+)|(mknum($1))|", "'mknum' is not allowed", id="xcat-helper-function"
        ),
        pytest.param("cn3", r"|\D+(\d+)|(010)|", "leading zero", id="octal-literal"),
        pytest.param(
            "cn3",
            r"|\D+(\d+)|($2+1)|",
            "$2 but the pattern has 1 group",
            id="group-beyond-the-pattern",
        ),
        pytest.param(
            "cn3",
            r"/cn(\d+)/x$2/",
            "$2 but the pattern has 1 group",
            id="text-group-beyond-the-pattern",
        ),
        pytest.param(
            "cn3",
            r"|\D+(\d+)|(sprintf('%s',$1))|",
            "unsupported sprintf",
            id="sprintf-string-format",
        ),
        pytest.param(
            "cn3", r"|\D+(\d+)|(sprintf('%d'))|", "does not match", id="sprintf-missing-argument"
        ),
        pytest.param(
            "cn3", r"|\D+(\d+)|(sprintf($1))|", "quoted format", id="sprintf-without-format"
        ),
        pytest.param(
            "cn3",
            r'|\D+(\d+)|(sprintf("%d$x",1))|',
            "quoted format",
            id="sprintf-interpolating-format",
        ),
        pytest.param(
            "cn3",
            r"|\D+(\d+)|(1+sprintf('%d',1))|",
            "'sprintf' is not allowed",
            id="sprintf-in-arithmetic",
        ),
        pytest.param("node05", r"|\D+(\d+)|(5/0)|", "division by zero", id="division-by-zero"),
        pytest.param(
            "node05",
            r"|\D+(\d+)|(5%($1-5))|",
            "division by zero",
            id="modulo-by-zero-for-this-node",
        ),
        pytest.param(
            "node05", r"|(\D+)\d+|($1+1)|", "'node', not a number", id="non-numeric-group"
        ),
        pytest.param(
            "node05",
            r"|(x)?node\d+|($1+1)|",
            "$1 matched nothing",
            id="unmatched-group-in-arithmetic",
        ),
        pytest.param(
            "mgmt",
            r"|10.0.0.($1+0)|",
            "$1 matched nothing",
            id="easy-regex-on-a-name-without-number",
        ),
    ],
)
def test_malformed_value_is_an_error_naming_it(node: str, value: str, fragment: str) -> None:
    with pytest.raises(RegexAttributeError) as caught:
        evaluate(node, value)
    assert caught.value.value == value
    assert repr(value) in str(caught.value)
    assert fragment in str(caught.value)


def test_error_for_one_node_names_the_node() -> None:
    with pytest.raises(RegexAttributeError, match="for node 'node05'"):
        evaluate("node05", r"|\D+(\d+)|(5%($1-5))|")


def test_docstring_examples_hold() -> None:
    assert doctest.testmod(regexattr).failed == 0


def test_same_value_for_100000_nodes_is_fast() -> None:
    names = [f"node{i:05d}" for i in range(1, 100_001)]
    start = time.perf_counter()
    values = [evaluate(name, SN_FORMULA) for name in names]
    elapsed = time.perf_counter() - start
    assert values[0] == "sn1" and values[-1] == "sn10000"
    assert elapsed < 1.0, f"100,000 evaluations took {elapsed:.2f} s"
