"""Takeover and switch-back (``snflow snmove``) on the namespace cluster: real DHCP, TFTP,
conserver and node files, with sn1 cut from its compute nodes."""

from __future__ import annotations

import re

import pytest
from nsbed import Bed
from nsbed.probes import dhcp_exchange, tftp_get

pytestmark = pytest.mark.system

SN1_NODES = ("cn001", "cn002", "cn003", "cn004")


def _b(bed: Bed, sn: str) -> str:
    return bed.plan.host(sn).link("b").address


def _names(bed: Bed, sn: str) -> set[str]:
    """How a file may name ``sn`` to its nodes: its network "b" address or name."""
    return {_b(bed, sn), bed.plan.host(sn).b_name or ""}


def _hex(ip: str) -> str:
    return "".join(f"{int(part):02X}" for part in ip.split("."))


def assert_boots_from(bed: Bed, node: str, sn: str) -> None:
    """``node``'s DHCP answer comes from ``sn`` naming itself as next-server; the boot
    loader and the node's boot configuration come over TFTP from it and name it."""
    lease = dhcp_exchange(bed, node)
    assert lease is not None, f"{node}: no DHCP answer"
    server = _b(bed, sn)
    assert (lease.ip, lease.server, lease.next_server) == (
        bed.plan.host(node).address,
        server,
        server,
    )
    assert tftp_get(bed, node, lease.next_server, lease.boot_file), f"{node}: {lease.boot_file}"
    if lease.boot_file.lstrip("/").startswith("boot/grub2/"):  # xCAT's "/boot/grub2/grub2-<node>"
        config = f"boot/grub2/grub.cfg-{_hex(lease.ip)}"
    else:
        config = f"pxelinux.cfg/{_hex(lease.ip)}"
    text = tftp_get(bed, node, lease.next_server, config)
    assert text is not None, f"{node}: {config} not served by {sn}"
    assert f"XCAT={server}:" in text and f"NODE={node}" in text


def assert_node_files_name(bed: Bed, node: str, sn: str) -> None:
    """resolv.conf, time, syslog, xcatinfo and the default route of ``node`` name ``sn``."""
    names = _names(bed, sn)

    def read(path: str) -> str:
        return bed.path(node, path).read_text()

    assert re.findall(r"^nameserver (\S+)", read("/etc/resolv.conf"), re.M)[0] in names
    assert re.findall(r"^server (\S+)", read("/etc/chrony/chrony.conf"), re.M) in (
        [n] for n in names
    )
    assert re.findall(r"^\*\.\* @(\S+)", read("/etc/rsyslog.d/remote.conf"), re.M)[0] in names
    assert read("/opt/xcat/xcatinfo").strip() in {f"XCATSERVER={n}" for n in names}
    route = bed.host_run(node, ["ip", "route", "show", "default"]).stdout.split()
    assert route[:3] == ["default", "via", _b(bed, sn)], route


def consoles(bed: Bed, sn: str) -> list[str]:
    text = bed.path(sn, "/etc/conserver.cf").read_text()
    return re.findall(r"^console (cn\d+) \{", text, re.M)


def assert_conserver_accepts(bed: Bed, sn: str) -> None:
    check = bed.host_run(sn, ["conserver", "-S", "-C", "/etc/conserver.cf"])
    assert check.returncode == 0, check.stderr
    assert bed.host_run(sn, ["/etc/init.d/conserver-server", "status"]).returncode == 0


def attributes(bed: Bed, node: str) -> tuple[str, str]:
    out = bed.snflow("lsdef", node, "-i", "servicenode,xcatmaster").stdout
    values = dict(re.findall(r"^\s+(\w+)=(\S*)$", out, re.M))
    return values["servicenode"], values["xcatmaster"]


def test_takeover_with_sn1_cut_then_switch_back(booted: Bed) -> None:
    bed = booted
    sn2_nodes = [cn.name for cn in bed.plan.compute_nodes if cn.name not in SN1_NODES]

    # Takeover: sn1 loses network "b"; its nodes move to their backup.
    bed.set_link("sn1", "b", up=False)
    run = bed.snflow("snmove", "-s", "sn1")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "cn[001-004]: moved (sn1 -> sn2)" in run.stdout
    for node in SN1_NODES:
        assert attributes(bed, node) == ("sn2,sn1", "sn2-b")
        assert_boots_from(bed, node, "sn2")
        assert_node_files_name(bed, node, "sn2")
    assert sorted(consoles(bed, "sn2")) == [cn.name for cn in bed.plan.compute_nodes]
    assert_conserver_accepts(bed, "sn2")
    assert not set(consoles(bed, "sn1")) & set(SN1_NODES)  # sn1 reachable on "a": cleaned
    xdsh = bed.snflow("xdsh", "compute", 'echo "${SSH_CLIENT%% *}"')
    assert xdsh.returncode == 0 and "cn[001-008]: ok (through sn2)" in xdsh.stderr, xdsh.stderr

    # Switch-back: sn1 is repaired; its nodes come home.
    bed.set_link("sn1", "b", up=True)
    run = bed.snflow("snmove", "sn1group", "-d", "sn1", "-D", "sn1-b")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "cn[001-004]: moved (sn2 -> sn1)" in run.stdout
    bed.set_link("sn2", "b", up=False)  # so only sn1 can answer the DHCP exchange
    for node in SN1_NODES:
        assert attributes(bed, node) == ("sn1,sn2", "sn1-b")
        assert_boots_from(bed, node, "sn1")
        assert_node_files_name(bed, node, "sn1")
    bed.set_link("sn2", "b", up=True)
    assert sorted(consoles(bed, "sn1")) == list(SN1_NODES)
    assert sorted(consoles(bed, "sn2")) == sn2_nodes
    for sn in ("sn1", "sn2"):
        assert_conserver_accepts(bed, sn)
    xdsh = bed.snflow("xdsh", "compute", "true")
    assert "cn[001-004]: ok (through sn1); cn[005-008]: ok (through sn2)" in xdsh.stderr


def test_before_any_move_each_node_boots_from_its_primary(booted: Bed) -> None:
    for node, backup in (("cn001", "sn2"), ("cn005", "sn1")):
        booted.set_link(backup, "b", up=False)
        primary = booted.plan.host(node).service_nodes[0]
        assert_boots_from(booted, node, primary)
        assert_node_files_name(booted, node, primary)
        booted.set_link(backup, "b", up=True)
