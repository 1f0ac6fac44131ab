"""routes_for: routes read from the cluster database (one query per table)."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from snflow.models import db
from snflow.models.cluster import ClusterView
from snflow.models.schema import TABLES
from snflow.tasks.ssh import master_names, routes_for

ROWS: dict[str, list[dict[str, str]]] = {
    "site": [{"key": "master", "value": "mn1"}],
    "nodelist": [
        {"node": "cn1", "groups": "compute,all"},
        {"node": "cn2", "groups": "compute,all"},
        {"node": "cn3", "groups": "other,all"},
        {"node": "cn4", "groups": "other,all"},
        {"node": "sn1a", "groups": "service,all"},
        {"node": "sn2a", "groups": "service,all"},
    ],
    "noderes": [
        {"node": "compute", "servicenode": "sn1a,sn2a"},
        {"node": "cn2", "servicenode": "sn2a,sn1a"},
        {"node": "cn4", "servicenode": "mn1"},
    ],
    "hosts": [
        {"node": "compute", "ip": "|\\D+(\\d+)|127.32.1.($1+0)|"},
        {"node": "sn1a", "ip": "127.31.0.1"},
        {"node": "sn2a", "ip": "127.31.0.2"},
    ],
}


@pytest.fixture
def conn(db_url: str) -> Iterator[Connection]:
    with db.transaction(db_url) as c:
        for table, rows in ROWS.items():
            for row in rows:
                c.execute(TABLES[table].insert(), dict(row))
    with db.read_connection(db_url) as connection:
        yield connection


def test_routes_come_from_servicenode_and_hosts(conn: Connection) -> None:
    routes = routes_for(ClusterView(conn), ["cn1", "cn2", "cn3", "cn4", "sn1a"], port=2200)
    described = {n: r.describe() for n, r in routes.items()}
    assert described == {
        "cn1": "cn1 (127.32.1.1:2200) via sn1a, sn2a",
        "cn2": "cn2 (127.32.1.2:2200) via sn2a, sn1a",
        "cn3": "cn3 (cn3:2200) direct",
        "cn4": "cn4 (cn4:2200) direct",
        "sn1a": "sn1a (127.31.0.1:2200) direct",
    }
    assert routes["cn1"].via[0].address == "127.31.0.1"


def test_the_port_defaults_to_the_setting(
    conn: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SNFLOW_SSH_PORT", "2022")
    assert routes_for(ClusterView(conn), ["cn1"])["cn1"].target.port == 2022


def test_one_query_per_table(conn: Connection) -> None:
    view = ClusterView(conn)
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    sa.event.listen(conn, "before_cursor_execute", record)
    try:
        routes_for(view, ["cn1", "cn2", "cn3"], port=22)
    finally:
        sa.event.remove(conn, "before_cursor_execute", record)
    tables = sorted(re.search(r"FROM\s+\"?(\w+)", s).group(1) for s in statements)  # type: ignore[union-attr]
    assert tables == ["hosts", "nodelist", "noderes", "site"]


def test_master_names_include_site_master_and_this_host(conn: Connection) -> None:
    names = master_names(ClusterView(conn))
    assert {"mn1", socket.gethostname()} <= names
