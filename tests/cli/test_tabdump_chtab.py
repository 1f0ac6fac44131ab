"""``snflow tabdump`` and ``snflow chtab`` in-process."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from snflow.cli.main import app
from snflow.models import db
from snflow.models.schema import TABLES

CLUSTER: dict[str, list[dict[str, str]]] = {
    "site": [
        {"key": "master", "value": "10.0.0.1"},
        {"key": "domain", "value": "cluster.com"},
        {"key": "motd", "value": 'say "hi", then go', "comments": "greeting"},
    ],
    "nodelist": [
        {"node": "cn10", "groups": "compute,all"},
        {"node": "cn2", "groups": "compute,all"},
        {"node": "cn1", "groups": "compute,all"},
    ],
    "nodehm": [{"node": "cn1", "mgt": "ipmi"}, {"node": "cn2", "mgt": "ipmi"}],
    "networks": [{"net": "10.0.0.0", "mask": "255.0.0.0", "netname": "net_a"}],
}


def seed(url: str, data: Mapping[str, Sequence[Mapping[str, str]]]) -> None:
    with db.transaction(url) as conn:
        for table, rows in data.items():
            for row in rows:  # one by one: rows set different columns
                conn.execute(TABLES[table].insert(), dict(row))


def snapshot(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, to check that a failed command wrote nothing."""
    with db.read_connection(url) as conn:
        return {
            name: sorted(tuple(r) for r in conn.execute(sa.select(tab)))
            for name, tab in TABLES.items()
        }


@pytest.fixture
def cluster(use_db: str) -> str:
    seed(use_db, CLUSTER)
    return use_db


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_tabdump_lists_the_tables(cluster: str) -> None:
    result = run("tabdump")
    assert result.exit_code == 0
    assert result.stdout == "".join(f"{name}\n" for name in sorted(TABLES))


def test_tabdump_prints_xcat_csv_sorted_by_key(cluster: str) -> None:
    result = run("tabdump", "site")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "#key,value,comments,disable\n"
        '"domain","cluster.com",,\n'
        '"master","10.0.0.1",,\n'
        '"motd","say ""hi"", then go","greeting",\n'
    )


def test_tabdump_orders_nodes_naturally(cluster: str) -> None:
    lines = run("tabdump", "nodelist").stdout.splitlines()
    assert lines[0].startswith("#node,groups,status,")
    assert lines[0].endswith(",comments,disable")
    assert [line.split(",")[0] for line in lines[1:]] == ['"cn1"', '"cn2"', '"cn10"']


def test_tabdump_of_an_empty_table_prints_the_header(cluster: str) -> None:
    assert run("tabdump", "mac").stdout == "#node,interface,mac,comments,disable\n"


def test_tabdump_of_an_unknown_table(cluster: str) -> None:
    result = run("tabdump", "nosuch")
    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "",
        "Error: No such table: nosuch\n",
    )


def test_tabdump_describe_lists_the_columns(cluster: str) -> None:
    assert run("tabdump", "-d", "site").stdout == "key\nvalue\ncomments\ndisable\n"
    assert run("tabdump", "-d", "nosuch").stderr == "Error: table nosuch does not exist.\n"


def test_chtab_sets_a_value(cluster: str) -> None:
    result = run("chtab", "key=domain", "site.value=example.org")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert '"domain","example.org",,' in run("tabdump", "site").stdout


def test_chtab_creates_rows_in_several_tables_at_once(cluster: str) -> None:
    result = run("chtab", "node=cn3", "nodelist.groups=compute,all", "nodehm.mgt=ipmi")
    assert result.exit_code == 0
    assert '"cn3","compute,all"' in run("tabdump", "nodelist").stdout
    assert run("nodels", "cn3", "nodehm.mgt").stdout == "cn3: ipmi\n"


def test_chtab_appends_to_a_list(cluster: str) -> None:
    assert run("chtab", "node=cn1", "nodelist.groups+=all,sn1group").exit_code == 0
    assert run("nodels", "cn1", "groups").stdout == "cn1: compute,all,sn1group\n"


def test_chtab_with_two_keys(cluster: str) -> None:
    result = run("chtab", "net=10.0.0.0,mask=255.0.0.0", "networks.gateway=10.0.0.254")
    assert result.exit_code == 0
    assert '"10.0.0.0","255.0.0.0","net_a",,"10.0.0.254"' in run("tabdump", "networks").stdout


def test_chtab_delete_removes_the_row(cluster: str) -> None:
    result = run("chtab", "-d", "node=cn1", "nodehm")
    assert result.exit_code == 0
    assert run("tabdump", "nodehm").stdout.splitlines()[1:] == ['"cn2",,"ipmi",,,,,,,,,,,,']


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["node=cn1", "nodehm.mgt=kvm", "nosuch.col=1"], "Table nosuch does not exist."),
        (
            ["node=cn1", "nodehm.mgt=kvm", "nodehm.bogus=1"],
            "Column 'bogus' does not exist in table 'nodehm'.",
        ),
        (["net=10.0.0.0", "networks.gateway=1"], "Table 'networks' needs the key mask=<value>."),
        (
            ["node=cn1", "nodehm.mgt=kvm", "site.value=x"],
            "'node' is not a key of table 'site' (keys: key).",
        ),
        (
            ["node=cn1", "nodehm.mgt=kvm", "nodehm"],
            'Incorrect argument "nodehm": expected key=value or table.column=value.',
        ),
        (["node=cn1"], "No table.column=value given."),
        (["-d", "node=cn1"], "Missing table name."),
        (["-d", "nodehm"], "No key=value given to identify the rows."),
        (
            ["-d", "node=cn1", "nodehm", "nodehm.mgt=x"],
            "'nodehm.mgt=x': -d takes key=value pairs and table names only.",
        ),
    ],
)
def test_bad_chtab_input_is_one_error_and_changes_nothing(
    cluster: str, args: list[str], message: str
) -> None:
    before = snapshot(cluster)
    result = run("chtab", *args)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"Error: {message}\n"
    assert snapshot(cluster) == before
