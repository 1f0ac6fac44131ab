"""``snflow makedhcp`` on real ISC dhcpd, and real DHCP exchanges from compute nodes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from nsbed import Bed
from nsbed.netns import ip
from nsbed.probes import dhcp_exchange

pytestmark = pytest.mark.system


def _b(bed: Bed, sn: str) -> str:
    return bed.plan.host(sn).link("b").address


@pytest.fixture
def dhcp(bed: Bed) -> Bed:
    """Every node's DHCP entries on both SNs of its pool (and the SNs' on the MN)."""
    run = bed.snflow("makedhcp", "-a")
    assert run.returncode == 0, run.stderr
    return bed


def test_makedhcp_configures_both_service_nodes_and_their_dhcpd_accepts_it(bed: Bed) -> None:
    run = bed.snflow("makedhcp", "-a")
    assert run.returncode == 0, run.stderr
    cns = [cn.name for cn in bed.plan.compute_nodes]
    for sn in bed.plan.service_nodes:
        text = bed.path(sn.name, "/etc/dhcp/snflow.conf").read_text()
        assert [cn for cn in cns if f"host {cn} {{" in text] == cns
        assert f"next-server {sn.link('b').address};" in text
        check = bed.host_run(sn.name, ["dhcpd", "-t", "-cf", "/etc/dhcp/dhcpd.conf"])
        assert check.returncode == 0, check.stderr
        assert bed.host_run(sn.name, ["/etc/init.d/isc-dhcp-server", "status"]).returncode == 0
    again = bed.snflow("makedhcp", "-a")  # nothing changed: nothing reloaded
    assert again.returncode == 0 and "reloaded: none" in again.stderr, again.stderr


def test_a_compute_node_gets_its_address_and_next_server_from_an_sn_of_its_pool(dhcp: Bed) -> None:
    """Both SNs answer (decision 11): whichever is first names itself as next-server."""
    for cn in dhcp.plan.compute_nodes:
        lease = dhcp_exchange(dhcp, cn.name)
        assert lease is not None, f"{cn.name}: no DHCP answer"
        assert lease.ip == cn.address
        assert lease.server in {_b(dhcp, sn) for sn in cn.service_nodes}
        assert lease.next_server == lease.server == lease.router


@pytest.mark.parametrize("node", ["cn001", "cn005"])
def test_with_its_backup_cut_a_compute_node_is_answered_by_its_primary(
    dhcp: Bed, node: str
) -> None:
    cn = dhcp.plan.host(node)
    primary, backup = cn.service_nodes
    dhcp.set_link(backup, "b", up=False)
    lease = dhcp_exchange(dhcp, node)
    assert lease is not None
    assert (lease.ip, lease.server, lease.next_server) == (cn.address, *[_b(dhcp, primary)] * 2)
    assert lease.boot_file


def test_an_unknown_mac_gets_no_answer(dhcp: Bed) -> None:
    cn = dhcp.plan.compute_nodes[0]
    ip(["-n", cn.netns, "link", "set", "eth0", "address", "02:00:00:99:99:99"])
    try:
        assert dhcp_exchange(dhcp, cn.name, tries=2) is None
    finally:
        ip(["-n", cn.netns, "link", "set", "eth0", "address", cn.link("b").mac])


@pytest.fixture
def kea(bed: Bed) -> Iterator[Bed]:
    """``site.dhcpbackend=kea``: ISC dhcpd stopped on every DHCP host, Kea started by
    makedhcp's reload; afterwards the links and the database as they were, Kea stopped,
    dhcpd back."""
    hosts = [bed.plan.mn.name, *(sn.name for sn in bed.plan.service_nodes)]
    try:
        for host in hosts:
            bed.service(host, "isc-dhcp-server", "stop")
        run = bed.snflow("chtab", "key=dhcpbackend", "site.value=kea")
        assert run.returncode == 0, run.stderr
        yield bed
    finally:
        # Links up first: dhcpd refuses to start on an SN whose "b" link the test cut.
        bed.reset()
        for host in hosts:
            bed.service(host, "kea-dhcp4-server", "stop")
            bed.service(host, "isc-dhcp-server", "start")


def test_with_kea_a_compute_node_is_answered_by_kea_on_its_primary(kea: Bed) -> None:
    run = kea.snflow("makedhcp", "-a")
    assert run.returncode == 0, run.stderr
    for sn in kea.plan.service_nodes:
        check = kea.host_run(sn.name, ["kea-dhcp4", "-t", "/etc/kea/kea-dhcp4.conf"])
        assert check.returncode == 0, check.stdout + check.stderr
        assert kea.host_run(sn.name, ["/etc/init.d/kea-dhcp4-server", "status"]).returncode == 0
    cn = kea.plan.host("cn002")
    kea.set_link("sn2", "b", up=False)
    lease = dhcp_exchange(kea, cn.name)
    assert lease is not None
    assert (lease.ip, lease.server, lease.next_server) == (cn.address, *[_b(kea, "sn1")] * 2)
