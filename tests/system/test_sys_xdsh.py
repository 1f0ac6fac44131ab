"""``snflow xdsh`` on the namespace cluster: real sshd, every CN through a service node."""

from __future__ import annotations

import pytest
from nsbed import Bed

pytestmark = pytest.mark.system


def _lines(stdout: str) -> dict[str, str]:
    """``node: text`` lines as node -> text (one line per node expected)."""
    out = {}
    for line in stdout.splitlines():
        node, _, text = line.partition(": ")
        assert node not in out, f"two lines from {node}"
        out[node] = text
    return out


def test_xdsh_reaches_every_compute_node_through_its_service_node(bed: Bed) -> None:
    """The CN's sshd sees the connection come from its primary SN's network "b" address."""
    run = bed.snflow("xdsh", "compute,service", 'echo "$(hostname) ${SSH_CLIENT%% *}"')
    assert run.returncode == 0, run.stderr
    seen = _lines(run.stdout)
    assert sorted(seen) == sorted(h.name for h in bed.plan.hosts if h.role != "mn")
    for cn in bed.plan.compute_nodes:
        primary = bed.plan.host(cn.service_nodes[0]).link("b").address
        assert seen[cn.name] == f"{cn.name} {primary}"
    for sn in bed.plan.service_nodes:
        assert seen[sn.name] == f"{sn.name} {bed.plan.mn.address}"


def test_with_sn1_cut_from_network_b_its_nodes_are_reached_through_sn2(bed: Bed) -> None:
    bed.set_link("sn1", "b", up=False)
    run = bed.snflow("xdsh", "compute", 'echo "${SSH_CLIENT%% *}"')
    assert run.returncode == 0, run.stderr
    sn2_b = bed.plan.host("sn2").link("b").address
    assert _lines(run.stdout) == {cn.name: sn2_b for cn in bed.plan.compute_nodes}
    assert "cn[001-008]: ok (through sn2)" in run.stderr


def test_with_both_service_nodes_cut_xdsh_fails_for_every_compute_node(bed: Bed) -> None:
    bed.set_link("sn1", "b", up=False)
    bed.set_link("sn2", "b", up=False)
    run = bed.snflow("xdsh", "compute,sn1", "true")
    assert run.returncode == 1
    assert "sn1: ok" in run.stderr
    for cn in bed.plan.compute_nodes:
        assert f"{cn.name}: " in run.stderr
