"""Noderange expansion: xCAT's verified examples, the man page, bad syntax and properties.

The §5 table of ``/work/shared/xcat/xdcp-noderange-defs.md`` was produced by running the real
``NodeRange.pm``; xCAT prints byte order, snflow natural order, so expected nodes are compared
after natural sorting. Missing names are compared exactly, in order.
"""

from __future__ import annotations

import doctest
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from snflow.models import natsort, noderange, selection, static_resolver
from snflow.models.errors import NoderangeError
from snflow.models.noderange import (
    NoderangeResult,
    expand,
    expand_or_raise,
    expand_syntax,
    fold,
    natural_key,
    natural_sorted,
)
from snflow.models.static_resolver import StaticResolver

NODELIST_FILE = "/tmp/nodelist"
NODELIST_TEXT = """#my node list (this line ignored)
^/tmp/foo #ignored
node01    #node comment
node1    #node comment
node2
node10-node12
/sn.*
-node2
"""


def _seq(prefix: str, first: int, last: int) -> str:
    return ",".join(f"{prefix}{i}" for i in range(first, last + 1))


RACK1 = _seq("node", 1, 5)
RACK2 = _seq("node", 6, 12)


def section5_cluster(excludenodes: str = "") -> StaticResolver:
    """The §5 fixture database."""
    nodes: dict[str, str] = {}
    nodes.update(dict.fromkeys(RACK1.split(","), "all,compute,rack1"))
    nodes.update(dict.fromkeys(RACK2.split(","), "all,compute,rack2"))
    nodes.update(dict.fromkeys(["node20", "node100", "node150", "node200"], "all,compute"))
    nodes.update(dict.fromkeys(_seq("n00", 1, 5).split(","), "all,padded"))
    nodes.update(dict.fromkeys(["f1n1", "f1n2", "f1n3", "f2n1", "f2n2", "f2n3"], "all,frames"))
    nodes.update({"sn1": "all,service", "sn2": "all,service", "mgmt": "mn"})
    nodes.update({"node-001-bar": "all,bar", "node-002-bar": "all,bar"})
    return StaticResolver(
        nodes,
        dynamic_groups={"ipmigrp": "mgt==ipmi"},
        defined_groups=["emptygrp", "ipmigrp"],
        attributes={
            "node1": {"nodehm.mgt": "ipmi", "nodehm.cons": "ipmi"},
            "node2": {"nodehm.mgt": "ipmi", "nodehm.cons": "hmc"},
            "node3": {"nodehm.mgt": "hmc", "nodehm.cons": "hmc"},
        },
        columns=["nodelist.status"],
        excludenodes=excludenodes,
        files={NODELIST_FILE: NODELIST_TEXT},
    )


CLUSTER = section5_cluster()
NO_VERIFY: dict[str, Any] = {"verify": False}


def row(number: str, text: str, nodes: str, missing: str = "", **options: Any) -> Any:
    return pytest.param(text, nodes, missing, options, id=f"row{number}-{text}")


SECTION_5 = [
    row("01", "node1,node2,node8", "node1,node2,node8"),
    row("02", "node8,node2,node1,node2", "node1,node2,node8"),
    row("03", "node1-node5", RACK1),
    row("04", "node1:node5", RACK1),
    row("05", "node[1-5]", RACK1),
    row("06", "node[1:5]", RACK1),
    row("07", "node[1,3,5]", "node1,node3,node5"),
    row("08", "node[1-3,10]", "node1,node10,node2,node3"),
    row("09", "node9-node11", "node10,node11,node9"),
    row("10", "n001-n003", "n001,n002,n003"),
    row("11", "n[001-003]", "n001,n002,n003"),
    row("12", "n001+2", "n001,n002,n003"),
    row("13", "f[1-2]n[1-3]", "f1n1,f1n2,f1n3,f2n1,f2n2,f2n3"),
    row("14", "f[1-2]n[2-3]", "f1n2,f1n3,f2n2,f2n3"),
    row("15", "node10+2", "node10,node11,node12"),
    row("16", "10-12", "node10,node11,node12"),
    row("17", "10+2", "node10,node11,node12"),
    row("18", "node1-node10,-node3-node5,node4", "node1,node10,node2,node6,node7,node8,node9"),
    row("19", "node1-node10,-node3,-node5", "node1,node10,node2,node4,node6,node7,node8,node9"),
    row("20", "-node1-node10,rack2", "node11,node12"),
    row("21", "rack1", RACK1),
    row("22", "rack1-rack2", f"{RACK1},{RACK2}"),
    row("23", "rack1@compute", RACK1),
    row("24", "compute@rack1,node20", f"{RACK1},node20"),
    row("25", "node1,node6@rack1", "node1"),
    row("26", "rack1,-node2,@compute", "node1,node3,node4,node5"),
    row("27", "(rack1,rack2)@compute,-node6-node12", RACK1),
    row("28", "rack2,-(node6,node7)", "node10,node11,node12,node8,node9"),
    row("29", "/node1.*", "node1,node10,node100,node11,node12,node150"),
    row("30", "/n00[1-3]", "n001,n002,n003"),
    row("31", "/sn.*", "sn1,sn2"),
    row("32", "/zzz.*", ""),
    row("33", "emptygrp", ""),
    row("34", "ipmigrp", "node1,node2"),
    row("35", "nodehm.mgt==ipmi", "node1,node2"),
    row("36", "mgt==hmc", "node3"),
    row("37", "nodehm.cons=~^h", "node2,node3"),
    row("38", "groups=~rack1", RACK1),
    row("39", "node-001-bar-node-002-bar", "node-001-bar,node-002-bar"),
    row("40", "node-001-bar:node-002-bar", "node-001-bar,node-002-bar"),
    row("41", "nonexist", "", "nonexist"),
    row("42", "node1,nonexist", "node1", "nonexist"),
    row("43", "rack1,-nonexist", RACK1, "nonexist"),
    row("44", "node11-node13", "node11,node12", "node13"),
    row("45", "node01-node03", "", "node01,node02,node03"),
    row("46", "node1-node03", "node1,node2,node3"),
    row("47", "node5-node3", ""),
    row("48", "node1-node3x", "", "node1-node3x"),
    row("49", f"^{NODELIST_FILE}", "node1,node10,node11,node12,node2,sn1,sn2"),
    row("50", '"node1,node2"', "node1,node2"),
    row("51", "~node.*", ""),
    row("52", "newnode[01-03]", "newnode01,newnode02,newnode03", **NO_VERIFY),
    row("53", "c[1-2]f[01-02]", "c1f01,c1f02,c2f01,c2f02", **NO_VERIFY),
    row("54", "node098+3", "node098,node099,node100,node101", **NO_VERIFY),
    row("55a", "nonexist", "nonexist", **NO_VERIFY),
    row("55b", "/node1.*", "/node1.*", **NO_VERIFY),
    row("55c", "a-b-c", "a-b-c", **NO_VERIFY),
    row("56", "rack1", RACK1, **NO_VERIFY),
    row("57", "rack1", "node1,node3,node5", resolver=section5_cluster("node2,node4")),
    row("58", "1-3", "", "abc1def,abc2def,abc3def", prefix="abc", suffix="def"),
]


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split(",")) if text else ()


@pytest.mark.parametrize(("text", "nodes", "missing", "options"), SECTION_5)
def test_every_verified_xcat_example_expands_the_same(
    text: str, nodes: str, missing: str, options: dict[str, Any]
) -> None:
    options = dict(options)
    resolver = options.pop("resolver", CLUSTER)
    result = expand(text, resolver, **options)
    assert result == NoderangeResult(tuple(natural_sorted(_names(nodes))), _names(missing))


# --- the man page (noderange.3) ---------------------------------------------------------


def man_page_cluster() -> StaticResolver:
    """node1..node256 in racks of 64, user1..user4, storage, f1n1..f2n42, group1..group3."""
    nodes: dict[str, list[str]] = {}
    for i in range(1, 257):
        rack = f"rack{(i - 1) // 64 + 1}"
        nodes[f"node{i}"] = ["all", rack, f"group{i % 3 + 1}"] + (["storage"] if i > 250 else [])
    for i in range(1, 5):
        nodes[f"user{i}"] = ["all", "users"]
    for f in (1, 2):
        for n in range(1, 43):
            nodes[f"f{f}n{n}"] = ["all", "frames"]
    attributes = {f"node{i}": {"nodehm.cons": "hmc" if i % 2 else "ipmi"} for i in range(1, 21)}
    return StaticResolver(nodes, attributes=attributes)


MAN = man_page_cluster()


def _nodes(text: str, resolver: StaticResolver = MAN) -> set[str]:
    result = expand(text, resolver)
    assert result.missing == ()
    return set(result.nodes)


def _range(prefix: str, first: int, last: int) -> set[str]:
    return {f"{prefix}{i}" for i in range(first, last + 1)}


ALL = set(MAN.nodes())
PADDED_1_10 = ",".join(f"node{i:02d}" for i in range(1, 11))


def test_man_example_1_excludes_a_range_from_all() -> None:
    assert _nodes("all,-node5-node10") == ALL - _range("node", 5, 10)


def test_man_example_2_exclusion_wins_over_a_later_inclusion() -> None:
    expected = _range("node", 1, 10) - _range("node", 3, 5)
    assert _nodes("node1-node10,-node3-node5,node4") == expected


def test_man_example_3_excludes_single_nodes() -> None:
    assert _nodes("node1-node10,-node3,-node5") == _range("node", 1, 10) - {"node3", "node5"}


def test_exclusion_is_applied_last_whatever_its_position() -> None:
    assert _nodes("-node17-node32,all") == _nodes("all,-node17-node32")
    assert _nodes("-node17-node32,all") == ALL - _range("node", 17, 32)


def test_man_example_5_unions_two_ranges() -> None:
    assert _nodes("node1-node128,user1-user4") == _range("node", 1, 128) | _range("user", 1, 4)


def test_man_example_6_excluded_node_stays_excluded_when_listed() -> None:
    expected = ALL - _range("node", 1, 200) - _range("node", 251, 256)
    assert _nodes("all,-rack1-rack3,-node100-node200,node150,-storage") == expected
    assert "node150" not in expected


def test_man_regex_examples_match_names_that_start_so() -> None:
    assert _nodes("/node[23].*") == {n for n in ALL if n[:5] in ("node2", "node3")}
    assert _nodes("/node[345].*") == {n for n in ALL if n[:5] in ("node3", "node4", "node5")}


def test_man_attribute_examples_select_by_equality_and_regex() -> None:
    hmc = {f"node{i}" for i in range(1, 21, 2)}
    assert _nodes("nodehm.cons==hmc") == hmc
    assert _nodes("nodehm.cons=~hmc") == hmc
    assert _nodes("nodehm.cons=~/^h/") == hmc


def test_man_frame_example_is_a_product_of_two_brackets() -> None:
    assert _nodes("f[1-2]n[1-42]") == {f"f{f}n{n}" for f in (1, 2) for n in range(1, 43)}


def test_man_group_range_and_group_intersection() -> None:
    assert _nodes("group1-group3") == _range("node", 1, 256)
    assert _nodes("group1@group2") == set()
    assert _nodes("group1@rack1") == {f"node{i}" for i in range(1, 65) if i % 3 == 0}


@pytest.mark.parametrize(
    ("forms", "expected"),
    [
        (["node01-node10", "node[01-10]", "node01:node10", "node[01:10]"], PADDED_1_10),
        (["f[1-2]n[1-3]"], "f1n1,f1n2,f1n3,f2n1,f2n2,f2n3"),
        (["node10+3", "10+3", "node[10-13]"], _seq("node", 10, 13)),
        (["10-20"], _seq("node", 10, 20)),
        (["10-15,-13"], "node10,node11,node12,node14,node15"),
    ],
)
def test_man_page_range_forms_are_equivalent(forms: list[str], expected: str) -> None:
    for form in forms:
        assert expand_syntax(form) == tuple(natural_sorted(expected.split(","))), form


# --- semantics in detail ----------------------------------------------------------------


def test_intersection_is_applied_immediately() -> None:
    assert expand("rack1,@rack2,node6", CLUSTER).nodes == ("node6",)


def test_at_binds_tighter_than_comma() -> None:
    assert expand("node6@rack1,node1", CLUSTER).nodes == ("node1",)


def test_parenthesised_exclusion_is_applied_at_once_not_last() -> None:
    assert "node1" in expand("-(node1),rack1", CLUSTER).nodes
    assert "node1" not in expand("-node1,rack1", CLUSTER).nodes


def test_nested_parentheses_are_evaluated_inside_out() -> None:
    assert expand("((rack1,rack2)@(node1,node6,sn1)),sn2", CLUSTER).nodes == (
        "node1",
        "node6",
        "sn2",
    )


def test_a_later_element_of_two_groups_is_not_stripped_as_one() -> None:
    result = expand("(sn1),(node1,node6)@(node6,node7)", CLUSTER)
    assert result == NoderangeResult(("node6", "sn1"), ())


def test_node_names_take_precedence_over_group_names() -> None:
    resolver = StaticResolver({"alpha": ["beta"], "beta": ["other"]})
    assert expand("beta", resolver).nodes == ("beta",)


def test_whitespace_is_not_trimmed() -> None:
    assert expand("node1 ,node2", CLUSTER) == NoderangeResult(("node2",), ("node1 ",))


def test_empty_elements_and_empty_noderange_are_fine() -> None:
    assert expand(",node1,,node2,", CLUSTER).nodes == ("node1", "node2")
    assert expand("", CLUSTER) == NoderangeResult((), ())


def test_operator_without_operand_applies_to_nothing() -> None:
    assert expand("node1,-,node2", CLUSTER).nodes == ("node1", "node2")


def test_left_side_longer_than_right_is_an_empty_padded_range() -> None:
    assert expand("n01-n3", CLUSTER) == NoderangeResult((), ())


def test_descending_ranges_are_empty_padded_or_not() -> None:
    assert expand_syntax("n05-n03") == ()
    assert expand_syntax("n5-n3") == ()


def test_padded_ranges_widen_when_they_carry() -> None:
    assert expand_syntax("n098-n101") == ("n098", "n099", "n100", "n101")
    assert expand_syntax("n08:n100")[-3:] == ("n98", "n99", "n100")


def test_increment_keeps_a_domain_suffix() -> None:
    assert expand_syntax("node1.cluster+2") == ("node1.cluster", "node2.cluster", "node3.cluster")


def test_increment_without_digits_is_a_missing_name() -> None:
    assert expand("abc+3", CLUSTER) == NoderangeResult((), ("abc+3",))


def test_mismatched_range_sides_are_one_missing_name() -> None:
    assert expand("node1-sn2", CLUSTER).missing == ("node1-sn2",)
    assert expand("node1-node2-x", CLUSTER).missing == ("node1-node2-x",)


def test_hyphenated_node_names_are_names_not_ranges() -> None:
    assert expand("node-001-bar", CLUSTER).nodes == ("node-001-bar",)


def test_non_numeric_brackets_are_not_ranges() -> None:
    assert expand("x[a-c]", CLUSTER).missing == ("xa-xc",)
    assert expand_syntax("x[a-c]") == ("xa-xc",)


def test_regex_matches_whole_names_only() -> None:
    assert expand("/node1|node2", CLUSTER).nodes == ("node1", "node2")


def test_tilde_without_operator_selects_nothing_silently() -> None:
    assert expand("~node.*", CLUSTER) == NoderangeResult((), ())


def test_missing_attribute_compares_as_empty() -> None:
    assert "node20" in expand("mgt!=ipmi", CLUSTER).nodes
    assert "node20" in expand("nodelist.status==", CLUSTER).nodes
    assert expand("nodehm.nosuch!=x", CLUSTER) == NoderangeResult((), ())


def test_dynamic_group_skips_nodes_lacking_the_attribute() -> None:
    resolver = StaticResolver(
        {"a1": "all", "a2": "all", "a3": "all"},
        dynamic_groups={"notipmi": "mgt!=ipmi::cons=~/h/"},
        attributes={"a1": {"nodehm.mgt": "hmc", "nodehm.cons": "hmc"}, "a2": {"nodehm.mgt": "x"}},
    )
    assert expand("notipmi", resolver).nodes == ("a1",)


def test_verify_false_passes_unknown_names_through() -> None:
    result = expand("zz1,zz[2-3],node1", CLUSTER, verify=False)
    assert result == NoderangeResult(("node1", "zz1", "zz2", "zz3"), ())


def test_empty_prefix_and_suffix_leave_digits_alone() -> None:
    assert expand("7", CLUSTER, prefix="", suffix="") == NoderangeResult((), ("7",))


def test_file_lines_are_unioned_and_exclusion_does_not_reach_the_file() -> None:
    result = expand(f"rack2,-^{NODELIST_FILE},node3", CLUSTER)
    assert set(result.nodes) == set(RACK2.split(",")) | {"node1", "node2", "node3", "sn1", "sn2"}


def test_only_the_last_file_line_reports_missing_names() -> None:
    resolver = StaticResolver({"a": "all"}, files={"/f": "x1\n# c\nx2\ny1 comment\n"})
    assert expand("zz,^/f,zz2", resolver).missing == ("zz", "y1", "zz2")


def test_file_that_cannot_be_opened_expands_to_nothing() -> None:
    assert expand("^/no/such/file,node1", CLUSTER) == NoderangeResult(("node1",), ())


def test_site_exclusion_reaches_groups_files_and_parentheses() -> None:
    resolver = section5_cluster("node2,rack2,nosuchnode")
    for text in ("rack1", f"^{NODELIST_FILE}", "(rack1,node6)", "rack1@compute"):
        result = expand(text, resolver)
        assert not {"node2", "node6", "node10"} & set(result.nodes), text
        assert result.missing == ()


def test_expand_or_raise_names_every_missing_name() -> None:
    with pytest.raises(NoderangeError) as caught:
        expand_or_raise("node1,nosuch,node13", CLUSTER)
    error = caught.value
    assert str(error) == "Invalid nodes and/or groups in noderange: nosuch,node13"
    assert error.missing == ("nosuch", "node13")
    assert error.part == "node1,nosuch,node13"
    assert expand_or_raise("rack1,emptygrp", CLUSTER) == tuple(RACK1.split(","))


def test_a_hundred_thousand_node_range_expands_in_natural_order() -> None:
    resolver = StaticResolver({f"cn{i:06d}": "all" for i in range(1, 100_001)})
    result = expand("cn[000001-100000]", resolver)
    assert len(result.nodes) == 100_000
    assert result.nodes[:2] == ("cn000001", "cn000002")
    assert result.missing == ()


def test_module_examples_hold() -> None:
    for module in (noderange, natsort, selection, static_resolver):
        assert doctest.testmod(module).failed == 0


# --- bad syntax -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message", "part"),
    [
        ("(node1,node2", "Unbalanced parentheses in noderange", "(node1,node2"),
        ("rack1,-(node1,(node2)", "Unbalanced parentheses in noderange", "(node1,(node2)"),
        ("node1,node2)", "Unbalanced parentheses in noderange", "node1,node2)"),
        ("node[1-3", "Unbalanced brackets in noderange", "node[1-3"),
        ("node1-3]", "Unbalanced brackets in noderange", "node1-3]"),
        ("node[]", "Empty brackets in noderange", "node[]"),
        ("node[1[2]]", "Nested brackets in noderange", "node[1[2]]"),
        ("[1-3]", "A name must come before '[' in noderange", "[1-3]"),
        ("rack1,/node[", "Invalid regular expression in '/node['", "/node["),
        ("groups=~rack[", "Invalid regular expression in 'groups=~rack['", "groups=~rack["),
    ],
)
def test_bad_syntax_raises_with_the_faulty_fragment(text: str, message: str, part: str) -> None:
    with pytest.raises(NoderangeError) as caught:
        expand(text, CLUSTER)
    assert caught.value.message == message
    assert caught.value.part == part


def test_bad_syntax_in_a_file_or_in_excludenodes_is_reported() -> None:
    resolver = StaticResolver({"a": "all"}, excludenodes="(a", files={"/f": "b,(c\n"})
    with pytest.raises(NoderangeError) as caught:
        expand("^/f", StaticResolver({"a": "all"}, files={"/f": "b,(c\n"}))
    assert caught.value.part == "(c"
    with pytest.raises(NoderangeError) as caught:
        expand("a", resolver)
    assert caught.value.part == "(a"


def test_deep_nesting_is_refused_with_the_innermost_part() -> None:
    text = "(" * 80 + "node1" + ")" * 80
    with pytest.raises(NoderangeError, match="nested too deeply") as caught:
        expand(text, CLUSTER)
    assert caught.value.part.strip("()") == "node1"
    assert caught.value.part in text


def test_a_file_that_includes_itself_is_too_deep() -> None:
    resolver = StaticResolver({"a": "all"}, files={"/f": "a,^/f\n"})
    with pytest.raises(NoderangeError, match="nested too deeply"):
        expand("^/f", resolver)


def test_syntax_expansion_cannot_read_files() -> None:
    with pytest.raises(NoderangeError) as caught:
        expand_syntax("a,^/tmp/nodes")
    assert caught.value.part == "^/tmp/nodes"


# --- properties -------------------------------------------------------------------------

PREFIXES = ("cn", "r", "zz")
Case = tuple[StaticResolver, str, list[tuple[bool, list[str]]]]  # cluster, noderange, terms


def _fmt(prefix: str, number: int, width: int) -> str:
    return f"{prefix}{number:0{width}d}"


@st.composite
def clusters_and_noderanges(draw: st.DrawFn) -> Case:
    """A cluster of ``<prefix><number>`` nodes and a noderange with the names each term means."""
    widths = {p: draw(st.integers(0, 4)) for p in PREFIXES}
    nodes: dict[str, str] = {}
    for prefix in PREFIXES[:2]:
        for number in draw(st.sets(st.integers(0, 120), max_size=40)):
            nodes[_fmt(prefix, number, widths[prefix])] = "all"
    terms: list[tuple[bool, list[str]]] = []
    texts: list[str] = []
    for _ in range(draw(st.integers(1, 5))):
        prefix = draw(st.sampled_from(PREFIXES))
        width = draw(st.sampled_from([widths[prefix], 0, 3]))
        bounds = st.tuples(st.integers(0, 130), st.integers(0, 130))
        pairs = draw(st.lists(bounds, min_size=1, max_size=3))
        kind = draw(st.sampled_from(["name", "dash", "colon", "bracket", "plus"]))
        first, last = pairs[0]
        if kind == "name":
            text, names = _fmt(prefix, first, width), [_fmt(prefix, first, width)]
        elif kind in ("dash", "colon"):
            sep = "-" if kind == "dash" else ":"
            text = _fmt(prefix, first, width) + sep + _fmt(prefix, last, width)
            names = [_fmt(prefix, n, width) for n in range(first, last + 1)]
        elif kind == "plus":
            step = last % 12
            text = f"{_fmt(prefix, first, width)}+{step}"
            names = [_fmt(prefix, n, width) for n in range(first, first + step + 1)]
        else:
            specs, names = [], []
            for a, b in pairs:
                sep = draw(st.sampled_from(["-", ":", ""]))
                specs.append(_fmt("", a, width) + (sep + _fmt("", b, width) if sep else ""))
                names += [_fmt(prefix, n, width) for n in (range(a, b + 1) if sep else [a])]
            text = f"{prefix}[{','.join(specs)}]"
        exclude = draw(st.booleans())
        texts.append(("-" if exclude else "") + text)
        terms.append((exclude, names))
    return StaticResolver(nodes), ",".join(texts), terms


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters_and_noderanges(), st.booleans())
def test_ranges_agree_with_brute_force_generation(case: Case, verify: bool) -> None:
    resolver, text, terms = case
    known = resolver.nodes()
    included: set[str] = set()
    excluded: set[str] = set()
    missing: list[str] = []
    for exclude, names in terms:
        found = {n for n in names if n in known or not verify}
        (excluded if exclude else included).update(found)
        missing += [n for n in names if verify and n not in known]
    expected = NoderangeResult(
        tuple(natural_sorted(included - excluded)), tuple(dict.fromkeys(missing))
    )
    assert expand(text, resolver, verify=verify) == expected


name_texts = st.sampled_from(["cn", "n", "rack-a-", "x_", "ib"])
numbers = st.builds(lambda n, w: f"{n:0{w}d}", st.integers(0, 40), st.integers(0, 3))
node_names = st.builds(
    lambda head, first, mid, second, tail: head + first + mid + second + tail,
    name_texts,
    numbers,
    st.sampled_from(["", "n", "-ib-", "p"]),
    st.one_of(st.just(""), numbers),
    st.sampled_from(["", "b", "-eth-"]),
)


@settings(deadline=None)
@given(st.lists(node_names | st.sampled_from(["mgmt", "sn-a-b"]), max_size=60))
def test_fold_expands_back_to_the_same_names(names: list[str]) -> None:
    assert expand_syntax(fold(names)) == tuple(natural_sorted(set(names)))


def test_fold_keeps_padding_and_folds_grids() -> None:
    assert fold(["cn001", "cn002", "cn003", "cn007", "sn1"]) == "cn[001-003,007],sn1"
    assert fold(["f1n1", "f1n2", "f2n1", "f2n2", "mgmt"]) == "f[1-2]n[1-2],mgmt"
    assert fold(["1a", "2a"]) == "1a,2a"
    assert fold([]) == ""


printable_names = st.text(alphabet=string.ascii_letters[:6] + string.digits + "-._", max_size=12)


@given(st.lists(printable_names, max_size=30))
def test_natural_sorted_is_the_order_of_natural_key(names: list[str]) -> None:
    assert natural_sorted(names) == sorted(names, key=natural_key)
    assert natural_sorted(names) == natural_sorted(reversed(names))


@given(printable_names, printable_names)
def test_natural_key_is_a_total_order(a: str, b: str) -> None:
    assert (natural_key(a) == natural_key(b)) == (a == b)


@given(
    st.sampled_from(["node", "cn-", "x"]),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.integers(0, 7),
    st.integers(0, 7),
    st.sampled_from(["", "b", "-ib"]),
)
def test_natural_order_follows_the_numbers(
    prefix: str, m: int, n: int, mw: int, nw: int, suffix: str
) -> None:
    assume(m != n)
    a, b = f"{prefix}{m:0{mw}d}{suffix}", f"{prefix}{n:0{nw}d}{suffix}"
    assert (natural_key(a) < natural_key(b)) == (m < n)
    assert natural_sorted([b, a]) == ([a, b] if m < n else [b, a])


def test_natural_sorted_handles_names_it_cannot_encode() -> None:
    long_number = "9" * 40
    names = [f"a{long_number}", "a10", "b\x01", "b", "a2"]
    assert natural_sorted(names) == ["a2", "a10", f"a{long_number}", "b", "b\x01"]


def test_natural_order_puts_node2_before_node10() -> None:
    assert natural_sorted(["node10", "node2", "node1", "n01", "n1", "sn1"]) == [
        "n01",
        "n1",
        "node1",
        "node2",
        "node10",
        "sn1",
    ]
