"""The namespace cluster itself: hierarchy, private files, daemons, safety, teardown."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from nsbed import BASE, Bed, BedError, cleanup_stale
from nsbed.netns import list_namespaces, netns_pids
from nsbed.procs import alive

pytestmark = pytest.mark.system


def test_the_mn_reaches_service_nodes_but_no_compute_node(bed: Bed) -> None:
    mn = bed.plan.mn
    for sn in bed.plan.service_nodes:
        out = bed.mn_run(["ip", "route", "get", sn.address])
        assert out.returncode == 0 and "dev eth0" in out.stdout and " via " not in out.stdout
    for cn in bed.plan.compute_nodes:
        out = bed.mn_run(["ip", "route", "get", cn.address])
        assert out.returncode != 0 and "unreachable" in out.stderr
    assert bed.mn_run(["ip", "route", "show", "default"]).stdout == ""
    assert mn.netns.startswith(bed.bed_id)


def test_service_nodes_forward_nothing(bed: Bed) -> None:
    """Even with a route to network "b" through sn1, the MN gets no TCP answer from a CN:
    sn1 drops what it would have to forward."""
    for sn in bed.plan.service_nodes:
        assert bed.host_run(sn.name, ["cat", "/proc/sys/net/ipv4/ip_forward"]).stdout == "0\n"
    sn1, cn = bed.plan.host("sn1"), bed.plan.compute_nodes[0]
    mn = bed.plan.mn.netns
    subprocess.run(
        ["ip", "-n", mn, "route", "add", f"{cn.address}/32", "via", sn1.address], check=True
    )
    try:
        probe = bed.mn_run(["busybox", "nc", "-w", "1", cn.address, "22"], input="")
    finally:
        subprocess.run(["ip", "-n", mn, "route", "del", f"{cn.address}/32"], check=True)
    assert "SSH-2.0" not in probe.stdout


def test_each_host_has_its_own_files(bed: Bed) -> None:
    cn1, cn2 = (h.name for h in bed.plan.compute_nodes[:2])
    assert bed.host_run(cn1, ["sh", "-c", "echo mine > /tmp/t && hostname"]).stdout == f"{cn1}\n"
    assert bed.path(cn1, "/tmp/t").read_text() == "mine\n"
    assert bed.host_run(cn2, ["cat", "/tmp/t"]).returncode != 0
    assert not Path("/tmp/t").exists() or Path("/tmp/t").read_text() != "mine\n"
    for mount in ("/etc", "/var", "/opt/xcat", "/tftpboot", "/tmp"):
        out = bed.host_run(cn1, ["findmnt", "-n", "-o", "TARGET", mount]).stdout.strip()
        assert out == mount
    assert bed.host_run(cn1, ["cat", "/etc/hostname"]).stdout == f"{cn1}\n"
    assert bed.host_run(cn1, ["ls", "/etc/init.d"]).returncode != 0  # nothing to start


def test_service_nodes_serve_tftp_on_network_b(bed: Bed) -> None:
    sn2 = bed.plan.host("sn2")
    bed.path("sn2", "/tftpboot/hello").write_text("from sn2\n")
    cn = bed.plan.compute_nodes[0].name
    out = bed.host_run(
        cn, ["busybox", "tftp", "-g", "-r", "hello", "-l", "/dev/stdout", sn2.link("b").address]
    )
    assert out.stdout == "from sn2\n", out.stderr


def test_a_route_leaving_the_bed_is_refused(bed: Bed) -> None:
    mn = bed.plan.mn.netns
    subprocess.run(
        ["ip", "-n", mn, "route", "add", "203.0.113.0/24", "via", "198.18.0.1"], check=True
    )
    try:
        with pytest.raises(BedError, match=re.escape("refusing to connect to 203.0.113.7")):
            bed.check_routes(mn, ["203.0.113.7"])
    finally:
        subprocess.run(["ip", "-n", mn, "route", "del", "203.0.113.0/24"], check=True)
    bed.check_routes(mn, bed.all_addresses())  # the bed's own routes pass


def test_a_bed_goes_away_completely_even_when_its_test_fails(bed_session: Bed) -> None:
    with pytest.raises(RuntimeError, match="test failed"), Bed.up(nodes=2, prefect=False) as small:
        namespaces = small.plan.namespaces
        pids = [p["pid"] for p in small.state["pids"].values()]
        assert all(netns_pids(ns) for ns in namespaces if not ns.endswith("-sw"))
        raise RuntimeError("test failed")
    assert not set(namespaces) & set(list_namespaces())
    assert not [p for p in pids if alive(p)]
    assert not small.root.exists()
    assert bed_session.root.exists()  # another bed is left alone


def test_beds_of_dead_runs_are_cleaned_but_live_ones_kept(bed_session: Bed) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = Bed.up(nodes=2, prefect=False, owner=gone.pid)
    try:
        removed = cleanup_stale()
        assert stale.bed_id in removed
        assert bed_session.bed_id not in removed
        assert not any(ns.startswith(stale.bed_id) for ns in list_namespaces())
        assert not (BASE / stale.bed_id).exists()
        assert os.path.isdir(bed_session.root)
    finally:
        stale.down()
