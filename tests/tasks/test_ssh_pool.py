"""SshPool against the asyncssh test bed: reuse, hierarchy, fallback, timeouts, files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import paramiko
import pytest
from ssh_fixtures import BLACKHOLE, DEAD, SshTestBed, bed, ssh_bed

from snflow.models.errors import ConfigError
from snflow.models.routes import Route
from snflow.tasks.ssh import (
    CommandTimeout,
    ConnectError,
    SshError,
    SshPool,
    TransferError,
    build_command,
)

__all__ = ["bed", "ssh_bed"]  # fixtures used by name


def test_a_command_runs_on_a_service_node_with_status_and_both_streams(
    bed: SshTestBed, tmp_path: Path
) -> None:
    with SshPool(bed.settings(tmp_path)) as pool:
        result = pool.run(bed.route("sn1"), "echo out; echo err >&2; exit 3")
    assert (result.node, result.exit_status, result.outcome) == ("sn1", 3, "failed")
    assert (result.stdout, result.stderr, result.via) == (b"out\n", b"err\n", None)


def test_stdin_is_fed_to_the_command_then_closed(bed: SshTestBed, tmp_path: Path) -> None:
    data = os.urandom(300_000)  # more than one window's worth of channel packets
    with SshPool(bed.settings(tmp_path)) as pool:
        result = pool.run(bed.route("cn1"), "cat", stdin=data)
    assert result.ok and result.stdout == data


def test_a_command_may_exit_without_reading_its_stdin(bed: SshTestBed, tmp_path: Path) -> None:
    with SshPool(bed.settings(tmp_path)) as pool:
        result = pool.run(bed.route("sn2"), "echo done", stdin=b"x" * 5_000_000, timeout=10)
    assert result.ok and result.stdout == b"done\n"


def test_one_connection_carries_every_command_of_a_run(bed: SshTestBed, tmp_path: Path) -> None:
    with SshPool(bed.settings(tmp_path)) as pool:
        for i in range(5):
            assert pool.run(bed.route("sn1"), f"echo {i}").stdout == f"{i}\n".encode()
    sn1 = bed.hosts["sn1"].counters
    assert (sn1.accepted, sn1.commands) == (1, 5)


def test_a_compute_node_is_reached_through_its_service_node(
    bed: SshTestBed, tmp_path: Path
) -> None:
    with SshPool(bed.settings(tmp_path)) as pool:
        results = [pool.run(bed.route(cn), "echo $HOME") for cn in ("cn1", "cn2", "cn3")]
        results.append(pool.run(bed.route("cn1"), "true"))
    assert [r.via for r in results] == ["sn1"] * 4
    assert results[0].stdout.decode().strip() == str(bed.hosts["cn1"].root)
    sn1 = bed.hosts["sn1"].counters
    assert (sn1.accepted, sn1.forwards) == (1, 3)  # one SN connection, one channel per CN
    assert bed.hosts["cn1"].counters.peers == ["127.32.0.1"]  # the SN's network "b" address


def test_a_compute_node_cannot_be_reached_directly(bed: SshTestBed, tmp_path: Path) -> None:
    with SshPool(bed.settings(tmp_path)) as pool, pytest.raises(ConnectError) as err:
        pool.run(bed.route("cn1", servicenode=""), "true")
    assert err.value.host == "cn1"
    assert "cn1 (127.32.1.1" in str(err.value)
    assert bed.hosts["cn1"].counters.accepted == 0


def test_the_backup_service_node_serves_when_the_first_is_down(
    bed: SshTestBed, tmp_path: Path
) -> None:
    with SshPool(bed.settings(tmp_path)) as pool:
        result = pool.run(bed.route("cn2", servicenode=f"{DEAD[0]},sn2"), "echo ok")
        assert DEAD[0] in pool.failures
    assert result.ok and result.via == "sn2"
    assert bed.hosts["cn2"].counters.peers == ["127.32.0.2"]


def test_a_direct_connection_is_the_last_resort_when_the_management_node_is_listed(
    bed: SshTestBed, tmp_path: Path
) -> None:
    route = bed.route("sn2", servicenode=f"{DEAD[0]},mn")
    assert route.direct_fallback and [e.name for e in route.via] == [DEAD[0]]
    with SshPool(bed.settings(tmp_path)) as pool:
        assert pool.connect(route) is None
        assert pool.connect(bed.route("cn1")) == "sn1"


def test_a_failed_service_node_is_tried_once_per_run(bed: SshTestBed, tmp_path: Path) -> None:
    settings = bed.settings(tmp_path, banner_timeout=0.5, retries=2)
    nodes = ("cn1", "cn2", "cn3")
    routes = bed.routes(*nodes, servicenodes=dict.fromkeys(nodes, f"{BLACKHOLE[0]},sn1"))
    with SshPool(settings) as pool:
        results = [pool.run(r, "true") for r in routes.values()]
        failure = pool.failures[BLACKHOLE[0]]
    assert [r.via for r in results] == ["sn1"] * 3
    assert bed.blackhole.accepted == 1  # a banner timeout is not retried, nor retried per CN
    assert "blackhole (127.31.0.8" in failure and "banner" in failure


def test_when_no_service_node_can_reach_a_node_the_error_names_every_attempt(
    bed: SshTestBed, tmp_path: Path
) -> None:
    route = bed.route("cn1", servicenode=f"{DEAD[0]},sn1")
    blocked = Route(
        target=route.target.model_copy(update={"address": "127.33.0.1"}), via=route.via
    )  # sn1 may not forward outside network "b"
    with SshPool(bed.settings(tmp_path)) as pool, pytest.raises(ConnectError) as err:
        pool.run(blocked, "true")
    message = str(err.value)
    assert message.startswith("cannot reach cn1 through any of its service nodes")
    assert "service node deadsn" in message and "through sn1" in message


def test_a_command_past_its_timeout_raises_and_the_connection_stays_usable(
    bed: SshTestBed, tmp_path: Path
) -> None:
    with SshPool(bed.settings(tmp_path)) as pool:
        with pytest.raises(CommandTimeout) as err:
            pool.run(bed.route("cn4"), "echo started; sleep 30", timeout=0.5)
        assert err.value.stdout == b"started\n" and err.value.via == "sn1"
        assert str(err.value) == "command on cn4 timed out after 0.5 s"
        assert pool.run(bed.route("cn4"), "echo again").stdout == b"again\n"
    assert bed.hosts["cn4"].counters.accepted == 1


def test_put_writes_atomically_with_the_mode_and_get_reads_back(
    bed: SshTestBed, tmp_path: Path
) -> None:
    local = tmp_path / "local.conf"
    local.write_bytes(b"from a file\n")
    route = bed.route("cn5")
    with SshPool(bed.settings(tmp_path)) as pool:
        pool.run(route, build_command(["mkdir", "-p", str(bed.hosts["cn5"].root / "etc")]))
        pool.put(route, b"first\n", "/etc/x.conf", mode=0o600)
        pool.put(route, b"second\n", "/etc/x.conf", mode=0o640)  # replaces
        pool.put(route, local, "/etc/y.conf")
        assert pool.get(route, "/etc/x.conf") == b"second\n"
        with pytest.raises(TransferError) as err:
            pool.get(route, "/etc/missing")
    written = bed.hosts["cn5"].root / "etc" / "x.conf"
    assert written.read_bytes() == b"second\n"
    assert stat.S_IMODE(written.stat().st_mode) == 0o640
    assert (bed.hosts["cn5"].root / "etc" / "y.conf").read_bytes() == b"from a file\n"
    assert sorted(p.name for p in written.parent.iterdir()) == ["x.conf", "y.conf"]
    assert err.value.path == "/etc/missing" and "cn5" in str(err.value)


def test_close_ends_every_connection_and_the_pool(bed: SshTestBed, tmp_path: Path) -> None:
    pool = SshPool(bed.settings(tmp_path))
    for node in ("sn1", "cn1", "cn2"):
        pool.run(bed.route(node), "true")
    pool.close()
    assert bed.wait_no_connections()
    with pytest.raises(SshError, match="closed"):
        pool.run(bed.route("sn1"), "true")


def test_a_missing_identity_is_a_configuration_error(bed: SshTestBed, tmp_path: Path) -> None:
    settings = bed.settings(tmp_path, identity=tmp_path / "nokey")
    with SshPool(settings) as pool, pytest.raises(ConfigError, match="identity not found"):
        pool.run(bed.route("sn1"), "true")


def test_an_unknown_user_key_is_refused_with_the_host_named(
    bed: SshTestBed, tmp_path: Path
) -> None:
    other = tmp_path / "other_key"
    paramiko.RSAKey.generate(2048).write_private_key_file(str(other))
    settings = bed.settings(tmp_path, identity=other)
    with SshPool(settings) as pool, pytest.raises(ConnectError) as err:
        pool.run(bed.route("sn1"), "true")
    assert str(err.value).startswith("authentication as root to sn1 (127.31.0.1:")


def test_an_rsa_identity_works_too(bed: SshTestBed, tmp_path: Path) -> None:
    key = paramiko.RSAKey.generate(2048)
    path = tmp_path / "id_rsa"
    key.write_private_key_file(str(path))
    bed.authorize(key.asbytes())
    with SshPool(bed.settings(tmp_path, identity=path)) as pool:
        assert pool.run(bed.route("cn1"), "echo rsa").stdout == b"rsa\n"
