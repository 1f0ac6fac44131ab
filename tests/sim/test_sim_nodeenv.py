"""Each simulated host's own environment: private ``/tmp``, its ``ip``, an SN's own ssh.

Runs real commands: the ``ip`` wrapper under ``/bin/sh``, and a virtual cluster (4 SNs,
8 CNs) whose hosts are driven over SSH as the product does. The fallback (no mount
namespace) is a second small cluster started with ``SNFLOW_SIM_ISOLATION=0``.
"""

from __future__ import annotations

import doctest
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest
from test_sim_cluster import run, ssh

from snflow.models.snmove_interfaces import parse_ip_addr
from snflow.sim import SimCluster, hostfiles, nodeenv
from snflow.sim.control import is_daemon
from snflow.sim.layout import plan_layout

SN_SSH = hostfiles.SN_SSH_COMMAND


@pytest.mark.parametrize("module", [nodeenv, hostfiles])
def test_docstring_examples_hold(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


# --- planning the isolation (pure) --------------------------------------------------------


@pytest.mark.parametrize(
    ("sim_dir", "existing", "euid", "alias", "targets", "extra"),
    [
        ("/root/.snflow/sim", ["/tmp", "/mnt"], 0, None, ("/tmp",), ()),
        ("/tmp/t/sim", ["/tmp", "/mnt", "/srv"], 0, "/mnt", ("/tmp",), ()),
        ("/tmp/t/sim", ["/tmp", "/srv"], 0, "/srv", ("/tmp",), ()),
        ("/home/u/sim", ["/tmp", "/opt/xcat", "/mnt"], 1000, None, ("/tmp", "/opt/xcat"),
         ("--map-root-user",)),
        ("/opt/xcat/s", ["/tmp", "/opt/xcat", "/mnt"], 0, "/mnt", ("/tmp", "/opt/xcat"), ()),
    ],
)  # fmt: skip
def test_isolation_binds_existing_targets_and_aliases_a_hidden_sim_dir(
    sim_dir: str,
    existing: list[str],
    euid: int,
    alias: str | None,
    targets: tuple[str, ...],
    extra: tuple[str, ...],
) -> None:
    plan = nodeenv.plan_isolation(sim_dir, existing=existing, euid=euid)
    assert isinstance(plan, nodeenv.Isolation)
    assert (plan.alias, plan.targets) == (alias, targets)
    assert plan.unshare == ("unshare", "--mount", "--propagation", "private", *extra)


def test_no_isolation_without_tmp_or_without_an_alias() -> None:
    assert nodeenv.plan_isolation("/x/sim", existing=["/mnt"], euid=0) == "/tmp does not exist"
    reason = nodeenv.plan_isolation("/tmp/x/sim", existing=["/tmp"], euid=0)
    assert isinstance(reason, str) and "under /tmp" in reason


def test_host_env_without_isolation_is_the_real_root() -> None:
    env = nodeenv.host_env("sn1", Path("/h/sim"), None)
    assert (env.noderoot, env.prefix) == ("/h/sim/sn1", ())


# --- the ip wrapper --------------------------------------------------------------------------


def _ip(tmp_path: Path, host: str, *args: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / f"ip-{host}"
    script.write_text(nodeenv.render_ip_wrapper(plan_layout(2, 4).host(host)))
    return subprocess.run(
        ["/bin/sh", str(script), *args], capture_output=True, text=True, check=False
    )


def test_ip_o_addr_prints_the_sn_addresses_as_iproute2_does(tmp_path: Path) -> None:
    done = _ip(tmp_path, "sn2", "-o", "addr", "show")
    lft = "\\       valid_lft forever preferred_lft forever"
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [
        f"1: lo    inet 127.0.0.1/8 scope host lo{lft}",
        f"1: lo    inet6 ::1/128 scope host {lft}",
        f"2: eth0    inet 127.10.0.2/16 brd 127.10.255.255 scope global eth0{lft}",
        f"3: eth1    inet 127.20.0.2/16 brd 127.20.255.255 scope global eth1{lft}",
    ]


@pytest.mark.parametrize(
    "args", [("addr",), ("a",), ("-4", "addr"), ("-4", "-o", "addr", "show"), ("address", "list")]
)
def test_every_form_parses_to_the_hosts_own_addresses(tmp_path: Path, args: tuple) -> None:
    done = _ip(tmp_path, "sn1", *args)
    found = {(i.ifname, i.address, i.prefixlen) for i in parse_ip_addr(done.stdout)}
    assert {("eth0", "127.10.0.1", 16), ("eth1", "127.20.0.1", 16)} <= found
    assert ("lo", "127.0.0.1", 8) in found


def test_plain_ip_addr_has_links_and_headers(tmp_path: Path) -> None:
    lines = _ip(tmp_path, "cn003", "addr").stdout.splitlines()
    assert lines[1] == "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00"
    assert lines[4] == "    inet6 ::1/128 scope host "
    assert lines[6].startswith("2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500")
    assert lines[7] == "    link/ether 02:00:00:00:01:03 brd ff:ff:ff:ff:ff:ff"
    assert lines[8] == "    inet 127.20.1.3/16 brd 127.20.255.255 scope global eth0"
    assert len(lines) == 10


def test_ip_addr_show_dev_names_one_interface(tmp_path: Path) -> None:
    done = _ip(tmp_path, "sn1", "-4", "addr", "show", "dev", "eth1")
    assert [i.address for i in parse_ip_addr(done.stdout)] == ["127.20.0.1"]
    missing = _ip(tmp_path, "sn1", "addr", "show", "eth9")
    assert (missing.returncode, missing.stderr) == (1, 'Device "eth9" does not exist.\n')


@pytest.mark.parametrize("args", [("route",), ("-4", "route", "get", "1.2.3.4"), ("link",)])
def test_other_ip_commands_are_refused(tmp_path: Path, args: tuple) -> None:
    done = _ip(tmp_path, "sn1", *args)
    assert done.returncode == 2 and "is simulated on sn1" in done.stderr


# --- a running cluster --------------------------------------------------------------------


def _up(home: Path, **kwargs: object) -> SimCluster:
    return SimCluster.up(home, database_url=f"sqlite:///{home}/cluster.sqlite", **kwargs)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimCluster]:
    """4 SNs (pairs sn1/sn2 and sn3/sn4), 8 CNs; always taken down."""
    sim = _up(tmp_path_factory.mktemp("sim"), service_nodes=4, nodes=8)
    try:
        yield sim
    finally:
        sim.down()
        if is_daemon(sim.pid):
            os.kill(sim.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def sn1(cluster: SimCluster) -> Iterator[paramiko.SSHClient]:
    client = ssh(cluster, "sn1")
    yield client
    client.close()


def test_the_cluster_runs_commands_in_a_private_mount_namespace(cluster: SimCluster) -> None:
    status = cluster.status()
    assert status.isolated, status.isolation
    assert "/tmp" in status.isolation


def test_a_nodes_tmp_is_its_own(cluster: SimCluster, sn1: paramiko.SSHClient) -> None:
    with ssh(cluster, "cn001", via=sn1) as cn1, ssh(cluster, "cn002", via=sn1) as cn2:
        assert run(cn1, "echo one > /tmp/file1 && ls /tmp/file1") == (0, b"/tmp/file1\n", b"")
        status, _, err = run(cn2, "ls /tmp/file1")
        assert status != 0 and b"No such file" in err
        # the machine's /tmp (where this test's directories are) is not what a node sees
        assert b"pytest-of-" not in run(cn2, "ls -a /tmp")[1]
    assert (cluster.home / "sim" / "cn001" / "tmp" / "file1").read_text() == "one\n"


def test_noderoot_paths_and_plain_paths_agree(cluster: SimCluster, sn1: paramiko.SSHClient) -> None:
    assert run(sn1, 'echo x > "$NODEROOT/tmp/a" && cat /tmp/a && rm /tmp/a') == (0, b"x\n", b"")


def test_ip_on_an_sn_shows_its_a_and_b_addresses(
    cluster: SimCluster, sn1: paramiko.SSHClient
) -> None:
    status, out, _ = run(sn1, "ip -o addr show")
    assert status == 0
    found = {i.address for i in parse_ip_addr(out.decode())}
    assert found == {"127.0.0.1", "::1", "127.10.0.1", "127.20.0.1"}


def test_an_sns_own_ssh_reaches_the_nodes_it_serves(
    cluster: SimCluster, sn1: paramiko.SSHClient
) -> None:
    status, out, err = run(sn1, f'{SN_SSH} cn002 "echo \\$NODE; ls /tmp"')
    assert (status, err) == (0, b""), err
    assert out.splitlines()[0] == b"cn002"


def test_an_sns_ssh_needs_its_node_facing_address(
    cluster: SimCluster, sn1: paramiko.SSHClient
) -> None:
    before = cluster.status().host("cn002").counters.refused
    status, _, err = run(sn1, f"{SN_SSH} -o BindAddress=127.0.0.1 cn002 true")
    assert status == 255 and b"Connection reset" in err
    assert cluster.status().host("cn002").counters.refused == before + 1


def test_an_sn_cannot_reach_a_node_it_does_not_serve(cluster: SimCluster) -> None:
    address = cluster.host("cn001").address  # served by sn1/sn2, not sn3
    with ssh(cluster, "sn3") as sn3:
        status, _, err = run(sn3, f"{SN_SSH} {address} true")
        assert status == 255, err
        status, _, err = run(sn3, f"{SN_SSH} cn001 true")
        assert status == 255 and b"Could not resolve hostname" in err


def test_a_key_other_than_its_sns_is_refused_by_a_cn(
    cluster: SimCluster, sn1: paramiko.SSHClient
) -> None:
    # sn3's key, copied to sn1 and used from sn1's address: cn001 does not know it
    sn3_key = cluster.home / "sim" / "sn3" / "root" / ".ssh" / "id_ed25519"
    copy = cluster.home / "sim" / "sn1" / "tmp" / "other_key"
    copy.write_bytes(sn3_key.read_bytes())
    copy.chmod(0o600)
    try:
        status, _, err = run(
            sn1,
            f"ssh -F none -i /tmp/other_key -o IdentitiesOnly=yes -o BatchMode=yes "
            f"-o UserKnownHostsFile=$NODEROOT/root/.ssh/known_hosts -o BindAddress=127.20.0.1 "
            f"-p {cluster.port} {cluster.host('cn001').address} true",
        )
    finally:
        copy.unlink()
    assert status == 255 and b"Permission denied" in err


# --- the fallback ----------------------------------------------------------------------------


def test_without_isolation_commands_see_the_machines_tmp_and_the_real_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(nodeenv.ISOLATION_ENV, "0")
    sim = _up(tmp_path, service_nodes=1, nodes=1)
    try:
        status = sim.status()
        assert not status.isolated and "SNFLOW_SIM_ISOLATION=0" in status.isolation
        with ssh(sim, "sn1") as sn:
            code, out, _ = run(sn, 'echo "$NODEROOT"; ls -d /tmp/pytest-of-*; ip -4 -o addr')
        lines = out.decode().splitlines()
        assert code == 0 and lines[0] == str(tmp_path / "sim" / "sn1")
        assert lines[1].startswith("/tmp/pytest-of-")
        assert "127.10.0.1/16" in lines[-2]
    finally:
        sim.down()
