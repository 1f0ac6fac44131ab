"""A running virtual cluster (2 SNs, 8 CNs) driven by a paramiko client, as the product would.

The client connects through a TCP_NODELAY socket, checks host keys against
``$SNFLOW_HOME/known_hosts`` with ``RejectPolicy`` and authenticates with
``$SNFLOW_HOME/id_ed25519``; compute nodes are reached through ``direct-tcpip`` channels on a
service node's connection.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paramiko
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from snflow.models import db
from snflow.models.schema import TABLES
from snflow.models.settings import get_settings
from snflow.sim import SimCluster, SimError
from snflow.sim.control import is_daemon, process_alive, wait_exit

DEADLINE = 10.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimCluster]:
    """2 SNs and 8 CNs for the whole module; always taken down, by PID if it must."""
    home = tmp_path_factory.mktemp("sim")
    sim = SimCluster.up(
        home, service_nodes=2, nodes=8, database_url=f"sqlite:///{home}/cluster.sqlite"
    )
    try:
        yield sim
    finally:
        try:
            sim.down()
        finally:
            if is_daemon(sim.pid):
                os.kill(sim.pid, signal.SIGKILL)


def _socket(address: str, port: int) -> socket.socket:
    sock = socket.create_connection((address, port), timeout=DEADLINE)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def ssh(
    cluster: SimCluster,
    name: str,
    via: paramiko.SSHClient | None = None,
    *,
    key: paramiko.PKey | None = None,
    known_hosts: Path | None = None,
) -> paramiko.SSHClient:
    """A connection to host ``name``, directly or through the SN connection ``via``."""
    host = cluster.host(name)
    if via is None:
        sock = _socket(host.address, cluster.port)
    else:
        transport = via.get_transport()
        assert transport is not None
        sock = transport.open_channel(
            "direct-tcpip", (host.address, cluster.port), ("127.0.0.1", 0), timeout=DEADLINE
        )
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts or cluster.home / "known_hosts"))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(
            host.address,
            port=cluster.port,
            username="root",
            pkey=key or paramiko.Ed25519Key.from_private_key_file(str(cluster.home / "id_ed25519")),
            sock=sock,
            look_for_keys=False,
            allow_agent=False,
            timeout=DEADLINE,
            banner_timeout=DEADLINE,
            auth_timeout=DEADLINE,
        )
    except BaseException:
        client.close()
        sock.close()
        raise
    return client


def run(client: paramiko.SSHClient, command: str, stdin: bytes = b"") -> tuple[int, bytes, bytes]:
    """Run ``command``; its exit status, stdout and stderr."""
    transport = client.get_transport()
    assert transport is not None
    chan = transport.open_session(timeout=DEADLINE)
    try:
        chan.exec_command(command)
        if stdin:
            chan.sendall(stdin)
        chan.shutdown_write()
        out = chan.makefile("rb").read()
        err = chan.makefile_stderr("rb").read()
        return chan.recv_exit_status(), out, err
    finally:
        chan.close()


def eventually(check: Callable[[], bool]) -> None:
    """Poll ``check`` until it holds, with a deadline (server-side closes are asynchronous)."""
    deadline = time.monotonic() + DEADLINE
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


@pytest.fixture
def sn1(cluster: SimCluster) -> Iterator[paramiko.SSHClient]:
    client = ssh(cluster, "sn1")
    yield client
    client.close()


# --- commands ---------------------------------------------------------------------------


def test_sn_runs_commands_in_its_root_with_a_controlled_environment(
    cluster: SimCluster, sn1: paramiko.SSHClient
) -> None:
    status, out, err = run(sn1, 'pwd; echo "$NODEROOT|$NODE|$HOME"; echo x > marker; env')
    lines = out.decode().splitlines()
    assert (status, err) == (0, b"")
    noderoot = lines[0]
    assert lines[1] == f"{noderoot}|sn1|{noderoot}"
    assert (cluster.home / "sim" / "sn1" / "marker").read_text() == "x\n"
    (cluster.home / "sim" / "sn1" / "marker").unlink()
    names = {line.partition("=")[0] for line in lines[2:]}
    assert {"NODEROOT", "NODE", "HOME", "PATH"} <= names <= {
        "NODEROOT", "NODE", "HOME", "PATH", "PWD", "SHLVL", "_", "OLDPWD",
    }  # fmt: skip


def test_exit_status_output_and_stdin_are_relayed_faithfully(sn1: paramiko.SSHClient) -> None:
    data = os.urandom(300_000)
    assert run(sn1, "cat; echo oops >&2; exit 7", stdin=data) == (7, data, b"oops\n")
    status, out, _ = run(sn1, "head -c 3000000 /dev/zero")
    assert (status, len(out)) == (0, 3_000_000)
    assert run(sn1, "kill -9 $$")[0] == -1  # died of a signal: no exit status


def test_host_roots_start_with_the_xcat_directories(
    cluster: SimCluster, sn1: paramiko.SSHClient
) -> None:
    with ssh(cluster, "cn003", via=sn1) as cn:
        assert run(cn, "ls; ls opt") == (0, b"etc\nopt\ntftpboot\ntmp\nvar\nxcat\n", b"")


def test_files_under_noderoot_stay_on_their_host(
    cluster: SimCluster, sn1: paramiko.SSHClient
) -> None:
    with ssh(cluster, "cn001", via=sn1) as cn:
        assert run(cn, 'echo here > "${NODEROOT:-}/etc/marker"')[0] == 0
    assert (cluster.home / "sim" / "cn001" / "etc" / "marker").read_text() == "here\n"
    assert not (cluster.home / "sim" / "cn002" / "etc" / "marker").exists()


def test_closing_a_channel_kills_the_process_group(sn1: paramiko.SSHClient) -> None:
    transport = sn1.get_transport()
    assert transport is not None
    chan = transport.open_session()
    chan.exec_command("sleep 300 & echo $!; wait")
    child = int(chan.makefile("rb").readline())
    assert process_alive(child)
    chan.close()
    assert wait_exit(child, DEADLINE)


def test_at_most_ten_sessions_per_connection(sn1: paramiko.SSHClient) -> None:
    transport = sn1.get_transport()
    assert transport is not None
    chans = [transport.open_session(timeout=DEADLINE) for _ in range(10)]
    with pytest.raises(paramiko.ChannelException) as refused:
        transport.open_session(timeout=DEADLINE)
    assert refused.value.code == paramiko.common.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
    chans.pop().close()
    eventually(lambda: _can_open_session(transport))
    for chan in chans:
        chan.close()


def _can_open_session(transport: paramiko.Transport) -> bool:
    try:
        transport.open_session(timeout=DEADLINE).close()
    except paramiko.ChannelException:
        return False
    return True


# --- hierarchy --------------------------------------------------------------------------


def test_cn_is_reached_through_either_of_its_sns(cluster: SimCluster) -> None:
    for sn in ("sn1", "sn2"):
        with ssh(cluster, sn) as via, ssh(cluster, "cn002", via=via) as cn:
            assert run(cn, "echo $NODE") == (0, b"cn002\n", b"")


def test_sn_forwards_to_a_cn_by_name(cluster: SimCluster, sn1: paramiko.SSHClient) -> None:
    transport = sn1.get_transport()
    assert transport is not None
    chan = transport.open_channel("direct-tcpip", ("cn004", cluster.port), ("127.0.0.1", 0))
    try:
        assert chan.recv(7) == b"SSH-2.0"
    finally:
        chan.close()


def test_mn_cannot_reach_a_cn_directly(cluster: SimCluster) -> None:
    before = cluster.status().host("cn005").counters.refused
    with pytest.raises((paramiko.SSHException, EOFError, OSError)):
        ssh(cluster, "cn005")
    assert cluster.status().host("cn005").counters.refused == before + 1


@pytest.mark.parametrize("destination", ["127.10.0.2", "127.0.0.1", "sn2", "localhost"])
def test_sn_refuses_to_forward_outside_network_b(
    cluster: SimCluster, sn1: paramiko.SSHClient, destination: str
) -> None:
    transport = sn1.get_transport()
    assert transport is not None
    with pytest.raises(paramiko.ChannelException) as refused:
        transport.open_channel("direct-tcpip", (destination, cluster.port), ("127.0.0.1", 0))
    assert refused.value.code == paramiko.common.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


def test_cn_forwards_nothing(cluster: SimCluster, sn1: paramiko.SSHClient) -> None:
    with ssh(cluster, "cn001", via=sn1) as cn:
        transport = cn.get_transport()
        assert transport is not None
        with pytest.raises(paramiko.ChannelException):
            transport.open_channel("direct-tcpip", ("127.20.1.2", cluster.port), ("x", 0))


# --- keys and SFTP ------------------------------------------------------------------------


def test_known_hosts_has_one_line_per_host_with_its_own_key(cluster: SimCluster) -> None:
    lines = (cluster.home / "known_hosts").read_text().splitlines()
    assert len(lines) == 10
    port = cluster.port
    assert lines[0].startswith(f"[sn1]:{port},[127.10.0.1]:{port} ssh-ed25519 ")
    assert f"[cn008]:{port},[127.20.1.8]:{port} ssh-ed25519 " in "\n".join(lines)
    assert len({line.split()[2] for line in lines}) == 10


def test_a_host_key_not_in_known_hosts_is_rejected(cluster: SimCluster, tmp_path: Path) -> None:
    lines = (cluster.home / "known_hosts").read_text().splitlines()
    wrong = tmp_path / "known_hosts"
    sn2_key = lines[1].split(" ", 1)[1]
    wrong.write_text(f"[127.10.0.1]:{cluster.port} {sn2_key}\n")  # sn1 with sn2's key
    with pytest.raises(paramiko.BadHostKeyException):
        ssh(cluster, "sn1", known_hosts=wrong)
    (tmp_path / "empty").write_text("")
    with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
        ssh(cluster, "sn1", known_hosts=tmp_path / "empty")


def _other_ed25519_key() -> paramiko.PKey:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    return paramiko.Ed25519Key.from_private_key(io.StringIO(pem.decode()))


def test_only_the_client_key_is_accepted(cluster: SimCluster) -> None:
    with pytest.raises(paramiko.AuthenticationException):
        ssh(cluster, "sn1", key=_other_ed25519_key())
    sock = _socket("127.10.0.1", cluster.port)
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=DEADLINE)
        with pytest.raises(paramiko.BadAuthenticationType) as info:
            transport.auth_password("root", "root")
        assert info.value.allowed_types == ["publickey"]
    finally:
        transport.close()


def test_sftp_is_chrooted_to_the_hosts_root(cluster: SimCluster, sn1: paramiko.SSHClient) -> None:
    with sn1.open_sftp() as sftp:
        sftp.putfo(io.BytesIO(b"synced\n"), "/etc/hello")
        assert sorted(sftp.listdir("/")) == ["etc", "opt", "root", "tftpboot", "tmp", "var"]
        assert sftp.normalize("/../../..") == "/"
        with pytest.raises(OSError):
            sftp.stat("/../../id_ed25519")
    assert (cluster.home / "sim" / "sn1" / "etc" / "hello").read_bytes() == b"synced\n"


# --- status, counters, power ---------------------------------------------------------------


def test_status_lists_every_host(cluster: SimCluster) -> None:
    status = cluster.status()
    assert (status.pid, status.port) == (cluster.pid, cluster.port)
    assert [h.name for h in status.hosts] == ["sn1", "sn2"] + [f"cn00{k}" for k in range(1, 9)]
    assert status.host("sn2").b_address == "127.20.0.2"
    assert all(h.powered for h in status.hosts)
    state = json.loads((cluster.home / "sim" / "state.json").read_text())
    assert state["pid"] == cluster.pid and len(state["hosts"]) == 10


def test_counters_show_bytes_and_concurrent_sessions(cluster: SimCluster) -> None:
    with ssh(cluster, "sn1") as client:
        eventually(lambda: cluster.status().host("sn1").counters.connections == 1)
        cluster.reset_counters()
        run(client, "cat > /dev/null", stdin=b"x" * 100_000)
        transport = client.get_transport()
        assert transport is not None
        chans = [transport.open_session() for _ in range(3)]
        for chan in chans:
            chan.exec_command("cat")
        eventually(lambda: cluster.status().host("sn1").counters.sessions == 3)
        for chan in chans:
            chan.close()
        eventually(lambda: cluster.status().host("sn1").counters.sessions == 0)
    status = cluster.status()
    sn1 = status.host("sn1").counters
    assert sn1.bytes_received >= 100_000
    assert (sn1.max_sessions, sn1.commands) == (3, 4)
    assert status.host("sn2").counters.bytes_received == 0
    assert status.totals.max_sessions == 3


def test_power_off_drops_a_cn_and_power_on_restores_it(cluster: SimCluster) -> None:
    with ssh(cluster, "sn2") as via:
        cn = ssh(cluster, "cn005", via=via)
        try:
            assert cluster.power("cn005", on=False) is True
            assert cluster.power("cn005", on=False) is False
            with pytest.raises((paramiko.SSHException, EOFError, OSError)):
                run(cn, "true")
            with pytest.raises(paramiko.ChannelException) as refused:
                ssh(cluster, "cn005", via=via)
            assert refused.value.code == paramiko.common.OPEN_FAILED_CONNECT_FAILED
            assert cluster.status().host("cn005").powered is False
        finally:
            cn.close()
            cluster.power("cn005", on=True)
        with ssh(cluster, "cn005", via=via) as again:
            assert run(again, "echo $NODE") == (0, b"cn005\n", b"")


def test_power_off_an_sn_refuses_new_connections(cluster: SimCluster) -> None:
    client = ssh(cluster, "sn2")
    try:
        cluster.power("sn2", on=False)
        with pytest.raises((paramiko.SSHException, EOFError, OSError)):
            run(client, "true")
        with pytest.raises(ConnectionRefusedError):
            _socket("127.10.0.2", cluster.port)
    finally:
        client.close()
        cluster.power("sn2", on=True)
    with ssh(cluster, "sn2") as again:
        assert run(again, "echo $NODE")[1] == b"sn2\n"


def test_unknown_host_is_an_error(cluster: SimCluster) -> None:
    with pytest.raises(SimError, match='unknown host: "cn999"'):
        cluster.power("cn999", on=False)


def test_a_second_up_is_refused_while_one_runs(cluster: SimCluster) -> None:
    with pytest.raises(SimError, match=re.escape(f"already running in {cluster.home}")):
        SimCluster.up(cluster.home, database_url=f"sqlite:///{cluster.home}/cluster.sqlite")


def test_the_product_reads_the_port_from_settings(
    cluster: SimCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SNFLOW_HOME", str(cluster.home))
    assert get_settings().ssh.port == cluster.port


# --- down ---------------------------------------------------------------------------------


def test_down_leaves_no_process_and_kills_a_daemon_that_does_not_answer(
    snflow_home: Path,
) -> None:
    started = time.monotonic()
    sim = SimCluster.up(service_nodes=2, nodes=32)
    assert time.monotonic() - started < 15
    try:
        os.kill(sim.pid, signal.SIGSTOP)  # it cannot answer "shutdown" now
        sim.down(timeout=0.5)
        assert not process_alive(sim.pid)
        assert not (snflow_home / "sim" / "control.sock").exists()
        assert not (snflow_home / "sim" / "state.json").exists()
        with pytest.raises(SimError, match="no virtual cluster is running"):
            SimCluster.attach()
    finally:
        if is_daemon(sim.pid):
            os.kill(sim.pid, signal.SIGKILL)


def test_from_db_serves_hosts_with_other_names_and_their_hierarchy(snflow_home: Path) -> None:
    nodelist, noderes = TABLES["nodelist"], TABLES["noderes"]
    with db.transaction() as conn:
        conn.execute(
            nodelist.insert(),
            [
                {"node": "xsn1a", "groups": "service"},
                {"node": "xsn2a", "groups": "service"},
                {"node": "node01", "groups": "compute"},
                {"node": "node02", "groups": "compute"},
                {"node": "node03", "groups": "compute"},
            ],
        )
        conn.execute(
            noderes.insert(),
            [
                {"node": "node01", "servicenode": "xsn1a", "xcatmaster": "xsn1b"},
                {"node": "node02", "servicenode": "xsn2a,xsn1a", "xcatmaster": "xsn2b"},
            ],
        )
    sim = SimCluster.up(from_db=True)
    try:
        assert [h.name for h in sim.hosts] == ["xsn1a", "xsn2a", "node01", "node02", "node03"]
        with ssh(sim, "xsn1a") as sn_a, ssh(sim, "xsn2a") as sn_b:
            with ssh(sim, "node01", via=sn_a) as cn:
                assert run(cn, "echo $NODE")[1] == b"node01\n"
            with ssh(sim, "node02", via=sn_b) as cn:
                assert run(cn, "echo $NODE")[1] == b"node02\n"
            with pytest.raises((paramiko.SSHException, EOFError, OSError)):
                ssh(sim, "node01", via=sn_b)  # not one of node01's service nodes
        with ssh(sim, "node03") as cn:  # no service node: managed from the MN
            assert run(cn, "echo $NODE")[1] == b"node03\n"
        assert sim.host("xsn1a").b_name == "xsn1b"
    finally:
        sim.down()
