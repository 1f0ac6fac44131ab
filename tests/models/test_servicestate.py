"""load_service_state: the database as the service planners see it (SQLite, PostgreSQL)."""

from __future__ import annotations

import pytest

from snflow.models import db
from snflow.models.cluster import ClusterView
from snflow.models.dhcp import plan_dhcp
from snflow.models.schema import TABLES
from snflow.models.services import ServiceConfigError
from snflow.models.servicestate import load_service_state
from snflow.sim.database import write_cluster
from snflow.sim.layout import plan_layout


def load(url: str):
    with db.read_connection(url) as conn:
        return load_service_state(ClusterView(conn))


def insert(url: str, table: str, **row: str) -> None:
    with db.transaction(url) as conn:
        conn.execute(TABLES[table].insert().values(**row))


def test_the_virtual_clusters_database_reads_as_a_service_state(db_url: str) -> None:
    with db.transaction(db_url) as conn:
        write_cluster(conn, plan_layout(2, 8))
    state = load(db_url)
    assert state.site.master == "mn" and state.site.dhcpbackend == "isc"
    assert [(h.name, h.is_mn, h.dhcpserver) for h in state.hosts] == [
        ("mn", True, None),
        ("sn1", False, True),
        ("sn2", False, True),
    ]
    sn1 = state.host("sn1")
    assert [(i.name, i.address) for i in sn1.interfaces] == [
        ("sn1", "127.10.0.1"),
        ("sn1-b", "127.20.0.1"),
    ]
    assert state.host("sn2-b").name == "sn2"  # any name of a host finds it
    cn005 = state.node_map()["cn005"]
    assert (cn005.servicenode, cn005.ip, cn005.mac) == (
        ("sn2", "sn1"),
        "127.20.1.5",
        "02:00:00:00:01:05",
    )
    assert (cn005.cons, cn005.conserver, cn005.provmethod) == (
        "ipmi",
        "sn2",
        "rhels9-x86_64-netboot-compute",
    )
    assert [n.netname for n in state.networks] == ["a", "b"]
    assert sorted(plan_dhcp(state, nodes=["cn001"])) == ["sn1", "sn2"]


def test_group_rows_regex_values_and_aliases_are_resolved(db_url: str) -> None:
    insert(db_url, "site", key="master", value="mgmt")
    insert(db_url, "site", key="dhcpbackend", value="Kea")
    insert(db_url, "hosts", node="mgmt", ip="10.0.0.254")
    insert(db_url, "networks", net="10.0.0.0", mask="255.255.0.0", netname="n")
    for sn in ("xsn1", "xsn2"):
        insert(db_url, "nodelist", node=sn, groups="service")
        insert(
            db_url, "hosts", node=sn, ip=f"10.0.0.{sn[-1]}", otherinterfaces=f"-b:10.1.0.{sn[-1]}"
        )
    insert(db_url, "servicenode", node="service", dhcpserver="1", conserver="no")
    insert(db_url, "nodelist", node="c12", groups="compute")
    insert(db_url, "noderes", node="compute", servicenode="xsn1,xsn2", netboot="pxe")
    insert(db_url, "hosts", node="compute", ip="|c(\\d+)|10.0.1.($1+0)|")
    insert(db_url, "hosts", node="c12-ib", ip="10.2.0.12")
    insert(db_url, "mac", node="c12", mac="02:00:00:00:00:0c|02:00:00:00:01:0c!c12-ib")
    insert(db_url, "nodehm", node="c12", consoleondemand="yes")
    state = load(db_url)
    assert state.site.dhcpbackend == "kea"
    assert [(h.name, h.dhcpserver, h.conserver) for h in state.hosts] == [
        ("mgmt", None, None),
        ("xsn1", True, False),
        ("xsn2", True, False),
    ]
    assert state.host("xsn1-b").name == "xsn1"  # "-b" is a suffix of the node's name
    c12 = state.node_map()["c12"]
    assert (c12.ip, c12.aliases, c12.consoleondemand) == (
        "10.0.1.12",
        {"c12-ib": "10.2.0.12"},
        True,
    )


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("dhcplease", "soon", "site.dhcplease"),
        ("dhcpbackend", "windows", "site.dhcpbackend"),
    ],
)
def test_invalid_site_values_are_one_clear_error(
    db_url: str, key: str, value: str, message: str
) -> None:
    insert(db_url, "site", key="master", value="mn")
    insert(db_url, "site", key=key, value=value)
    with pytest.raises(ServiceConfigError, match=message):
        load(db_url)


def test_without_site_master_the_management_node_is_unknown(db_url: str) -> None:
    insert(db_url, "site", key="domain", value="x")
    with pytest.raises(ServiceConfigError, match=r"site\.master is not set"):
        load(db_url)
