"""mkdef, chdef, rmdef, noderm through the CLI, on SQLite and PostgreSQL.

Each bad-input case checks three things together: one clear error line, exit 1, and a
database that did not change (compared table by table).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from snflow.cli.main import app
from snflow.models import db
from snflow.models.cluster import ClusterView
from snflow.models.defspec import Column
from snflow.models.schema import TABLES

pytestmark = pytest.mark.usefixtures("use_db")


def snflow(*args: str, stdin: str | None = None):
    result = CliRunner().invoke(app, list(args), input=stdin)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def dump() -> dict[str, list[tuple]]:
    """Every row of every table, sorted: the whole database as comparable data."""
    with db.read_connection() as conn:
        return {
            name: sorted(tuple(map(str, row)) for row in conn.execute(sa.select(tab)))
            for name, tab in TABLES.items()
        }


def groups_of(node: str) -> str | None:
    with db.read_connection() as conn:
        return ClusterView(conn).nodelist.get(node) and ",".join(ClusterView(conn).nodelist[node])


def effective(node: str, attr_column: Column) -> str | None:
    with db.read_connection() as conn:
        return ClusterView(conn).node_attributes([node], [attr_column])[node].get(attr_column)


SERVICENODE = Column("noderes", "servicenode")
XCATMASTER = Column("noderes", "xcatmaster")


@pytest.fixture
def seed() -> None:
    """The procedure's first step: 20 nodes with a primary and a backup service node."""
    result = snflow(
        "chdef",
        "node[01-20]",
        "groups=compute",
        "servicenode=xcatsn1a,xcatsn2a",
        "xcatmaster=xcatsn1b",
    )
    assert result.exit_code == 0, result.output


def test_chdef_creates_the_nodes_of_the_procedure(seed: None) -> None:
    with db.read_connection() as conn:
        view = ClusterView(conn)
        assert len(view.nodelist) == 20
        values = view.node_attributes(["node05"], [SERVICENODE, XCATMASTER])["node05"]
    assert values == {SERVICENODE: "xcatsn1a,xcatsn2a", XCATMASTER: "xcatsn1b"}


def test_chdef_says_what_it_created() -> None:
    result = snflow("chdef", "node[01-03]", "groups=compute")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "3 object definitions have been created or modified.",
        "New object definitions 'node[01-03]' have been created.",
    ]


def test_second_identical_chdef_changes_nothing(seed: None) -> None:
    before = dump()
    result = snflow("chdef", "node[01-20]", "servicenode=xcatsn1a,xcatsn2a")
    assert result.exit_code == 0
    assert result.stdout.strip() == "No object definitions have been created or modified."
    assert dump() == before


def test_static_group_adds_itself_to_each_members_groups(seed: None) -> None:
    result = snflow("mkdef", "-t", "group", "sn1group", "members=node[01-10]")
    assert result.exit_code == 0, result.output
    assert groups_of("node05") == "compute,sn1group"
    assert groups_of("node15") == "compute"


def test_chdef_group_members_replaces_membership(seed: None) -> None:
    snflow("mkdef", "-t", "group", "g1", "members=node[01-05]")
    result = snflow("chdef", "-t", "group", "g1", "members=node[04-06]")
    assert result.exit_code == 0, result.output
    assert groups_of("node01") == "compute"
    assert groups_of("node06") == "compute,g1"
    assert groups_of("node04") == "compute,g1"


def test_chdef_plus_and_minus_edit_list_values(seed: None) -> None:
    assert snflow("chdef", "-p", "node01", "groups=rack1").exit_code == 0
    assert groups_of("node01") == "compute,rack1"
    assert snflow("chdef", "-m", "node01", "groups=compute").exit_code == 0
    assert groups_of("node01") == "rack1"


def test_chdef_minus_of_an_absent_item_is_an_error_and_nothing_changes(seed: None) -> None:
    before = dump()
    result = snflow("chdef", "-m", "node01", "groups=nosuch")
    assert result.exit_code == 1
    assert "nosuch is not in the attribute of 'groups' for the 'node01' definition." in (
        result.stderr
    )
    assert dump() == before


def test_group_attributes_are_inherited_by_members(seed: None) -> None:
    snflow("chdef", "-t", "group", "compute", "tftpserver=grp-tftp", "xcatmaster=grpmaster")
    # The node's own row wins over the group; the group fills what the node lacks.
    assert effective("node03", XCATMASTER) == "xcatsn1b"
    assert effective("node03", Column("noderes", "tftpserver")) == "grp-tftp"


def test_regex_values_on_a_group_are_evaluated_per_node(seed: None) -> None:
    result = snflow("chdef", "-t", "group", "compute", "ip=|\\D+(\\d+)|10.0.0.($1+0)|")
    assert result.exit_code == 0, result.output
    assert effective("node07", Column("hosts", "ip")) == "10.0.0.7"
    assert effective("node20", Column("hosts", "ip")) == "10.0.0.20"


def test_dynamic_group_members_follow_their_condition(seed: None) -> None:
    snflow("chdef", "node0[1-3]", "mgt=ipmi")
    result = snflow("mkdef", "-t", "group", "ipmigrp", "-d", "-w", "mgt==ipmi")
    assert result.exit_code == 0, result.output
    with db.read_connection() as conn:
        assert ClusterView(conn).expand_or_raise("ipmigrp") == ("node01", "node02", "node03")


def test_mkdef_of_an_existing_node_changes_nothing_without_force(seed: None) -> None:
    before = dump()
    result = snflow("mkdef", "node01", "groups=other")
    assert result.exit_code == 1
    assert "A definition for 'node01' already exists." in result.stderr
    assert dump() == before


def test_mkdef_force_replaces_the_definition(seed: None) -> None:
    result = snflow("mkdef", "-f", "node01", "groups=other")
    assert result.exit_code == 0, result.output
    assert groups_of("node01") == "other"
    assert effective("node01", SERVICENODE) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("chdef", "node01", "nosuchattr=1"),
            "'nosuchattr' is not a valid attribute name for an object type of 'node'.",
        ),
        (
            ("mkdef", "bad.name", "groups=all"),
            "The object name 'bad.name' is invalid, Cannot use '.' in node name.",
        ),
        (("mkdef", "bad$name", "groups=all"), "The object name 'bad$name' is invalid"),
        (("mkdef", "-t", "osimage", "x", "a=b"), "Type 'osimage' is not a valid xCAT object type."),
        (
            ("mkdef", "newnode", "servicenode=sn1"),
            "Attribute 'groups' is not specified for node 'newnode'",
        ),
        (("chdef", "node01", "node02", "groups=x"), "noderange can not contain spaces."),
        (
            ("chdef", "-f", "node01", "groups=x"),
            "The '-f' option is not valid for the chdef command.",
        ),
        (
            ("mkdef", "-t", "group", "g2", "members=node01,nosuch"),
            "Could not find a node named 'nosuch', skipping to the next node.",
        ),
        (("rmdef", "node01,nosuch"), "Could not find an object named 'nosuch' of type 'node'."),
        (("noderm", "node01,nosuch"), "Invalid nodes and/or groups in noderange: nosuch"),
        (("chdef", "-n", "node02", "node01"), "Object node02 already exists."),
        (
            ("mkdef", "-t", "group", "dyn", "-d"),
            "The 'where' attributes and values were not provided for dynamic group 'dyn'.",
        ),
        (
            ("mkdef", "-t", "network", "net1", "gateway=1.2.3.4"),
            "the 'net' and 'mask' attributes are required",
        ),
    ],
)
def test_bad_input_is_one_clear_error_and_changes_nothing(
    seed: None, args: tuple[str, ...], message: str
) -> None:
    before = dump()
    result = snflow(*args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stderr.startswith("Error: ")
    assert dump() == before


def test_broken_stanza_is_an_error_and_changes_nothing(seed: None) -> None:
    before = dump()
    result = snflow("mkdef", "-z", stdin="node99:\n    groups=all\n")
    assert result.exit_code == 1
    assert "No objtype value was specified for 'node99'" in result.stderr
    assert dump() == before


def test_stanza_input_creates_objects() -> None:
    stanza = (
        "# <xCAT data object stanza file>\n\ncn1:\n    objtype=node\n    groups=compute\n"
        "    servicenode=sn1,sn2\n\ncompute:\n    objtype=group\n    xcatmaster=sn1-b\n"
    )
    result = snflow("mkdef", "-z", stdin=stanza)
    assert result.exit_code == 0, result.output
    assert effective("cn1", SERVICENODE) == "sn1,sn2"
    assert effective("cn1", XCATMASTER) == "sn1-b"


def test_rmdef_group_removes_it_from_its_members(seed: None) -> None:
    snflow("mkdef", "-t", "group", "g1", "members=node[01-02]")
    result = snflow("rmdef", "-t", "group", "g1")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "1 object definitions have been removed."
    assert groups_of("node01") == "compute"


def test_noderm_removes_every_row_of_the_nodes(seed: None) -> None:
    result = snflow("noderm", "node[01-05]")
    assert result.exit_code == 0, result.output
    with db.read_connection() as conn:
        assert len(ClusterView(conn).nodelist) == 15
        noderes = TABLES["noderes"]
        nodes = {r[0] for r in conn.execute(sa.select(noderes.c.node))}
    assert "node01" not in nodes


def test_chdef_n_renames_a_node_in_every_table(seed: None) -> None:
    result = snflow("chdef", "-n", "newname", "node01")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "Changed the object name from node01 to newname."
    assert effective("newname", SERVICENODE) == "xcatsn1a,xcatsn2a"
    assert groups_of("node01") is None


def test_network_and_site_objects() -> None:
    assert (
        snflow(
            "mkdef",
            "-t",
            "network",
            "b",
            "net=127.20.0.0",
            "mask=255.255.0.0",
            "gateway=<xcatmaster>",
        ).exit_code
        == 0
    )
    assert snflow("chdef", "-t", "site", "domain=cluster.snflow").exit_code == 0
    with db.read_connection() as conn:
        view = ClusterView(conn)
        assert view.site["domain"] == "cluster.snflow"
        rows = conn.execute(sa.select(TABLES["networks"])).mappings().all()
    assert [(r["netname"], r["net"], r["gateway"]) for r in rows] == [
        ("b", "127.20.0.0", "<xcatmaster>")
    ]


def test_help_is_offered_on_every_definition_command() -> None:
    for command in ("mkdef", "chdef", "rmdef", "noderm"):
        result = snflow(command, "--help")
        assert result.exit_code == 0
        assert "Usage:" in result.stdout
