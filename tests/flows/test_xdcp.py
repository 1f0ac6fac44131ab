"""xdcp on the virtual cluster: the spec's §6 scenarios 1-10, 13-15 and 17.

Contents and modes are checked on the hosts' root directories; the staged copies on the
service nodes' (``<root>/var/xcat/syncfiles/<source path>``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner
from xdcp_fixtures import SPEC_DEFINITIONS, cluster_from, define, root, run_xdcp, staged

from snflow.cli.main import app
from snflow.sim import SimCluster

BAD_SN1 = "The following servicenodes: sn1 have errors and cannot be updated"
UNTIL = "Until the error is fixed, xdcp will not work to nodes serviced by these service nodes."


@pytest.fixture(scope="module")
def spec_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("xdcp")
    cluster = cluster_from(home, SPEC_DEFINITIONS)
    try:
        yield home
    finally:
        cluster.down()


@pytest.fixture
def sim(spec_home: Path, prefect_server: str, monkeypatch: pytest.MonkeyPatch) -> SimCluster:
    monkeypatch.setenv("SNFLOW_HOME", str(spec_home))
    cluster = SimCluster.attach(spec_home)
    for host in cluster.status().hosts:
        if not host.powered:
            cluster.power(host.name, True)
    cluster.reset_counters()
    return cluster


@pytest.fixture
def hosts_file(tmp_path: Path) -> Path:
    """A source file standing for the MN's /etc/hosts (mode 0640)."""
    path = tmp_path / "etc" / "hosts"
    path.parent.mkdir()
    path.write_text(f"127.0.0.1 localhost\n# {tmp_path.name}\n")
    path.chmod(0o640)
    return path


def assert_copy(sim: SimCluster, node: str, path: str, source: Path) -> None:
    copy = root(sim, node) / path.strip("/")
    assert copy.read_bytes() == source.read_bytes()
    assert copy.stat().st_mode & 0o777 == source.stat().st_mode & 0o777


def outcomes(report) -> dict[str, tuple[str, str | None]]:
    return {r.node: (r.outcome, r.via) for r in report.results}


def test_1_a_node_gets_the_file_through_its_sn(sim: SimCluster, hosts_file: Path) -> None:
    report = run_xdcp(noderange="cn1", sources=(str(hosts_file),), target="/tmp/hosts1")
    assert report.ok and outcomes(report) == {"cn1": ("ok", "sn1")}
    assert [s.service_node for s in report.staging] == ["sn1"]
    assert staged(sim, "sn1", str(hosts_file)).read_bytes() == hosts_file.read_bytes()
    assert not staged(sim, "sn2", str(hosts_file)).exists()
    assert_copy(sim, "cn1", "/tmp/hosts1", hosts_file)
    assert report.messages() == [] and report.results[0].output == ""


def test_2_a_node_without_sn_gets_it_from_the_mn(sim: SimCluster, hosts_file: Path) -> None:
    report = run_xdcp(noderange="cn9", sources=(str(hosts_file),), target="/tmp/hosts2")
    assert report.ok and outcomes(report) == {"cn9": ("ok", None)}
    assert report.staging == []
    assert_copy(sim, "cn9", "/tmp/hosts2", hosts_file)
    assert sim.status().host("sn1").counters.accepted == 0


def test_3_three_requests_into_a_directory(sim: SimCluster, hosts_file: Path) -> None:
    report = run_xdcp(noderange="cn1,cn3,cn9", sources=(str(hosts_file),), target="/tmp/")
    assert outcomes(report) == {"cn1": ("ok", "sn1"), "cn3": ("ok", "sn2"), "cn9": ("ok", None)}
    for sn in ("sn1", "sn2"):
        assert staged(sim, sn, str(hosts_file)).read_bytes() == hosts_file.read_bytes()
    for node in ("cn1", "cn3", "cn9"):
        assert_copy(sim, node, "/tmp/hosts", hosts_file)


def test_4_a_pool_is_staged_on_both_and_served_by_the_first(
    sim: SimCluster, hosts_file: Path
) -> None:
    report = run_xdcp(noderange="cn4", sources=(str(hosts_file),), target="/tmp/hosts4")
    assert report.ok and outcomes(report) == {"cn4": ("ok", "sn1")}
    assert {s.service_node for s in report.staging if s.ok} == {"sn1", "sn2"}
    assert staged(sim, "sn2", str(hosts_file)).exists()
    assert_copy(sim, "cn4", "/tmp/hosts4", hosts_file)


def test_5_with_sn1_off_the_backup_serves_and_the_error_is_reported(
    sim: SimCluster, hosts_file: Path
) -> None:
    sim.power("sn1", on=False)
    report = run_xdcp(noderange="cn4", sources=(str(hosts_file),), target="/tmp/hosts5")
    assert report.messages() == [BAD_SN1]  # cn4 had a working SN: no "Until ..." line
    assert outcomes(report) == {"cn4": ("ok", "sn2")}
    assert not report.ok  # an SN failed: exit status 1
    assert "cn4: copied through sn2" in report.summary()
    assert_copy(sim, "cn4", "/tmp/hosts5", hosts_file)


def test_6_a_node_whose_only_sn_is_down_is_not_updated(sim: SimCluster, hosts_file: Path) -> None:
    sim.power("sn2", on=False)
    report = run_xdcp(noderange="cn3", sources=(str(hosts_file),), target="/tmp/hosts6")
    assert report.messages() == [
        "The following servicenodes: sn2 have errors and cannot be updated",
        UNTIL,
    ]
    assert outcomes(report) == {"cn3": ("not-updated", None)}
    assert "none of its service nodes (sn2)" in report.results[0].message
    assert not (root(sim, "cn3") / "tmp/hosts6").exists()


def test_7_both_sns_failing_are_listed_together(sim: SimCluster, hosts_file: Path) -> None:
    sim.power("sn1", on=False)
    sim.power("sn2", on=False)
    report = run_xdcp(noderange="cn1,cn3", sources=(str(hosts_file),), target="/tmp/hosts7")
    assert report.messages() == [
        "The following servicenodes: sn1, sn2 have errors and cannot be updated",
        UNTIL,
    ]
    assert report.unserved == ["cn1", "cn3"]


def synclist(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "myrsync"
    path.write_text(text)
    return path


def test_8_a_synclist_is_staged_with_its_files_and_synced_from_the_sn(
    sim: SimCluster, tmp_path: Path, hosts_file: Path
) -> None:
    passwd = hosts_file.parent / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\n")
    passwd.chmod(0o644)
    sync = synclist(tmp_path, f"{hosts_file} {passwd} -> /etc\n")
    report = run_xdcp(noderange="cn1", synclist=str(sync))
    assert report.ok and outcomes(report) == {"cn1": ("ok", "sn1")}
    for path in (hosts_file, passwd, sync):
        assert staged(sim, "sn1", str(path)).read_bytes() == path.read_bytes()
    assert_copy(sim, "cn1", "/etc/hosts", hosts_file)
    assert_copy(sim, "cn1", "/etc/passwd", passwd)


def test_9_a_missing_synclist_is_an_error_and_nothing_runs(sim: SimCluster) -> None:
    result = CliRunner().invoke(app, ["xdcp", "cn1", "-F", "/tmp/nosuch-synclist"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: File:/tmp/nosuch-synclist does not exist."
    assert sim.status().totals.accepted == 0


def test_10_stage_only_stages_on_both_sns_and_copies_nothing(
    sim: SimCluster, tmp_path: Path, hosts_file: Path
) -> None:
    sync = synclist(tmp_path, f"{hosts_file} -> /etc/hosts10\n")
    report = run_xdcp(noderange="cn1,cn3", synclist=str(sync), stage_only=True)
    assert report.ok
    assert outcomes(report) == {"cn1": ("staged", None), "cn3": ("staged", None)}
    for sn in ("sn1", "sn2"):
        assert staged(sim, sn, str(hosts_file)).exists() and staged(sim, sn, str(sync)).exists()
    assert not (root(sim, "cn1") / "etc/hosts10").exists()
    assert sim.status().host("cn1").counters.accepted == 0


def test_13_a_pull_lands_on_the_sn_as_name_dot_underscore_node(sim: SimCluster) -> None:
    log = root(sim, "cn1") / "var/log/messages"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("cn1 log\n")
    report = run_xdcp(noderange="cn1", sources=("/var/log/messages",), target="/tmp/logs13",
                      pull=True)  # fmt: skip
    assert outcomes(report) == {"cn1": ("failed", "sn1")}
    assert report.results[0].message == (
        "Cannot copy to target /tmp/logs13. Directory does not exist."
    )
    (root(sim, "sn1") / "tmp/logs13").mkdir()
    report = run_xdcp(noderange="cn1", sources=("/var/log/messages",), target="/tmp/logs13",
                      pull=True)  # fmt: skip
    assert report.ok and report.summary() == ["cn1: pulled onto sn1"]
    assert (root(sim, "sn1") / "tmp/logs13/messages._cn1").read_text() == "cn1 log\n"


def test_a_pull_from_a_node_without_sn_lands_here(sim: SimCluster, tmp_path: Path) -> None:
    log = root(sim, "cn9") / "var/log/messages"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("cn9 log\n")
    fields = {"noderange": "cn9", "sources": ("/var/log/messages",), "pull": True}
    missing = run_xdcp(**fields, target=str(tmp_path / "nosuch"))
    assert missing.results[0].message.startswith("Cannot copy to target ")
    report = run_xdcp(**fields, target=str(tmp_path))
    assert report.ok and report.summary() == ["cn9: pulled onto the management node"]
    assert (tmp_path / "messages._cn9").read_text() == "cn9 log\n"


def test_ssh_options_and_user_reach_the_sns_ssh(sim: SimCluster, hosts_file: Path) -> None:
    report = run_xdcp(noderange="cn2", sources=(str(hosts_file),), target="/tmp/hosts-o",
                      node_options="-C -o ConnectTimeout=5", user="root")  # fmt: skip
    assert report.ok and outcomes(report) == {"cn2": ("ok", "sn1")}
    bad = run_xdcp(noderange="cn2", sources=(str(hosts_file),), target="/tmp/hosts-o",
                   node_options="-o NoSuchOption=1")  # fmt: skip
    assert outcomes(bad) == {"cn2": ("unreachable", "sn1")}
    assert "bad configuration option: nosuchoption" in bad.results[0].message.lower()


def test_14_unknown_nodes_are_refused_before_anything_runs(
    sim: SimCluster, hosts_file: Path
) -> None:
    result = CliRunner().invoke(app, ["xdcp", "cn1,nosuchnode", str(hosts_file), "/tmp"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: Invalid nodes and/or groups in noderange: nosuchnode"
    assert sim.status().totals.accepted == 0


def test_15_a_node_that_is_down_fails_alone_without_an_sn_message(
    sim: SimCluster, hosts_file: Path
) -> None:
    sim.power("cn1", on=False)
    report = run_xdcp(noderange="cn1,cn2", sources=(str(hosts_file),), target="/tmp/hosts15")
    assert report.messages() == []
    assert outcomes(report) == {"cn1": ("unreachable", "sn1"), "cn2": ("ok", "sn1")}
    assert "Connection refused" in report.results[0].message  # ssh's own words, on sn1
    assert not report.ok and report.failed == ["cn1"]
    assert_copy(sim, "cn2", "/tmp/hosts15", hosts_file)


def test_17_a_staging_directory_of_slash_stages_at_the_original_paths(
    sim: SimCluster, hosts_file: Path
) -> None:
    define([["chtab", "key=SNsyncfiledir", "site.value=/"]])
    try:
        report = run_xdcp(noderange="cn1", sources=(str(hosts_file),), target="/tmp/hosts17")
    finally:
        define([["chtab", "key=SNsyncfiledir", "site.value=/var/xcat/syncfiles"]])
    assert report.ok
    assert staged(sim, "sn1", str(hosts_file), syncdir="/").read_bytes() == hosts_file.read_bytes()
    assert_copy(sim, "cn1", "/tmp/hosts17", hosts_file)


def test_the_cli_prints_node_lines_messages_and_the_summary(
    sim: SimCluster, hosts_file: Path
) -> None:
    sim.power("sn1", on=False)
    result = CliRunner().invoke(app, ["xdcp", "cn3,cn4", str(hosts_file), "/tmp/hosts-cli"])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("sn1: cannot connect to sn1")
    assert lines[1] == BAD_SN1
    assert lines[-1].startswith("xdcp: cn[3-4]: copied through sn2 (run ")
    assert UNTIL not in result.stderr and result.stdout == ""
