"""The test infrastructure itself: databases from ``db_url``, the PostgreSQL server, isolation."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from pg import PostgresServer, pid_alive

# /proc/net/tcp{,6} state of a listening socket.
_TCP_LISTEN = "0A"


@pytest.mark.parametrize("round_", [1, 2])
def test_db_url_gives_a_fresh_working_database(db_url: str, round_: int) -> None:
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            assert conn.execute(sa.text("select 1")).scalar_one() == 1
            # Fresh for each test: the table the other round created is not here.
            assert sa.inspect(conn).get_table_names() == []
            conn.execute(sa.text("create table probe (id integer primary key, name text)"))
            conn.execute(
                sa.text("insert into probe (id, name) values (:id, :name)"),
                [{"id": 1, "name": f"round {round_}"}, {"id": 2, "name": "sn02"}],
            )
        with engine.connect() as conn:
            rows = conn.execute(sa.text("select id, name from probe order by id")).all()
        assert [tuple(row) for row in rows] == [(1, f"round {round_}"), (2, "sn02")]
    finally:
        engine.dispose()


def test_db_url_backends(db_url: str, request: pytest.FixtureRequest) -> None:
    backend = request.node.callspec.params["db_url"]
    dialect = sa.engine.make_url(db_url).get_backend_name()
    assert dialect == {"sqlite": "sqlite", "postgres": "postgresql"}[backend]
    if backend == "postgres":
        assert request.node.get_closest_marker("postgres") is not None
        assert sa.engine.make_url(db_url).host == "127.0.0.1"


def _listening_addresses(port: int) -> list[str]:
    """Local addresses of the TCP sockets listening on ``port`` (from /proc/net)."""
    found = []
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if fields[3] != _TCP_LISTEN or int(port_hex, 16) != port:
                continue
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word in host (little-endian) order.
            words = [raw[i : i + 4][::-1] for i in range(0, len(raw), 4)]
            found.append(socket.inet_ntop(family, b"".join(words)))
    return found


@pytest.mark.postgres
def test_postgres_listens_on_loopback_only(postgres_server: PostgresServer) -> None:
    with psycopg.connect(postgres_server.conninfo()) as conn:
        listen = conn.execute("show listen_addresses").fetchone()
    assert listen == ("127.0.0.1",)
    if not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net/tcp to list listening sockets")
    addresses = _listening_addresses(postgres_server.port or 0)
    assert addresses == ["127.0.0.1"]
    assert all(ipaddress.ip_address(a).is_loopback for a in addresses)


def _processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line contains ``text``."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline and pid_alive(int(proc.name)):
            pids.append(int(proc.name))
    return pids


@pytest.mark.postgres
def test_postgres_server_stops_and_cleans_up(postgres_server: PostgresServer) -> None:
    # A second, private server: its start, its databases, and that stop leaves nothing.
    server = PostgresServer(postgres_server.bindir)
    with server:
        pid, tmpdir = server.pid, server.tmpdir
        assert pid is not None and tmpdir is not None and tmpdir.is_dir()
        assert server.startup_seconds is not None
        url = server.create_database("probe")
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                assert conn.execute(sa.text("select current_database()")).scalar_one() == "probe"
        finally:
            engine.dispose()
        server.drop_database("probe")
    assert not pid_alive(pid)
    assert not tmpdir.exists()
    assert _processes_mentioning(str(tmpdir)) == []
    assert server.pid is None
    server.stop()  # idempotent


def test_snflow_home_is_isolated(snflow_home: Path) -> None:
    assert os.environ["SNFLOW_HOME"] == str(snflow_home)
    assert snflow_home.is_dir()
    assert snflow_home != Path.home() / ".snflow"
    assert "SNFLOW_DATABASE_URL" not in os.environ


def test_use_db_sets_the_database_url(use_db: str) -> None:
    assert os.environ["SNFLOW_DATABASE_URL"] == use_db
    settings = pytest.importorskip("snflow.models.settings")
    assert settings.get_settings().effective_database_url == use_db
