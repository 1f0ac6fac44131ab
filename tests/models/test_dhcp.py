"""makedhcp planning and rendering: both service nodes of a pool, the real checkers."""

from __future__ import annotations

import doctest
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from snflow.models.dhcp import DhcpHostConfig, plan_dhcp, render_isc, render_isc_main, render_kea
from snflow.models.errors import SnflowError
from snflow.models.services import (
    Interface,
    Network,
    NodeInfo,
    ServiceConfigError,
    ServiceHost,
    ServiceState,
    Site,
    make_header,
)

HEADER = make_header("run-42", "makedhcp")
NETBOOTS = ("pxe", "xnba", "grub2", "pxe")


def host(name: str, *ifaces: tuple[str, str], **flags: object) -> ServiceHost:
    return ServiceHost(
        name=name, interfaces=tuple(Interface(name=n, address=a) for n, a in ifaces), **flags
    )


def make_state(backend: str = "isc", nodes: list[NodeInfo] | None = None, **net_b: str):
    """MN on network a; sn1, sn2 on a and b; cn1-4 pool sn1,sn2 and cn5-8 pool sn2,sn1."""
    if nodes is None:
        nodes = []
        for i in range(1, 9):
            pool = ("sn1", "sn2") if i <= 4 else ("sn2", "sn1")
            nodes.append(
                NodeInfo(
                    name=f"cn{i}",
                    mac=f"02:00:00:00:00:{i:02x}",
                    ip=f"127.20.1.{i}",
                    servicenode=pool,
                    xcatmaster=f"{pool[0]}-b",
                    netboot=NETBOOTS[(i - 1) % 4],
                )
            )
    row_b = {
        "netname": "b",
        "net": "127.20.0.0",
        "mask": "255.255.0.0",
        "mgtifname": "eth1",
        "gateway": "<xcatmaster>",
        "nameservers": "<xcatmaster>",
        "dynamicrange": "127.20.200.1-127.20.200.100",
        "dhcpserver": "sn1-b",
    } | net_b
    return ServiceState(
        site=Site(master="127.10.0.1", domain="cluster.test", dhcpbackend=backend),
        hosts=(
            host("mn", ("mn", "127.10.0.1"), is_mn=True),
            host("sn1", ("sn1", "127.10.0.11"), ("sn1-b", "127.20.0.1"), dhcpserver="1"),
            host("sn2", ("sn2", "127.10.0.12"), ("sn2-b", "127.20.0.2"), dhcpserver="1"),
        ),
        networks=(
            Network(netname="a", net="127.10.0.0", mask="255.255.0.0", mgtifname="eth0"),
            Network(**row_b),
        ),
        nodes=tuple(nodes),
    )


def with_node(state: ServiceState, name: str, **changes: object) -> ServiceState:
    nodes = tuple(
        NodeInfo.model_validate(n.model_dump() | changes) if n.name == name else n
        for n in state.nodes
    )
    return state.model_copy(update={"nodes": nodes})


def entry(config: DhcpHostConfig, node: str):
    return next(e for e in config.entries if e.node == node)


# --- planning -----------------------------------------------------------------------------


def test_every_node_has_an_entry_on_both_service_nodes_of_its_pool() -> None:
    plan = plan_dhcp(make_state())
    assert sorted(plan) == ["sn1", "sn2"]
    for config in plan.values():
        assert [e.node for e in config.entries] == [f"cn{i}" for i in range(1, 9)]


@pytest.mark.parametrize(
    ("node", "sn", "next_server"),
    [
        ("cn1", "sn1", "127.20.0.1"),
        ("cn1", "sn2", "127.20.0.2"),
        ("cn5", "sn2", "127.20.0.2"),
        ("cn5", "sn1", "127.20.0.1"),
    ],
)
def test_next_server_is_the_answering_service_nodes_own_address(
    node: str, sn: str, next_server: str
) -> None:
    assert entry(plan_dhcp(make_state())[sn], node).next_server == next_server


@pytest.mark.parametrize(
    ("tftpserver", "on_sn1", "on_sn2"),
    [
        pytest.param("sn1-b", "127.20.0.1", "127.20.0.1", id="node-facing-name"),
        pytest.param("127.20.9.9", "127.20.9.9", "127.20.9.9", id="address"),
        pytest.param("sn2", "127.20.0.2", "127.20.0.2", id="mn-facing-name"),
        pytest.param("<xcatmaster>", "127.20.0.1", "127.20.0.2", id="placeholder"),
    ],
)
def test_an_explicit_tftpserver_is_the_next_server_on_every_host(
    tftpserver: str, on_sn1: str, on_sn2: str
) -> None:
    plan = plan_dhcp(with_node(make_state(), "cn1", tftpserver=tftpserver))
    assert entry(plan["sn1"], "cn1").next_server == on_sn1
    assert entry(plan["sn2"], "cn1").next_server == on_sn2


@pytest.mark.parametrize(
    ("netboot", "field", "value"),
    [
        ("pxe", "filename", "pxelinux.0"),
        ("xnba", "filename", "xcat/xnba.kpxe"),
        ("xnba", "xnba_url", "http://127.20.0.2/tftpboot/xcat/xnba/nodes/cn1"),
        ("grub2", "filename", "/boot/grub2/grub2-cn1"),
        ("grub2-http", "filename", "/boot/grub2/grub2-cn1"),
        ("yaboot", "filename", "/yb/node/yaboot-cn1"),
        ("petitboot", "conf_file", "http://127.20.0.2/tftpboot/petitboot/cn1"),
        ("", "filename", ""),
    ],
)
def test_the_boot_file_follows_netboot(netboot: str, field: str, value: str) -> None:
    plan = plan_dhcp(with_node(make_state(), "cn1", netboot=netboot))
    assert getattr(entry(plan["sn2"], "cn1"), field) == value


def test_delete_removes_the_node_from_both_service_nodes() -> None:
    plan = plan_dhcp(make_state(), nodes=[], delete=["cn3"])
    assert sorted(plan) == ["sn1", "sn2"]
    for config in plan.values():
        assert "cn3" not in {e.node for e in config.entries}
        assert len(config.entries) == 7


def test_a_noderange_rewrites_only_the_hosts_that_serve_it() -> None:
    state = make_state()
    sn3 = host("sn3", ("sn3", "127.10.0.13"), ("sn3-b", "127.20.0.3"), dhcpserver="yes")
    cn9 = NodeInfo(name="cn9", mac="02:00:00:00:00:09", ip="127.20.1.9", servicenode=("sn3",))
    state = state.model_copy(update={"hosts": (*state.hosts, sn3), "nodes": (*state.nodes, cn9)})
    assert sorted(plan_dhcp(state, nodes=["cn1"])) == ["sn1", "sn2"]
    assert sorted(plan_dhcp(state)) == ["sn1", "sn2", "sn3"]
    assert [e.node for e in plan_dhcp(state, nodes=["cn9"])["sn3"].entries] == ["cn9"]


def test_a_service_node_without_the_dhcp_role_gets_no_file() -> None:
    state = make_state()
    hosts = tuple(h.model_copy(update={"dhcpserver": h.name != "sn2"}) for h in state.hosts)
    assert sorted(plan_dhcp(state.model_copy(update={"hosts": hosts}))) == ["sn1"]


def test_a_node_without_service_node_is_served_by_the_management_node() -> None:
    state = make_state()
    mn = host("mn", ("mn", "127.10.0.1"), ("mn-b", "127.20.0.254"), is_mn=True)
    state = with_node(
        state.model_copy(update={"hosts": (mn, *state.hosts[1:])}), "cn8", servicenode=()
    )
    plan = plan_dhcp(state)
    assert [e.node for e in plan["mn"].entries] == ["cn8"]
    assert entry(plan["mn"], "cn8").next_server == "127.20.0.254"
    assert "cn8" not in {e.node for e in plan["sn1"].entries}


def test_the_networks_part_has_the_subnet_and_its_range_on_the_dhcpserver_only() -> None:
    plan = plan_dhcp(make_state(), networks_only=True)
    for name, config in plan.items():
        assert config.entries == ()
        b = next(s for s in config.subnets if s.label == "b")
        assert b.network == "127.20.0.0/16"
        expected = (("127.20.200.1", "127.20.200.100"),) if name == "sn1" else ()
        assert b.ranges == expected
    b2 = next(s for s in plan["sn2"].subnets if s.label == "b")
    assert (b2.routers, b2.next_server, b2.nameservers) == ("127.20.0.2",) * 2 + (("127.20.0.2",),)


def test_a_range_shared_by_two_servers_needs_networks_dhcpserver() -> None:
    with pytest.raises(ServiceConfigError, match=r"network b .* set networks\.dhcpserver"):
        plan_dhcp(make_state(dhcpserver=""))


def test_mac_aliases_and_second_macs_become_their_own_entries() -> None:
    mac = "02:00:00:00:00:01|02-00-00-00-0A-01!cn1-ib|020000000b01"
    state = with_node(make_state(), "cn1", mac=mac, aliases={"cn1-ib": "127.20.2.1"})
    got = [(e.name, e.hostname, e.mac, e.ip) for e in plan_dhcp(state)["sn1"].entries[:3]]
    assert got == [
        ("cn1", "cn1", "02:00:00:00:00:01", "127.20.1.1"),
        ("cn1-ib", "cn1-ib", "02:00:00:00:0a:01", "127.20.2.1"),
        ("cn1-1", "cn1", "02:00:00:00:0b:01", "127.20.1.1"),
    ]


@pytest.mark.parametrize(
    ("node", "changes", "message"),
    [
        pytest.param(
            "cn3",
            {"mac": "02:00:00:00:00:01"},
            "duplicate MAC 02:00:00:00:00:01: cn1 and cn3",
            id="duplicate-mac",
        ),
        pytest.param(
            "cn3",
            {"mac": "02:00:00:00:00:03|02:00:00:00:00:03!x"},
            "duplicate MAC 02:00:00:00:00:03: listed 2 times for cn3",
            id="mac-twice-in-a-node",
        ),
        pytest.param("cn3", {"mac": "02:00:00:00:zz:03"}, "cn3: invalid MAC address", id="bad-mac"),
        pytest.param(
            "cn3",
            {"ip": "127.20.1.1"},
            "duplicate IP address 127.20.1.1: cn1 and cn3",
            id="duplicate-ip",
        ),
        pytest.param(
            "cn3",
            {"ip": "127.30.0.3"},
            "cn3: 127.30.0.3 is on no network that sn1 serves",
            id="ip-outside-every-subnet",
        ),
        pytest.param("cn3", {"ip": ""}, "cn3: no valid IP address", id="no-ip"),
        pytest.param(
            "cn3",
            {"servicenode": ("sn1", "sn9")},
            "cn3: service node 'sn9' is not a known",
            id="unknown-service-node",
        ),
        pytest.param(
            "cn3",
            {"tftpserver": "nowhere"},
            "cn3: cannot resolve tftpserver 'nowhere'",
            id="unresolvable-tftpserver",
        ),
    ],
)
def test_bad_node_data_is_a_clear_error_before_anything_is_rendered(
    node: str, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ServiceConfigError) as caught:
        plan_dhcp(with_node(make_state(), node, **changes))
    assert message in str(caught.value)
    assert isinstance(caught.value, SnflowError | ValueError)


def test_every_problem_of_a_run_is_reported_together() -> None:
    state = with_node(make_state(), "cn3", mac="02:00:00:00:00:01")
    state = with_node(state, "cn5", ip="10.9.9.9")
    with pytest.raises(ServiceConfigError) as caught:
        plan_dhcp(state, nodes=["cn1", "cn3", "cn5", "nosuch"])
    problems = caught.value.problems
    assert "nosuch: unknown node" in problems
    assert "duplicate MAC 02:00:00:00:00:01: cn1 and cn3" in problems
    assert any(p.startswith("cn5: 10.9.9.9 is on no network") for p in problems)


def test_a_requested_node_without_mac_is_an_error() -> None:
    with pytest.raises(ServiceConfigError, match="cn2: no MAC address"):
        plan_dhcp(with_node(make_state(), "cn2", mac=""), nodes=["cn2"])


def test_a_gateway_off_the_network_is_an_error() -> None:
    with pytest.raises(ServiceConfigError, match=r"gateway 10\.0\.0\.1 is not on the network"):
        plan_dhcp(make_state(gateway="10.0.0.1"))


# --- rendering ------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["isc", "kea"])
def test_rendering_is_deterministic_and_carries_the_header(backend: str) -> None:
    state = make_state(backend)
    shuffled = state.model_copy(update={"nodes": tuple(reversed(state.nodes))})
    render = render_isc if backend == "isc" else render_kea
    first = render(plan_dhcp(state)["sn2"], HEADER)
    assert first == render(plan_dhcp(shuffled)["sn2"], HEADER)
    marker = "#" if backend == "isc" else "//"
    assert first.splitlines()[0] == f"{marker} {HEADER}"
    assert "Generated by snflow (flow run run-42)" in first


def test_nodes_are_in_natural_order() -> None:
    nodes = [
        NodeInfo(
            name=f"n{i}", mac=f"02:00:00:00:01:{i:02x}", ip=f"127.20.3.{i}", servicenode=("sn1",)
        )
        for i in (10, 2, 1)
    ]
    text = render_isc(plan_dhcp(make_state(nodes=nodes))["sn1"], HEADER)
    assert re.findall(r"^host (\S+)", text, re.MULTILINE) == ["n1", "n2", "n10"]


def test_isc_host_entry_reads_as_xcat_writes_it() -> None:
    text = render_isc(plan_dhcp(make_state())["sn2"], HEADER)
    assert (
        "host cn1 {  # cn1\n  hardware ethernet 02:00:00:00:00:01;\n  fixed-address 127.20.1.1;\n"
        '  next-server 127.20.0.2;\n  filename "pxelinux.0";\n  option host-name "cn1";\n'
        '  ddns-hostname "cn1";\n}\n'
    ) in text


def test_kea_subnet_ids_are_the_network_number_and_interfaces_come_from_mgtifname() -> None:
    config = json.loads(render_kea(plan_dhcp(make_state("kea"))["sn1"], HEADER).split("\n", 1)[1])
    dhcp4 = config["Dhcp4"]
    assert dhcp4["interfaces-config"]["interfaces"] == ["eth0", "eth1"]
    assert [(s["id"], s["subnet"]) for s in dhcp4["subnet4"]] == [
        (0x7F0A0000, "127.10.0.0/16"),
        (0x7F140000, "127.20.0.0/16"),
    ]
    reservation = dhcp4["subnet4"][1]["reservations"][0]
    assert reservation == {
        "hw-address": "02:00:00:00:00:01",
        "ip-address": "127.20.1.1",
        "hostname": "cn1",
        "next-server": "127.20.0.1",
        "boot-file-name": "pxelinux.0",
        "user-context": {"node": "cn1"},
    }


# --- the real checkers ----------------------------------------------------------------------


def checker(name: str) -> str:
    """The daemon's path; missing: skip, or fail under CI (env ``CI`` set)."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if path is None:
        reason = f"{name} is not installed (apt-get install isc-dhcp-server kea-dhcp4-server)"
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(f"{reason}; CI must not skip the checker tests")
        pytest.skip(reason)
    return path


def dhcpd_check(tmp_path: Path, include: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "snflow.conf").write_text(include)
    main = tmp_path / "dhcpd.conf"
    main.write_text(render_isc_main(str(tmp_path / "snflow.conf"), HEADER))
    command = [checker("dhcpd"), "-t", "-cf", str(main), "-lf", str(tmp_path / "leases")]
    return subprocess.run(
        [*command, "-pf", str(tmp_path / "pid")], capture_output=True, text=True, check=False
    )


def kea_check(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "kea-dhcp4.conf"
    path.write_text(text)
    return subprocess.run(
        [checker("kea-dhcp4"), "-t", str(path)], capture_output=True, text=True, check=False
    )


def kea_text(config: DhcpHostConfig, tmp_path: Path) -> str:
    return render_kea(config, HEADER, interfaces=["*"], lease_file=str(tmp_path / "leases.csv"))


def many_kinds_state(backend: str) -> ServiceState:
    """Every netboot, aliases, a second MAC, a pinned tftpserver."""
    state = make_state(backend)
    state = with_node(state, "cn4", netboot="petitboot", tftpserver="sn1-b")
    state = with_node(state, "cn8", netboot="grub2-http")
    mac = "02:00:00:00:00:07|02:00:00:00:0a:07!cn7-ib|02:00:00:00:0b:07"
    return with_node(state, "cn7", mac=mac, aliases={"cn7-ib": "127.20.2.7"})


@pytest.mark.parametrize("networks_only", [False, True], ids=["hosts", "networks-only"])
@pytest.mark.parametrize("sn", ["sn1", "sn2"])
def test_generated_isc_files_pass_dhcpd(tmp_path: Path, sn: str, networks_only: bool) -> None:
    config = plan_dhcp(many_kinds_state("isc"), networks_only=networks_only)[sn]
    result = dhcpd_check(tmp_path, render_isc(config, HEADER))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("networks_only", [False, True], ids=["hosts", "networks-only"])
@pytest.mark.parametrize("sn", ["sn1", "sn2"])
def test_generated_kea_files_pass_kea(tmp_path: Path, sn: str, networks_only: bool) -> None:
    config = plan_dhcp(many_kinds_state("kea"), networks_only=networks_only)[sn]
    result = kea_check(tmp_path, kea_text(config, tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_dhcpd_really_checks_the_include(tmp_path: Path) -> None:
    config = plan_dhcp(make_state())["sn1"]
    subnet = config.subnets[1].model_copy(update={"ranges": (("10.0.0.1", "10.0.0.9"),)})
    broken = config.model_copy(update={"subnets": (config.subnets[0], subnet)})
    result = dhcpd_check(tmp_path, render_isc(broken, HEADER))
    assert result.returncode == 1
    assert "bad range, address 10.0.0.1 not in subnet 127.20.0.0" in result.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"name": "cn1-copy"}, "already been added", id="duplicate-mac"),
        pytest.param(
            {"name": "far", "mac": "02:00:00:00:ff:ff", "ip": "10.1.2.3"},
            "is not within the IPv4 subnet",
            id="outside-subnet",
        ),
    ],
)
def test_kea_rejects_what_plan_dhcp_would_have_refused(
    tmp_path: Path, change: dict[str, str], message: str
) -> None:
    config = plan_dhcp(make_state("kea"))["sn1"]
    injected = config.entries[0].model_copy(update=change)
    broken = config.model_copy(update={"entries": (*config.entries, injected)})
    result = kea_check(tmp_path, kea_text(broken, tmp_path))
    assert result.returncode == 1
    assert message in result.stdout + result.stderr


def test_dhcpd_alone_accepts_a_duplicate_mac_so_plan_dhcp_must_refuse_it(tmp_path: Path) -> None:
    config = plan_dhcp(make_state())["sn1"]
    copy = config.entries[0].model_copy(update={"name": "cn1-copy", "ip": "127.20.5.5"})
    duplicated = config.model_copy(update={"entries": (*config.entries, copy)})
    assert dhcpd_check(tmp_path, render_isc(duplicated, HEADER)).returncode == 0
    with pytest.raises(ServiceConfigError, match="duplicate MAC 02:00:00:00:00:01: cn1 and cn3"):
        plan_dhcp(with_node(make_state(), "cn3", mac="02:00:00:00:00:01"))


def test_the_service_models_docstring_examples_hold() -> None:
    from snflow.models import services

    assert doctest.testmod(services).failed == 0
