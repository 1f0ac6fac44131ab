"""What ``sim up`` writes to the cluster database, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from snflow.models import db
from snflow.models.cluster import ClusterView
from snflow.models.defspec import Column
from snflow.models.schema import TABLES
from snflow.sim import SimError
from snflow.sim.database import fill_from_db, read_definitions, write_cluster
from snflow.sim.layout import layout_from_definitions, plan_layout
from snflow.sim.rows import SIM_MARK

SERVICENODE = Column("noderes", "servicenode")
XCATMASTER = Column("noderes", "xcatmaster")
POSTSCRIPTS = Column("postscripts", "postscripts")
IP = Column("hosts", "ip")
OTHER = Column("hosts", "otherinterfaces")


def _count(conn: sa.Connection, table: str) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(TABLES[table])).scalar_one()


def test_procedures_cluster_is_written(db_url: str) -> None:
    with db.transaction(db_url) as conn:
        write_cluster(conn, plan_layout(2, 32))
    with db.read_connection(db_url) as conn:
        view = ClusterView(conn)
        assert len(view.nodelist) == 34
        assert view.nodelist["cn001"] == ("compute", "sn1group")
        assert view.nodelist["sn2"] == ("service",)
        assert sorted(view.group_members("sn1group")) == [f"cn{k:03d}" for k in range(1, 17)]
        attrs = view.node_attributes(["cn016", "cn017"], [SERVICENODE, XCATMASTER, POSTSCRIPTS, IP])
        assert attrs["cn016"][SERVICENODE] == "sn1,sn2"
        assert attrs["cn017"][SERVICENODE] == "sn2,sn1"
        assert attrs["cn017"][XCATMASTER] == "sn2-b"
        assert attrs["cn017"][POSTSCRIPTS] == "mkresolvconf,setupntp"
        assert attrs["cn017"][IP] == "127.20.1.17"
        assert view.site["master"] == "mn"
        assert view.site["SNsyncfiledir"] == "/var/xcat/syncfiles"
        hosts = view.rows("hosts", ["mn", "sn1"], ["ip", "otherinterfaces"])
        assert hosts == {
            "mn": {"ip": "127.0.0.1"},
            "sn1": {"ip": "127.10.0.1", "otherinterfaces": "sn1-b:127.20.0.1"},
        }
        defaults = view.rows("postscripts", ["xcatdefaults"], ["postscripts", "postbootscripts"])
        assert defaults["xcatdefaults"] == {
            "postscripts": "syslog,remoteshell,syncfiles",
            "postbootscripts": "otherpkgs",
        }
        nets = conn.execute(sa.select(TABLES["networks"].c["netname", "net", "gateway"])).all()
        assert sorted(map(tuple, nets)) == [
            ("a", "127.10.0.0", None),
            ("b", "127.20.0.0", "<xcatmaster>"),
        ]


def test_second_write_replaces_the_simulations_rows(db_url: str) -> None:
    with db.transaction(db_url) as conn:
        write_cluster(conn, plan_layout(2, 32))
    with db.transaction(db_url) as conn:
        write_cluster(conn, plan_layout(3, 6))
    with db.read_connection(db_url) as conn:
        view = ClusterView(conn)
        assert len(view.nodelist) == 9
        assert _count(conn, "hosts") == 10  # and mn
        assert _count(conn, "mac") == 9
        assert view.node_attributes(["cn006"], [SERVICENODE])["cn006"][SERVICENODE] == "sn3,sn1"


def test_foreign_nodes_are_refused_and_nothing_changes(db_url: str) -> None:
    with db.transaction(db_url) as conn:
        conn.execute(TABLES["nodelist"].insert(), [{"node": "node01", "groups": "compute"}])
    refused = pytest.raises(SimError, match=r"1 node\(s\).*\(node01\).*--from-db.*--force")
    with refused, db.transaction(db_url) as conn:
        write_cluster(conn, plan_layout(2, 4))
    with db.read_connection(db_url) as conn:
        assert list(ClusterView(conn).nodelist) == ["node01"]


def test_force_replaces_foreign_nodes(db_url: str) -> None:
    with db.transaction(db_url) as conn:
        conn.execute(TABLES["nodelist"].insert(), [{"node": "node01", "groups": "compute"}])
        conn.execute(TABLES["hosts"].insert(), [{"node": "node01", "ip": "10.0.0.1"}])
    with db.transaction(db_url) as conn:
        write_cluster(conn, plan_layout(1, 2), force=True)
    with db.read_connection(db_url) as conn:
        assert sorted(ClusterView(conn).nodelist) == ["cn001", "cn002", "sn1"]
        marks = conn.execute(sa.select(TABLES["nodelist"].c.comments)).scalars().all()
        assert set(marks) == {SIM_MARK}
        assert _count(conn, "hosts") == 4


def test_1024_nodes_are_written_well_under_two_seconds(db_url: str) -> None:
    plan = plan_layout(4, 1024)
    db.get_engine(db_url)  # the schema, created once, is not what is measured
    started = time.perf_counter()
    with db.transaction(db_url) as conn:
        written = write_cluster(conn, plan)
    elapsed = time.perf_counter() - started
    assert written > 6000
    assert elapsed < 1.0, f"{elapsed:.2f} s"


def test_from_db_fills_only_addresses(db_url: str) -> None:
    nodelist, noderes, hosts = TABLES["nodelist"], TABLES["noderes"], TABLES["hosts"]
    with db.transaction(db_url) as conn:
        conn.execute(
            nodelist.insert(),
            [
                {"node": "xsn1a", "groups": "service"},
                {"node": "node01", "groups": "compute"},
                {"node": "node02", "groups": "compute"},
            ],
        )
        conn.execute(
            noderes.insert(),
            [{"node": "compute", "servicenode": "xsn1a", "xcatmaster": "xsn1b"}],
        )
        conn.execute(
            hosts.insert(), [{"node": "xsn1a", "ip": "10.0.0.1", "hostnames": "xsn1a.example"}]
        )
        conn.execute(hosts.insert(), [{"node": "node02", "ip": "127.20.9.9"}])
    with db.transaction(db_url) as conn:
        plan = layout_from_definitions(read_definitions(conn))
        assert fill_from_db(conn, plan) == 2
    with db.transaction(db_url) as conn:
        assert fill_from_db(conn, layout_from_definitions(read_definitions(conn))) == 0
    with db.read_connection(db_url) as conn:
        view = ClusterView(conn)
        assert view.rows("hosts", None, ["ip", "otherinterfaces", "hostnames"]) == {
            "xsn1a": {
                "ip": "127.10.0.1",
                "otherinterfaces": "xsn1b:127.20.0.1",
                "hostnames": "xsn1a.example",
            },
            "node01": {"ip": "127.20.1.1"},
            "node02": {"ip": "127.20.9.9"},
        }
        assert view.rows("nodelist", None, ["comments"]) == {
            "xsn1a": {},
            "node01": {},
            "node02": {},
        }
    assert plan.host("node01").allowed_peers == ("127.20.0.1",)
