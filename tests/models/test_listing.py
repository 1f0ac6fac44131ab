"""lsdef and nodels logic (models/listing.py): pure formatting, then queries on a database."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import pytest
from sqlalchemy.engine import Connection

from snflow.models import db
from snflow.models.cluster import ClusterView
from snflow.models.errors import DefinitionError, NoderangeError
from snflow.models.listing import (
    Definition,
    LsdefRequest,
    format_compressed,
    format_long,
    format_names,
    list_definitions,
    list_nodes,
    stanza_objects,
)
from snflow.models.report import CommandReport
from snflow.models.schema import TABLES

CLUSTER: dict[str, list[dict[str, str]]] = {
    "site": [{"key": "domain", "value": "cluster.com"}, {"key": "master", "value": "10.0.0.1"}],
    "nodelist": [
        {"node": "cn1", "groups": "compute,sn1group,all"},
        {"node": "cn10", "groups": "compute,sn2group,all"},
        {"node": "cn2", "groups": "compute,sn1group,all"},
        {"node": "sn1", "groups": "service,all"},
        {"node": "hid1", "groups": "all", "hidden": "1"},
    ],
    "nodegroup": [
        {"groupname": "sn1group", "grouptype": "static", "members": "static"},
        {
            "groupname": "ipmigrp",
            "grouptype": "dynamic",
            "members": "dynamic",
            "wherevals": "mgt==ipmi",
        },
        {"groupname": "emptygrp", "grouptype": "static", "members": "static"},
    ],
    "noderes": [
        {"node": "compute", "servicenode": "sn1,sn2", "xcatmaster": "sn1b"},
        {"node": "cn10", "servicenode": "sn2,sn1", "xcatmaster": "sn2b"},
        {"node": "sn1group", "tftpserver": "sn1b"},
    ],
    "nodehm": [
        {"node": "cn1", "mgt": "ipmi"},
        {"node": "cn2", "mgt": "ipmi"},
        {"node": "cn10", "mgt": "hmc"},
    ],
    "hosts": [{"node": "compute", "ip": "|\\D+(\\d+)|10.0.0.($1+0)|"}],
    "postscripts": [
        {
            "node": "xcatdefaults",
            "postscripts": "syslog,remoteshell,syncfiles",
            "postbootscripts": "otherpkgs",
        },
        {"node": "cn1", "postscripts": "mkresolvconf"},
    ],
    "networks": [
        {"net": "10.0.0.0", "mask": "255.0.0.0", "netname": "net_a", "gateway": "10.0.0.254"}
    ],
}


def seed(url: str, data: Mapping[str, Sequence[Mapping[str, str]]]) -> None:
    """Insert rows straight into xCAT's tables, in one transaction."""
    with db.transaction(url) as conn:
        for table, rows in data.items():
            for row in rows:  # one by one: rows set different columns
                conn.execute(TABLES[table].insert(), dict(row))


@pytest.fixture
def conn(db_url: str) -> Iterator[Connection]:
    seed(db_url, CLUSTER)
    with db.read_connection(db_url) as connection:
        yield connection


def lsdef(conn: Connection, **fields: object) -> CommandReport:
    return list_definitions(ClusterView(conn), LsdefRequest(**fields))


def texts(report: CommandReport, level: str) -> list[str]:
    return [m.text for m in report.messages if m.level == level]


# --- pure formatting ------------------------------------------------------------------------
NODE = Definition("cn1", "node", {"groups": "all", "mgt": "ipmi", "arch": ""})
GROUP = Definition("g", "group", {"grouptype": "static", "members": ""})
DYNAMIC = Definition(
    "d", "group", {"grouptype": "dynamic", "members": "cn1", "wherevals": "mgt==ipmi"}
)


def test_names_are_listed_with_their_type_after_two_spaces() -> None:
    assert format_names([NODE, GROUP]) == ["cn1  (node)", "g  (group)"]


def test_names_of_all_types_use_one_space() -> None:
    assert format_names([NODE], one_space=True) == ["cn1 (node)"]


def test_long_format_shows_non_empty_attributes_sorted() -> None:
    assert format_long([NODE]) == ["Object name: cn1", "    groups=all", "    mgt=ipmi"]


def test_long_format_always_shows_group_members() -> None:
    assert format_long([GROUP]) == ["Object name: g", "    grouptype=static", "    members="]


def test_long_format_names_the_type_when_several_types_are_listed() -> None:
    assert format_long([NODE], ["mgt"], with_type=True) == [
        "Object name: cn1  (node)",
        "    mgt=ipmi",
    ]


def test_listed_attributes_are_shown_sorted_even_when_empty() -> None:
    assert format_long([NODE], ["mgt", "arch", "os"]) == [
        "Object name: cn1",
        "    arch=",
        "    mgt=ipmi",
        "    os=",
    ]


def test_compressed_format_prefixes_each_attribute_with_the_name() -> None:
    assert format_compressed([NODE, NODE], ["mgt"]) == ["cn1: mgt=ipmi", "cn1: mgt=ipmi"]


def test_stanza_objects_carry_non_empty_attributes_and_static_members() -> None:
    (node, group) = stanza_objects(
        [NODE, Definition("g", "group", {"grouptype": "static", "members": "cn1,cn2"})]
    )
    assert (node.name, node.objtype, node.attrs) == (
        "cn1",
        "node",
        (("groups", "all"), ("mgt", "ipmi")),
    )
    assert group.attrs == (("grouptype", "static"), ("members", "cn1,cn2"))


def test_stanza_of_a_dynamic_group_carries_wherevals_not_members() -> None:
    (stanza,) = stanza_objects([DYNAMIC])
    assert stanza.attrs == (("grouptype", "dynamic"), ("wherevals", "mgt==ipmi"))


# --- lsdef on a database --------------------------------------------------------------------
def test_lsdef_without_arguments_lists_visible_node_names_in_natural_order(conn) -> None:
    report = lsdef(conn)
    assert texts(report, "info") == ["cn1  (node)\ncn2  (node)\ncn10  (node)\nsn1  (node)"]
    assert not report.failed


def test_hidden_nodes_are_listed_with_show_hidden(conn) -> None:
    assert "hid1  (node)" in texts(lsdef(conn, show_hidden=True), "info")[0]


def test_node_attributes_are_inherited_from_groups_and_regex_values_evaluated(conn) -> None:
    (out,) = texts(lsdef(conn, objects="cn10"), "info")
    assert out.splitlines() == [
        "Object name: cn10",
        "    groups=compute,sn2group,all",
        "    ip=10.0.0.10",
        "    mgt=hmc",
        "    postbootscripts=otherpkgs",
        "    postscripts=syslog,remoteshell,syncfiles",
        "    servicenode=sn2,sn1",
        "    xcatmaster=sn2b",
    ]


def test_node_postscripts_follow_the_xcatdefaults_ones(conn) -> None:
    (out,) = texts(lsdef(conn, objects="cn1", attrs="postscripts"), "info")
    assert out == "Object name: cn1\n    postscripts=syslog,remoteshell,syncfiles,mkresolvconf"


def test_group_objects_show_their_own_attributes_and_computed_members(conn) -> None:
    (out,) = texts(lsdef(conn, types="group", objects="sn1group,ipmigrp"), "info")
    assert out.splitlines() == [
        "Object name: ipmigrp",
        "    grouptype=dynamic",
        "    members=cn1,cn2",
        "    wherevals=mgt==ipmi",
        "Object name: sn1group",
        "    grouptype=static",
        "    members=cn1,cn2",
        "    tftpserver=sn1b",
    ]


def test_every_group_name_is_listed_including_those_only_in_nodelist(conn) -> None:
    (out,) = texts(lsdef(conn, types="group"), "info")
    assert [line.split()[0] for line in out.splitlines()] == [
        "all",
        "compute",
        "emptygrp",
        "ipmigrp",
        "service",
        "sn1group",
        "sn2group",
    ]


def test_where_filters_objects_and_a_missing_value_never_matches(conn) -> None:
    assert texts(lsdef(conn, where=("mgt!=ipmi",)), "info") == ["cn10  (node)"]
    (out,) = texts(lsdef(conn, where=("groups=~sn1", "mgt==ipmi"), attrs="mgt"), "info")
    assert out.splitlines() == [
        "Object name: cn1",
        "    mgt=ipmi",
        "Object name: cn2",
        "    mgt=ipmi",
    ]


def test_where_on_an_unknown_attribute_is_an_error(conn) -> None:
    with pytest.raises(DefinitionError, match="'bogus' is not a valid attribute name"):
        lsdef(conn, where=("bogus==1",))


def test_an_invalid_listed_attribute_is_an_error_and_the_others_are_shown(conn) -> None:
    report = lsdef(conn, objects="cn1", attrs="bogus,mgt")
    assert texts(report, "error") == [
        "'bogus' is not a valid attribute name for an object type of 'node'."
    ]
    assert texts(report, "info") == ["Object name: cn1\n    mgt=ipmi"]


def test_unknown_objects_are_errors_and_the_known_ones_still_shown(conn) -> None:
    report = lsdef(conn, objects="cn1,nosuch", attrs="mgt")
    assert texts(report, "error") == ["Could not find an object named 'nosuch' of type 'node'."]
    assert texts(report, "info") == ["Object name: cn1\n    mgt=ipmi"]


def test_an_empty_group_as_noderange_is_an_error(conn) -> None:
    with pytest.raises(
        DefinitionError, match=r"No node in 'emptygrp', check the noderange syntax\."
    ):
        lsdef(conn, objects="emptygrp")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"types": "osimage"}, "Type 'osimage' is not a valid xCAT object type."),
        ({"compress": True}, "The flags '-c' and '-i' must be used together."),
        ({"long": True, "short": True}, "The flags '-l' and '-s' cannot be used together."),
        ({"all_types": True, "types": "node"}, "The flags '-a' and '-t' cannot be used together."),
    ],
)
def test_bad_flag_combinations_are_errors(conn, fields: dict, message: str) -> None:
    with pytest.raises(DefinitionError) as err:
        lsdef(conn, **fields)
    assert str(err.value) == message


def test_networks_are_objects_named_by_netname(conn) -> None:
    (out,) = texts(lsdef(conn, types="network", objects="net_a"), "info")
    assert out.splitlines() == [
        "Object name: net_a",
        "    gateway=10.0.0.254",
        "    mask=255.0.0.0",
        "    net=10.0.0.0",
    ]


def test_the_site_object_has_every_site_key(conn) -> None:
    (out,) = texts(lsdef(conn, types="site", long=True), "info")
    assert out == "Object name: clustersite\n    domain=cluster.com\n    master=10.0.0.1"


def test_nothing_to_display_is_said_without_failing(db_url: str) -> None:
    with db.read_connection(db_url) as connection:
        report = lsdef(connection)
    assert texts(report, "info") == ["Could not find any objects to display."]
    assert not report.failed


def test_stanza_output_omits_xcatdefaults_postscripts(conn) -> None:
    (out,) = texts(lsdef(conn, objects="cn1", stanza=True, attrs="postscripts"), "info")
    assert "    postscripts=mkresolvconf" in out.splitlines()


# --- nodels ------------------------------------------------------------------------------------
def test_nodels_lists_every_node_in_natural_order(conn) -> None:
    assert texts(list_nodes(ClusterView(conn)), "info") == ["cn1\ncn2\ncn10\nhid1\nsn1"]


def test_nodels_shows_one_effective_column_per_node(conn) -> None:
    report = list_nodes(ClusterView(conn), "compute,sn1", ["hosts.ip"])
    assert texts(report, "info") == ["cn1: 10.0.0.1\ncn2: 10.0.0.2\ncn10: 10.0.0.10\nsn1: "]


def test_nodels_labels_each_value_when_several_columns_are_asked(conn) -> None:
    report = list_nodes(ClusterView(conn), "cn1", ["noderes.xcatmaster", "groups"])
    assert texts(report, "info") == [
        "cn1: noderes.xcatmaster: sn1b\ncn1: groups: compute,sn1group,all"
    ]


def test_nodels_selects_nodes_with_a_condition(conn) -> None:
    assert texts(list_nodes(ClusterView(conn), "all", ["nodehm.mgt==ipmi"]), "info") == ["cn1\ncn2"]


def test_nodels_rejects_unknown_names(conn) -> None:
    with pytest.raises(NoderangeError, match="Invalid nodes and/or groups in noderange: nosuch"):
        list_nodes(ClusterView(conn), "cn1,nosuch")


@pytest.mark.parametrize("column", ["foo.bar", "noderes.nosuch", "site.value", "nonsense"])
def test_nodels_rejects_an_unknown_column_naming_it(conn, column: str) -> None:
    with pytest.raises(DefinitionError) as err:
        list_nodes(ClusterView(conn), "cn1", [column])
    assert str(err.value) == f"{column} not a valid table.column description"


def test_where_over_several_types_skips_the_types_without_that_attribute(conn) -> None:
    report = lsdef(conn, types="node,network", where=("mgt==ipmi",))
    assert texts(report, "info") == ["cn1  (node)\ncn2  (node)"]
    with pytest.raises(DefinitionError, match="'bogus' is not a valid attribute name"):
        lsdef(conn, types="node,network", where=("bogus==1",))


MIXED: dict[str, list[dict[str, str]]] = {
    "nodelist": [
        {"node": f"cn{i}", "groups": "rack1,compute" if i % 2 else "compute"} for i in range(1, 9)
    ],
    "noderes": [
        {"node": "compute", "xcatmaster": "sn1b", "tftpserver": "t-compute", "monserver": "m1"},
        {"node": "rack1", "tftpserver": "t-rack1", "monserver": "m2"},
        {"node": "cn1", "xcatmaster": "own"},
        {"node": "cn2", "xcatmaster": "|\\D+(\\d+)|sn($1+0)|"},
        {"node": "cn3", "xcatmaster": "off", "disable": "1"},
        {"node": "cn4", "tftpserver": "", "monserver": "m3"},
    ],
    "nodehm": [
        {"node": "compute", "conserver": "|\\D+(\\d+)|cs($1%2)|"},
        {"node": "cn5", "conserver": "own-cs"},
    ],
    "nodetype": [
        {"node": "compute", "os": "rhels9", "arch": "x86_64"},
        {"node": "rack1", "os": "rhels8"},
        {"node": "cn6", "arch": "|\\D+(\\d+)|ppc($1+58)|"},
    ],
}


@pytest.mark.parametrize("hierarchical", ["", "monserver"])
def test_node_attributes_match_resolving_each_node_on_its_own(
    db_url: str, hierarchical: str
) -> None:
    # node_attributes shares what groups give between nodes when it can: it must give
    # exactly what resolve() gives node by node (own rows, regex values in node and group
    # rows, disabled rows, empty values, hierarchical columns).
    from snflow.models.attributes import parse_hierarchicalattrs, read_rows, resolve
    from snflow.models.defspec import Column

    seed(db_url, {**MIXED, "site": [{"key": "hierarchicalattrs", "value": hierarchical}]})
    columns = {
        "noderes": ["xcatmaster", "tftpserver", "monserver"],
        "nodehm": ["conserver"],
        "nodetype": ["os", "arch"],
    }
    with db.read_connection(db_url) as connection:
        view = ClusterView(connection)
        nodes = sorted(view.nodelist)
        got = view.node_attributes(nodes, [Column(t, c) for t, cs in columns.items() for c in cs])
        hier = parse_hierarchicalattrs(hierarchical)
        for table, cols in columns.items():
            rows = read_rows(connection, table, None, cols)
            for node in nodes:
                wanted = resolve(node, view.nodelist[node], rows, cols, hier)
                assert {c.column: v for c, v in got[node].items() if c.table == table} == wanted
    assert got["cn2"][Column("noderes", "xcatmaster")] == "sn2"
    assert got["cn3"][Column("noderes", "xcatmaster")] == "sn1b"
    assert got["cn4"][Column("noderes", "tftpserver")] == "t-compute"
    assert got["cn3"][Column("noderes", "tftpserver")] == "t-rack1"
    assert got["cn4"][Column("noderes", "monserver")] == ("m3,m1" if hierarchical else "m3")
    assert got["cn7"][Column("nodehm", "conserver")] == "cs1"
    assert got["cn5"][Column("nodetype", "os")] == "rhels8"
    assert got["cn6"][Column("nodetype", "arch")] == "ppc64"
    assert got["cn6"][Column("nodetype", "os")] == "rhels9"
