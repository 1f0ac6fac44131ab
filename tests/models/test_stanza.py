"""Stanza files: mkdef/chdef -z input is parsed, lsdef -z output rendered, and they round-trip."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snflow.models import stanza
from snflow.models.errors import StanzaError
from snflow.models.stanza import StanzaObject, parse, render

LSDEF_TESTNODE = "# <xCAT data object stanza file>\n\ntestnode:\n    objtype=node\n    groups=all\n"


def node(name: str, *attrs: tuple[str, str], objtype: str = "node") -> StanzaObject:
    return StanzaObject(name=name, objtype=objtype, attrs=tuple(attrs))


def test_render_matches_lsdef_z_verbatim() -> None:
    assert render([node("testnode", ("groups", "all"))]) == LSDEF_TESTNODE


def test_render_of_nothing_is_the_header_line() -> None:
    assert render([]) == "# <xCAT data object stanza file>\n"


def test_render_keeps_the_given_order_of_objects_and_attributes() -> None:
    objects = [node("b", ("z", "1"), ("a", "2")), node("a", objtype="group")]
    assert render(objects) == (
        "# <xCAT data object stanza file>\n\nb:\n    objtype=node\n    z=1\n    a=2\n"
        "\na:\n    objtype=group\n"
    )


def test_lsdef_output_edited_with_sed_reads_back_as_a_new_node() -> None:
    text = render([node("x", ("groups", "all,compute"), ("ip", "10.0.0.1"))]).replace("x:", "y:")
    assert parse(text) == [node("y", ("groups", "all,compute"), ("ip", "10.0.0.1"))]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        pytest.param("all", "all", id="plain-value-is-raw"),
        pytest.param("a b", "a b", id="inner-space-is-raw"),
        pytest.param("x=y=z", "x=y=z", id="equals-signs-are-raw"),
        pytest.param("#1", "#1", id="hash-is-raw"),
        pytest.param("fd59::1/64", "fd59::1/64", id="inner-colons-are-raw"),
        pytest.param('say "hi"', 'say "hi"', id="inner-quotes-are-raw"),
        pytest.param('"x', '"x', id="one-quote-is-raw"),
        pytest.param(
            "|\\D+(\\d+)|sn(($1-1)/10+1)|", "|\\D+(\\d+)|sn(($1-1)/10+1)|", id="regex-is-raw"
        ),
        pytest.param("", "", id="empty-value-is-raw"),
        pytest.param(" x", '" x"', id="leading-space-is-quoted"),
        pytest.param("x\t", '"x\t"', id="trailing-tab-is-quoted"),
        pytest.param('"x"', '""x""', id="surrounding-quotes-are-quoted"),
        pytest.param("fd59::", "fd59::", id="trailing-colon-is-raw"),
    ],
)
def test_render_writes_values_raw_unless_they_would_not_read_back(value: str, written: str) -> None:
    text = render([node("n1", ("note", value))])
    assert text.endswith(f"    note={written}\n")
    assert parse(text) == [node("n1", ("note", value))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(LSDEF_TESTNODE, [node("testnode", ("groups", "all"))], id="lsdef-output"),
        pytest.param("", [], id="empty-text"),
        pytest.param("# <xCAT data object stanza file>\n", [], id="header-line-only"),
        pytest.param(
            "\n  # comment\nn1:\n\n  objtype=node\n   # another\n",
            [node("n1")],
            id="blank-and-comment-lines-are-skipped",
        ),
        pytest.param(
            "n1:\r\n  objtype=node\r\n  ip=10.0.0.1\r\n",
            [node("n1", ("ip", "10.0.0.1"))],
            id="crlf-lines",
        ),
        pytest.param("  n1 :   \nobjtype=node\n", [node("n1")], id="header-with-spaces-around"),
        pytest.param(
            "fd59::/64:\n  objtype=network\n  net=fd59::\n",
            [node("fd59::/64", ("net", "fd59::"), objtype="network")],
            id="ipv6-network-name-is-everything-before-the-last-colon",
        ),
        pytest.param(
            "n1:\n  objtype = node\n  groups  =  all , compute  \n",
            [node("n1", ("groups", "all , compute"))],
            id="spaces-around-equals-and-value-are-trimmed",
        ),
        pytest.param(
            'n1:\n  objtype="node"\n  note=" a b "\n  other=""x""\n  half="y\n',
            [node("n1", ("note", " a b "), ("other", '"x"'), ("half", '"y'))],
            id="one-pair-of-surrounding-quotes-is-removed",
        ),
        pytest.param(
            "n1:\n  objtype=node\n  mac=00:11:22:33:44:55\n  x=a=b\n",
            [node("n1", ("mac", "00:11:22:33:44:55"), ("x", "a=b"))],
            id="value-keeps-colons-and-equals",
        ),
        pytest.param(
            "n1:\n  note=first\n  objtype=node\n",
            [node("n1", ("note", "first"))],
            id="objtype-may-come-after-other-attributes",
        ),
        pytest.param(
            "n2:\n objtype=node\nn1:\n objtype=node\n",
            [node("n2"), node("n1")],
            id="objects-stay-in-file-order",
        ),
        pytest.param(
            "n1:\n objtype=node\nn1:\n objtype=group\n",
            [node("n1"), node("n1", objtype="group")],
            id="same-name-with-another-type-is-another-object",
        ),
        pytest.param(
            "mydefaultnode:\n objtype=node\n",
            [node("mydefaultnode")],
            id="name-containing-default-is-an-object",
        ),
    ],
)
def test_parse(text: str, expected: list[StanzaObject]) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "default-node:\n groups=all\nn1:\n objtype=node\n ip=1\n",
            [node("n1", ("groups", "all"), ("ip", "1"))],
            id="defaults-come-first-in-the-attributes",
        ),
        pytest.param(
            "default-node:\n groups=all\nn1:\n groups=compute\n objtype=node\n",
            [node("n1", ("groups", "compute"))],
            id="a-value-in-the-stanza-wins-wherever-it-is",
        ),
        pytest.param(
            "n0:\n objtype=node\ndefault-node:\n groups=all\nn1:\n objtype=node\n",
            [node("n0"), node("n1", ("groups", "all"))],
            id="defaults-apply-only-to-later-stanzas",
        ),
        pytest.param(
            "default-node:\n groups=all\ng1:\n objtype=group\n",
            [node("g1", objtype="group")],
            id="defaults-apply-only-to-their-type",
        ),
        pytest.param(
            "default-node:\n groups=all\ndefault-node:\n os=rhels9\nn1:\n objtype=node\n",
            [node("n1", ("groups", "all"), ("os", "rhels9"))],
            id="defaults-accumulate",
        ),
        pytest.param(
            "default-node:\n groups=all\n os=x\nn1:\n objtype=node\n"
            "default-node:\n groups=\nn2:\n objtype=node\n",
            [node("n1", ("groups", "all"), ("os", "x")), node("n2", ("os", "x"))],
            id="an-empty-default-value-clears-that-default",
        ),
        pytest.param(
            "default-node:\n groups=all\ndefault-node:\n groups=compute\nn1:\n objtype=node\n",
            [node("n1", ("groups", "compute"))],
            id="a-later-default-replaces-an-earlier-one",
        ),
    ],
)
def test_default_stanzas(text: str, expected: list[StanzaObject]) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        pytest.param("objtype=node\n", 1, "before any", id="attribute-before-any-header"),
        pytest.param(
            "# head\n\n  groups=all\nn1:\n",
            3,
            "before any",
            id="attribute-after-comments-before-header",
        ),
        pytest.param(
            "n1:\n objtype=node\nmy node=1:\n", 3, "cannot contain '='", id="header-with-equals"
        ),
        pytest.param("=b:\n", 1, "cannot contain '='", id="header-that-is-only-equals"),
        pytest.param("a=b:\n", 1, "before any", id="attribute-ending-in-colon-before-any-header"),
        pytest.param(
            "n1: extra\n objtype=node\n",
            1,
            "text after the colon",
            id="header-with-text-after-colon",
        ),
        pytest.param(
            "n1:\n objtype=node\nn2: objtype=node\n",
            3,
            "text after the colon",
            id="header-and-attribute-on-one-line",
        ),
        pytest.param(
            "n1:\n objtype=node\n xcatmasterMS02\n",
            3,
            "expected '<object name>:'",
            id="neither-line",
        ),
        pytest.param(
            "n1:\n objtype=node\n =x\n", 3, "invalid attribute name", id="missing-attribute-name"
        ),
        pytest.param(
            "n1:\n objtype=node\n my attr=x\n",
            3,
            "invalid attribute name",
            id="attribute-name-with-space",
        ),
        pytest.param(":\n objtype=node\n", 1, "missing object name", id="header-without-name"),
        pytest.param(
            "default-:\n groups=all\n", 1, "missing object type", id="default-header-without-type"
        ),
        pytest.param(
            "default-node:\n objtype=node\n",
            2,
            "cannot set objtype",
            id="objtype-in-default-stanza",
        ),
        pytest.param(
            "n1:\n objtype=node\n groups=a\n groups=b\n",
            4,
            "'groups' is set twice",
            id="duplicate-attribute",
        ),
        pytest.param(
            "n1:\n objtype=node\n objtype=group\n",
            3,
            "'objtype' is set twice",
            id="duplicate-objtype",
        ),
        pytest.param(
            "default-node:\n groups=a\n groups=b\n",
            3,
            "'groups' is set twice",
            id="duplicate-default-attribute",
        ),
        pytest.param(
            "n1:\n objtype=node\nn1:\n objtype=node\n", 3, "a second stanza", id="duplicate-object"
        ),
        pytest.param("n1:\n objtype=\n", 1, "No objtype value", id="empty-objtype"),
    ],
)
def test_unreadable_line_is_an_error_with_its_line_number(
    text: str, line: int, fragment: str
) -> None:
    with pytest.raises(StanzaError) as caught:
        parse(text)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"line {line}: ")
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("text", "line", "name"),
    [
        pytest.param("\nn1:\n  groups=all\n", 2, "n1", id="at-the-end-of-the-text"),
        pytest.param(
            "n1:\n objtype=node\nn2:\n groups=all\nn3:\n objtype=node\n",
            3,
            "n2",
            id="before-the-next-header",
        ),
        pytest.param("n1:\n", 1, "n1", id="header-without-lines"),
    ],
)
def test_stanza_without_objtype_is_an_error_at_its_header(text: str, line: int, name: str) -> None:
    with pytest.raises(StanzaError) as caught:
        parse(text)
    assert caught.value.line == line
    assert str(caught.value) == (
        f"line {line}: No objtype value was specified for '{name}'. "
        "Cannot create object definition."
    )


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        pytest.param(node("n1", ("note", "a\nb")), "has a newline", id="value-with-newline"),
        pytest.param(node(""), "the name is empty", id="empty-name"),
        pytest.param(node(" n1"), "surrounding space", id="name-with-leading-space"),
        pytest.param(node("a=b"), "'='", id="name-with-equals"),
        pytest.param(node("#n1"), "starting with '#'", id="name-read-as-a-comment"),
        pytest.param(node("default-x"), "'default-'", id="name-read-as-a-default-stanza"),
        pytest.param(node("n1", objtype=""), "objtype is empty", id="empty-objtype"),
        pytest.param(node("n1", ("a b", "1")), "invalid attribute name", id="attribute-with-space"),
        pytest.param(node("n1", ("a:b", "1")), "invalid attribute name", id="attribute-with-colon"),
        pytest.param(node("n1", ("", "1")), "invalid attribute name", id="empty-attribute"),
        pytest.param(
            node("n1", ("objtype", "x")), "given twice", id="objtype-among-the-attributes"
        ),
        pytest.param(node("n1", ("a", "1"), ("a", "2")), "given twice", id="duplicate-attribute"),
    ],
)
def test_render_refuses_what_would_not_read_back(obj: StanzaObject, fragment: str) -> None:
    with pytest.raises(StanzaError, match="cannot write") as caught:
        render([obj])
    assert fragment in str(caught.value)


def test_render_refuses_the_same_object_twice() -> None:
    with pytest.raises(StanzaError, match="given twice"):
        render([node("n1"), node("n1")])


def test_docstring_examples_hold() -> None:
    assert doctest.testmod(stanza).failed == 0


# Generated objects: names as xCAT allows them (plus IPv6/IPv4-like network names),
# attribute names [a-z][a-z0-9.]*, and any printable one-line text as values.
_NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."
_names = st.one_of(
    st.text(_NAME_CHARS, min_size=1, max_size=12),
    st.builds(
        lambda words, prefix: ":".join(words) + f"::/{prefix}",
        st.lists(st.from_regex(r"[0-9a-f]{1,4}", fullmatch=True), min_size=1, max_size=4),
        st.integers(min_value=0, max_value=128),
    ),
).filter(lambda name: not name.startswith("default-"))
_attr_names = st.from_regex(r"[a-z][a-z0-9.]{0,10}", fullmatch=True).filter(
    lambda a: a != "objtype"
)
_values = st.one_of(
    st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=20),
    st.text(' \t=:#"ab', max_size=8),
)
_objects = st.lists(
    st.builds(
        StanzaObject,
        name=_names,
        objtype=st.sampled_from(["node", "group", "network", "osimage", "site"]),
        attrs=st.lists(
            st.tuples(_attr_names, _values), max_size=6, unique_by=lambda pair: pair[0]
        ).map(tuple),
    ),
    max_size=5,
    unique_by=lambda obj: (obj.name, obj.objtype),
)


@given(_objects)
def test_parse_reads_back_what_render_writes(objects: list[StanzaObject]) -> None:
    assert parse(render(objects)) == objects


@given(_objects)
def test_render_of_parsed_output_is_the_same_text(objects: list[StanzaObject]) -> None:
    text = render(objects)
    assert render(parse(text)) == text
