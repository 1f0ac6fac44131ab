"""xdcp as typed on the seed's example cluster, the bytes on the management node's links,
and a synclist end to end on the virtual cluster."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sim_fixtures import module_sim
from xdcp_fixtures import root, run_xdcp, staged

from snflow.sim import SimCluster

SNFLOW = str(Path(sys.executable).with_name("snflow"))


def snflow(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed ``snflow`` command, in a new process, as an administrator runs it."""
    return subprocess.run(
        [SNFLOW, *args], capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING"},
    )  # fmt: skip


def test_the_seeds_example_reports_service1_and_delivers_through_rhsn(
    prefect_server: str, snflow_home: Path, tmp_path: Path
) -> None:
    for args in (
        ["mkdef", "-t", "node", "-o", "service1,rhsn", "groups=service"],
        ["chdef", "cn4", "groups=compute", "servicenode=service1,rhsn"],
        ["sim", "up", "--from-db"],
    ):
        done = snflow(*args)
        assert done.returncode == 0, (args, done.stderr)
    try:
        assert snflow("sim", "power", "off", "service1").returncode == 0
        source = tmp_path / "lissa" / "file1"
        source.parent.mkdir()
        source.write_text("the seed's file\n")
        copied = snflow("xdcp", "cn4", str(source), "/tmp/file1")
        assert copied.returncode == 1, copied.stderr
        err = copied.stderr.splitlines()
        assert err[0].startswith("service1: cannot connect to service1")
        assert err[1] == "The following servicenodes: service1 have errors and cannot be updated"
        assert "Until the error is fixed" not in copied.stderr
        assert err[-1].startswith("xdcp: cn4: copied through rhsn (run ")
        listed = snflow("xdsh", "cn4", "ls", "/tmp/file1")
        assert (listed.returncode, listed.stdout) == (0, "cn4: /tmp/file1\n")
        sim = SimCluster.attach(snflow_home)
        assert (root(sim, "cn4") / "tmp/file1").read_text() == "the seed's file\n"
        assert staged(sim, "rhsn", str(source)).read_text() == "the seed's file\n"
    finally:
        snflow("sim", "down")


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """2 SNs and 64 CNs (sn1: cn001-032, sn2: cn033-064)."""
    yield from module_sim(tmp_path_factory, "xdcp64", service_nodes=2, nodes=64)


@pytest.fixture
def sim64(big: Path, prefect_server: str, monkeypatch: pytest.MonkeyPatch) -> SimCluster:
    monkeypatch.setenv("SNFLOW_HOME", str(big))
    cluster = SimCluster.attach(big)
    cluster.reset_counters()
    return cluster


def test_a_4mb_file_to_64_nodes_crosses_each_sn_link_once(
    sim64: SimCluster, tmp_path: Path
) -> None:
    data = os.urandom(4 << 20)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    report = run_xdcp(noderange="compute", sources=(str(source),), target="/tmp/big.bin")
    assert report.ok and len(report.results) == 64
    status = sim64.status()
    received = {sn: status.host(sn).counters.bytes_received for sn in ("sn1", "sn2")}
    total = sum(received.values())
    # once per SN (plus SSH framing and the small control archive), not once per node (256 MB)
    assert 8 << 20 < total < (8 << 20) * 1.05, received
    assert all(4 << 20 < b < (4 << 20) * 1.05 for b in received.values()), received
    assert {r.via for r in report.results} == {"sn1", "sn2"}
    for node in ("cn001", "cn032", "cn033", "cn064"):
        assert (root(sim64, node) / "tmp/big.bin").read_bytes() == data
    # the nodes got their copies from their SN's own ssh: no tunnel from the MN through it
    assert status.host("sn1").counters.forwards == status.host("sn2").counters.forwards == 0
    assert report.task_runs == 2 + 2 + 2 + 1  # read x2, stage x2, deliver x2, report


def test_a_synclist_with_clauses_and_a_filter_on_the_cluster(
    sim64: SimCluster, tmp_path: Path
) -> None:
    s = tmp_path
    (s / "motd.add").write_text("maintenance tonight\n")
    (s / "app.conf").write_text("x=1\n")
    (s / "app.conf").chmod(0o600)
    (s / "always.sh").write_text('#!/bin/sh\necho "ran on $NODE"\n')
    sync = s / "synclist"
    sync.write_text(
        f"{s}/app.conf -> (cn001,cn033) /etc/app/app.conf.new\n"
        f"APPEND:\n{s}/motd.add -> /etc/motd\nEXECUTEALWAYS:\n{s}/always.sh\n"
    )
    for _ in range(2):
        report = run_xdcp(noderange="cn[001-002],cn033", synclist=str(sync))
        assert report.ok, report
        assert [r.output for r in report.results] == [f"ran on {n}" for n in
                                                      ("cn001", "cn002", "cn033")]  # fmt: skip
    for node, has_conf in (("cn001", True), ("cn002", False), ("cn033", True)):
        r = root(sim64, node)
        assert (r / "etc/motd").read_text() == "maintenance tonight\n"
        conf = r / "etc/app/app.conf.new"
        assert conf.exists() == has_conf
        if has_conf:
            assert conf.stat().st_mode & 0o777 == 0o600
