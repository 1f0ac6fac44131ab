"""``snflow sim up|status|power|down`` in-process with CliRunner, in a fresh ``SNFLOW_HOME``."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from snflow.cli.sim import app
from snflow.models import db
from snflow.models.cluster import ClusterView
from snflow.models.schema import TABLES
from snflow.sim import sim_down
from snflow.sim.control import process_alive


def sim(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture(autouse=True)
def _always_down(snflow_home: Path) -> Iterator[None]:
    yield
    sim_down(snflow_home)


def test_up_status_power_down(snflow_home: Path) -> None:
    up = sim("up", "--service-nodes", "2", "--nodes", "4")
    assert (up.exit_code, up.stderr) == (0, "")
    assert "2 service node(s) sn[1-2], 4 compute node(s) cn[001-004]" in up.stdout
    port = int(up.stdout.split("port ")[1].split(",")[0])
    assert f"SNFLOW_SSH_PORT={port}\n" in (snflow_home / "settings.env").read_text()
    with db.read_connection() as conn:
        assert ClusterView(conn).nodelist["cn003"] == ("compute", "sn2group")

    status = sim("status")
    lines = status.stdout.splitlines()
    assert status.exit_code == 0
    assert lines[0].split() == [
        "HOST", "ROLE", "ADDRESS", "B-ADDRESS", "POWER", "CONNS", "SESSIONS", "BYTES-IN"
    ]  # fmt: skip
    assert lines[1].split() == ["sn1", "sn", "127.10.0.1", "127.20.0.1", "on", "0", "0", "0"]
    assert lines[3].split()[:5] == ["cn001", "cn", "127.20.1.1", "-", "on"]
    assert lines[-1].startswith("pid ") and f"port {port}: 6 hosts" in lines[-1]

    off = sim("power", "off", "cn001")
    assert (off.exit_code, off.stdout) == (0, "cn001: powered off\n")
    assert sim("power", "off", "cn001").stdout == "cn001: already off\n"
    assert sim("status").stdout.splitlines()[3].split()[4] == "off"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.20.1.1", port), timeout=5)
    assert sim("power", "on", "cn001").stdout == "cn001: powered on\n"
    # From its service node's "b" address (the only peers a CN accepts): the SSH banner.
    with socket.create_connection(
        ("127.20.1.1", port), timeout=5, source_address=("127.20.0.1", 0)
    ) as conn:
        assert conn.recv(8) == b"SSH-2.0-"

    pid = int(lines[-1].split()[1].rstrip(","))
    down = sim("down")
    assert (down.exit_code, down.stdout) == (0, f"Virtual cluster stopped (pid {pid}).\n")
    assert not process_alive(pid)
    again = sim("down")
    assert (again.exit_code, again.stdout) == (0, "No virtual cluster is running.\n")


@pytest.mark.parametrize("args", [("status",), ("power", "off", "cn001")], ids=["status", "power"])
def test_commands_need_a_running_cluster(args: tuple[str, ...]) -> None:
    result = sim(*args)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "Error: no virtual cluster is running\n"


def test_power_of_an_unknown_host_is_an_error() -> None:
    assert sim("up", "-k", "1", "-n", "1").exit_code == 0
    result = sim("power", "off", "cn999")
    assert (result.exit_code, result.stderr) == (1, 'Error: unknown host: "cn999"\n')
    bad = sim("power", "sideways", "cn001")
    assert bad.exit_code == 2


def test_up_refuses_a_database_it_did_not_create(snflow_home: Path) -> None:
    with db.transaction() as conn:
        conn.execute(TABLES["nodelist"].insert(), [{"node": "node01", "groups": "compute"}])
    result = sim("up")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: the cluster database already defines 1 node(s)")
    assert "--from-db" in result.stderr
    assert not (snflow_home / "sim" / "state.json").exists()


def test_a_busy_port_is_an_error_and_the_database_is_left_alone(snflow_home: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.20.1.2", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = sim("up", "-n", "4", "--port", str(port))
    assert result.exit_code == 1
    assert f"port {port} is not free on every host address" in result.stderr
    with db.read_connection() as conn:
        assert ClusterView(conn).nodelist == {}


def test_up_from_db_serves_the_databases_nodes() -> None:
    with db.transaction() as conn:
        conn.execute(
            TABLES["nodelist"].insert(),
            [{"node": "xsn1a", "groups": "service"}, {"node": "node01", "groups": "compute"}],
        )
        conn.execute(TABLES["noderes"].insert(), [{"node": "node01", "servicenode": "xsn1a"}])
    result = sim("up", "--from-db")
    assert result.exit_code == 0, result.stderr
    assert "1 service node(s) xsn1a, 1 compute node(s) node01" in result.stdout
    with db.read_connection() as conn:
        hosts = ClusterView(conn).rows("hosts", None, ["ip", "otherinterfaces"])
    assert hosts == {
        "xsn1a": {"ip": "127.10.0.1", "otherinterfaces": "xsn1a-b:127.20.0.1"},
        "node01": {"ip": "127.20.1.1"},
    }
