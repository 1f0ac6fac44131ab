"""``snflow nodels`` in-process."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from typer.testing import CliRunner, Result

from snflow.cli.main import app
from snflow.models import db
from snflow.models.schema import TABLES

CLUSTER: dict[str, list[dict[str, str]]] = {
    "nodelist": [
        {"node": "cn10", "groups": "compute,all"},
        {"node": "cn2", "groups": "compute,all"},
        {"node": "cn1", "groups": "compute,all"},
        {"node": "sn1", "groups": "service,all"},
    ],
    "noderes": [
        {"node": "compute", "servicenode": "|cn(\\d+)|sn(($1-1)/5+1)|", "xcatmaster": "sn1b"},
        {"node": "cn10", "xcatmaster": "sn2b"},
    ],
    "nodehm": [{"node": "cn1", "mgt": "ipmi"}, {"node": "cn10", "mgt": "ipmi"}],
}


def seed(url: str, data: Mapping[str, Sequence[Mapping[str, str]]]) -> None:
    with db.transaction(url) as conn:
        for table, rows in data.items():
            for row in rows:  # one by one: rows set different columns
                conn.execute(TABLES[table].insert(), dict(row))


@pytest.fixture
def cluster(use_db: str) -> str:
    seed(use_db, CLUSTER)
    return use_db


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["nodels", *args])


def test_nodels_lists_every_node_in_natural_order(cluster: str) -> None:
    result = run()
    assert (result.exit_code, result.stdout, result.stderr) == (0, "cn1\ncn2\ncn10\nsn1\n", "")


def test_nodels_expands_a_noderange(cluster: str) -> None:
    assert run("cn[1-2],sn1").stdout == "cn1\ncn2\nsn1\n"


def test_nodels_with_unknown_names_fails_and_prints_nothing_else(cluster: str) -> None:
    result = run("cn1,nosuch,bad2", "noderes.xcatmaster")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "Error: Invalid nodes and/or groups in noderange: nosuch,bad2\n"


def test_nodels_shows_the_effective_value_of_one_column(cluster: str) -> None:
    result = run("compute", "noderes.servicenode")
    assert result.exit_code == 0
    assert result.stdout == "cn1: sn1\ncn2: sn1\ncn10: sn2\n"


def test_nodels_labels_values_when_several_columns_are_asked(cluster: str) -> None:
    result = run("cn10,sn1", "noderes.xcatmaster", "mgt")
    assert result.stdout == (
        "cn10: noderes.xcatmaster: sn2b\ncn10: mgt: ipmi\nsn1: noderes.xcatmaster: \nsn1: mgt: \n"
    )


def test_nodels_selects_nodes_by_value(cluster: str) -> None:
    assert run("all", "nodehm.mgt==ipmi").stdout == "cn1\ncn10\n"
    assert run("all", "groups=~service", "noderes.xcatmaster").stdout == "sn1: \n"


def test_nodels_of_an_unknown_column_is_an_error(cluster: str) -> None:
    result = run("cn1", "noderes.bogus")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "Error: noderes.bogus not a valid table.column description\n"
