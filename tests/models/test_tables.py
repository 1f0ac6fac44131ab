"""tabdump and chtab logic (models/tables.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
import sqlalchemy as sa

from snflow.models import db
from snflow.models.errors import DefinitionError
from snflow.models.schema import TABLES
from snflow.models.tables import (
    Assignment,
    apply_chtab,
    csv_line,
    dump_table,
    parse_chtab,
    table_columns,
    table_names,
)


def seed(url: str, data: Mapping[str, Sequence[Mapping[str, str]]]) -> None:
    with db.transaction(url) as conn:
        for table, rows in data.items():
            for row in rows:  # one by one: rows set different columns
                conn.execute(TABLES[table].insert(), dict(row))


def rows(url: str, table: str) -> list[dict[str, str | None]]:
    with db.read_connection(url) as conn:
        result = conn.execute(sa.select(TABLES[table])).mappings()
        return sorted((dict(r) for r in result), key=repr)


def chtab(url: str, *args: str, delete: bool = False) -> bool:
    request = parse_chtab(args, delete=delete)
    with db.transaction(url) as conn:
        return apply_chtab(conn, request).changed


# --- pure ----------------------------------------------------------------------------------------
def test_csv_values_are_quoted_with_quotes_doubled_and_empty_values_left_out() -> None:
    assert csv_line(["domain", 'say "hi"', None, ""]) == '"domain","say ""hi""",,'


def test_table_names_are_sorted() -> None:
    assert table_names() == sorted(TABLES) and "nodelist" in table_names()


def test_columns_end_with_comments_and_disable() -> None:
    assert table_columns("site") == ["key", "value", "comments", "disable"]


def test_a_chtab_line_becomes_keys_and_assignments() -> None:
    request = parse_chtab(["node=cn1", "nodehm.mgt=ipmi", "nodelist.groups+=all,x"])
    assert request.keys == (("node", "cn1"),)
    assert request.assignments == (
        Assignment(table="nodehm", column="mgt", value="ipmi"),
        Assignment(table="nodelist", column="groups", value="all,x", append=True),
    )
    assert not request.delete


def test_keys_may_be_given_comma_separated_or_as_separate_words() -> None:
    one = parse_chtab(["net=10.0.0.0,mask=255.0.0.0", "networks.netname=a"])
    two = parse_chtab(["net=10.0.0.0", "mask=255.0.0.0", "networks.netname=a"])
    assert one == two


@pytest.mark.parametrize(
    ("args", "delete", "message"),
    [
        (["node=cn1", "nosuch.col=1"], False, "Table nosuch does not exist."),
        (
            ["node=cn1", "nodehm.nosuch=1"],
            False,
            "Column 'nosuch' does not exist in table 'nodehm'.",
        ),
        (
            ["net=10.0.0.0", "networks.gateway=1"],
            False,
            "Table 'networks' needs the key mask=<value>.",
        ),
        (["node=cn1", "site.value=1"], False, "'node' is not a key of table 'site' (keys: key)."),
        (
            ["node=cn1", "nodehm"],
            False,
            'Incorrect argument "nodehm": expected key=value or table.column=value.',
        ),
        (["node=cn1"], False, "No table.column=value given."),
        (["nodehm.mgt=ipmi"], False, "No key=value given to identify the rows."),
        (
            ["node=cn1", "nodelist.node=cn2"],
            False,
            "'nodelist.node' is a key of table 'nodelist': give it as node=<value>.",
        ),
        (
            ["node=cn1", "node=cn2", "nodehm.mgt=x"],
            False,
            "Key 'node' is given twice with different values.",
        ),
        (["node=", "nodehm.mgt=x"], False, "Table 'nodehm' needs the key node=<value>."),
        (["=x", "nodehm.mgt=x"], False, 'Incorrect argument "=x".'),
        (["node=cn1"], True, "Missing table name."),
        (["node=cn1", "nosuch"], True, "Table nosuch does not exist."),
        (
            ["node=cn1", "nodehm.mgt=x"],
            True,
            "'nodehm.mgt=x': -d takes key=value pairs and table names only.",
        ),
        (["nodehm"], True, "No key=value given to identify the rows."),
        (["key=domain", "nodehm"], True, "Column 'key' does not exist in table 'nodehm'."),
    ],
)
def test_bad_chtab_lines_are_rejected_with_one_clear_error(
    args: list[str], delete: bool, message: str
) -> None:
    with pytest.raises(DefinitionError) as err:
        parse_chtab(args, delete=delete)
    assert str(err.value) == message


# --- database ---------------------------------------------------------------------------------
def test_tabdump_sorts_rows_by_key_in_natural_order(db_url: str) -> None:
    seed(db_url, {"nodelist": [{"node": n, "groups": "all"} for n in ("cn10", "cn2", "cn1")]})
    with db.read_connection(db_url) as conn:
        text = dump_table(conn, "nodelist")
    header, *lines = text.splitlines()
    assert header == "#" + ",".join(table_columns("nodelist"))
    assert [line.split(",")[0] for line in lines] == ['"cn1"', '"cn2"', '"cn10"']


def test_tabdump_of_a_two_key_table_sorts_by_both_keys(db_url: str) -> None:
    nets = [("10.0.0.0", "255.0.0.0"), ("9.0.0.0", "255.0.0.0"), ("10.0.0.0", "255.255.0.0")]
    seed(db_url, {"networks": [{"net": n, "mask": m} for n, m in nets]})
    with db.read_connection(db_url) as conn:
        lines = dump_table(conn, "networks").splitlines()[1:]
    assert [line.split(",")[:2] for line in lines] == [
        ['"9.0.0.0"', '"255.0.0.0"'],
        ['"10.0.0.0"', '"255.0.0.0"'],
        ['"10.0.0.0"', '"255.255.0.0"'],
    ]


def test_chtab_creates_and_updates_rows_in_several_tables(db_url: str) -> None:
    seed(db_url, {"nodelist": [{"node": "cn1", "groups": "all"}]})
    assert chtab(db_url, "node=cn1", "nodelist.groups=compute", "nodehm.mgt=ipmi")
    assert [r["groups"] for r in rows(db_url, "nodelist")] == ["compute"]
    assert [(r["node"], r["mgt"]) for r in rows(db_url, "nodehm")] == [("cn1", "ipmi")]


def test_chtab_append_adds_only_missing_items(db_url: str) -> None:
    seed(db_url, {"nodelist": [{"node": "cn1", "groups": "compute,all"}]})
    assert chtab(db_url, "node=cn1", "nodelist.groups+=all,extra")
    assert [r["groups"] for r in rows(db_url, "nodelist")] == ["compute,all,extra"]
    assert not chtab(db_url, "node=cn1", "nodelist.groups+=extra")


def test_chtab_append_to_a_missing_row_sets_the_value(db_url: str) -> None:
    assert chtab(db_url, "node=cn1", "postscripts.postscripts+=syslog")
    assert [r["postscripts"] for r in rows(db_url, "postscripts")] == ["syslog"]


def test_chtab_empty_value_clears_the_column(db_url: str) -> None:
    seed(db_url, {"nodehm": [{"node": "cn1", "mgt": "ipmi", "cons": "ipmi"}]})
    assert chtab(db_url, "node=cn1", "nodehm.mgt=")
    assert [(r["mgt"], r["cons"]) for r in rows(db_url, "nodehm")] == [(None, "ipmi")]


def test_chtab_writes_raw_values_without_evaluating_them(db_url: str) -> None:
    assert chtab(db_url, "node=compute", "hosts.ip=|\\D+(\\d+)|10.0.0.($1+0)|")
    assert [r["ip"] for r in rows(db_url, "hosts")] == ["|\\D+(\\d+)|10.0.0.($1+0)|"]


def test_chtab_delete_removes_the_matching_rows_of_each_table(db_url: str) -> None:
    seed(
        db_url,
        {
            "nodehm": [{"node": "cn1", "mgt": "ipmi"}, {"node": "cn2", "mgt": "ipmi"}],
            "noderes": [{"node": "cn1", "netboot": "pxe"}],
            "networks": [{"net": "10.0.0.0", "mask": m} for m in ("255.0.0.0", "255.255.0.0")],
        },
    )
    assert chtab(db_url, "node=cn1", "nodehm", "noderes", delete=True)
    assert [r["node"] for r in rows(db_url, "nodehm")] == ["cn2"]
    assert rows(db_url, "noderes") == []
    assert chtab(db_url, "net=10.0.0.0", "networks", delete=True)
    assert rows(db_url, "networks") == []
    assert not chtab(db_url, "node=cn9", "nodehm", delete=True)


def test_setting_a_value_a_row_already_has_changes_nothing(db_url: str) -> None:
    seed(db_url, {"site": [{"key": "domain", "value": "cluster.com"}]})
    assert not chtab(db_url, "key=domain", "site.value=cluster.com")
