"""The virtual cluster's pure parts: layout, database rows, known_hosts, command lines.

No process, socket or database here.
"""

from __future__ import annotations

import doctest
import ipaddress
from pathlib import Path

import pytest

from snflow.sim import SimError, forward, keys, layout, nodeenv, rows
from snflow.sim.layout import (
    NodeDefinition,
    backup_of,
    cn_address,
    layout_from_definitions,
    plan_layout,
    split_evenly,
)


@pytest.mark.parametrize("module", [layout, rows, keys, forward, nodeenv])
def test_docstring_examples_hold(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


# --- plan_layout ---------------------------------------------------------------------------


def test_default_layout_is_two_sns_backing_each_other_up_with_16_cns_each() -> None:
    plan = plan_layout(2, 32)
    assert [h.name for h in plan.service_nodes] == ["sn1", "sn2"]
    cns = plan.compute_nodes
    assert [h.name for h in cns] == [f"cn{k:03d}" for k in range(1, 33)]
    assert {h.service_nodes for h in cns[:16]} == {("sn1", "sn2")}
    assert {h.service_nodes for h in cns[16:]} == {("sn2", "sn1")}
    assert cns[0].name == "cn001" and cns[15].name == "cn016"


def test_sn_addresses_on_both_networks() -> None:
    sn2 = plan_layout(2, 0).host("sn2")
    assert (sn2.address, sn2.b_name, sn2.b_address) == ("127.10.0.2", "sn2-b", "127.20.0.2")
    assert sn2.allowed_peers == ("127.0.0.1",)


def test_cn_accepts_only_its_service_nodes_b_addresses() -> None:
    cn = plan_layout(4, 8).host("cn005")
    assert cn.service_nodes == ("sn3", "sn4")
    assert cn.allowed_peers == ("127.20.0.3", "127.20.0.4")


@pytest.mark.parametrize(
    ("count", "expected"),
    [(1, [None]), (2, [2, 1]), (3, [2, 1, 1]), (4, [2, 1, 4, 3]), (5, [2, 1, 4, 3, 1])],
)
def test_backup_pairs(count: int, expected: list[int | None]) -> None:
    assert [backup_of(i, count) for i in range(1, count + 1)] == expected


def test_lone_service_node_has_no_backup() -> None:
    assert plan_layout(1, 2).host("cn002").service_nodes == ("sn1",)


@pytest.mark.parametrize(
    ("total", "parts", "sizes"), [(32, 2, [16, 16]), (10, 3, [4, 3, 3]), (2, 4, [1, 1, 0, 0])]
)
def test_split_evenly_contiguous(total: int, parts: int, sizes: list[int]) -> None:
    blocks = split_evenly(total, parts)
    assert [len(b) for b in blocks] == sizes
    assert [k for b in blocks for k in b] == list(range(1, total + 1))


@pytest.mark.parametrize(
    ("k", "address"),
    [(1, "127.20.1.1"), (250, "127.20.1.250"), (251, "127.20.2.1"), (1024, "127.20.5.24")],
)
def test_cn_addresses(k: int, address: str) -> None:
    assert cn_address(k) == address


def test_1024_cns_have_unique_addresses_outside_the_sn_range() -> None:
    plan = plan_layout(4, 1024)
    addresses = [h.address for h in plan.hosts]
    assert len(set(addresses)) == len(addresses) == 1028
    sn_b = ipaddress.ip_network("127.20.0.0/24")
    assert not any(ipaddress.ip_address(h.address) in sn_b for h in plan.compute_nodes)
    assert plan.host("cn1000").address == "127.20.4.250"


@pytest.mark.parametrize(("sns", "cns"), [(0, 4), (251, 4), (2, -1), (2, 10**6)])
def test_bad_sizes_are_refused(sns: int, cns: int) -> None:
    with pytest.raises(SimError, match="invalid number"):
        plan_layout(sns, cns)


def test_unknown_host_names_the_host() -> None:
    with pytest.raises(SimError, match='unknown host: "cn999"') as info:
        plan_layout(2, 4).host("cn999")
    assert info.value.host == "cn999"


# --- layout_from_definitions -----------------------------------------------------------------


def _defs() -> list[NodeDefinition]:
    return [
        NodeDefinition(name="xsn1a", groups=("service",), ip="10.0.0.1"),
        NodeDefinition(
            name="xsn2a", ip="127.10.0.7", otherinterfaces="xsn2b:127.20.0.9,ib:10.9.9.9"
        ),
        NodeDefinition(
            name="node02", service_nodes=("xsn2a", "xsn1a"), xcatmaster="xsn2b", ip="127.20.3.3"
        ),
        NodeDefinition(name="node01", service_nodes=("xsn1a",), xcatmaster="xsn1b"),
        NodeDefinition(name="node03", ip="127.20.0.5"),
    ]


def test_from_definitions_finds_sns_by_group_and_by_servicenode() -> None:
    plan = layout_from_definitions(_defs())
    assert [h.name for h in plan.service_nodes] == ["xsn1a", "xsn2a"]
    assert [h.name for h in plan.compute_nodes] == ["node01", "node02", "node03"]


def test_from_definitions_keeps_suitable_addresses_and_assigns_the_rest() -> None:
    plan = layout_from_definitions(_defs())
    xsn1a, xsn2a = plan.host("xsn1a"), plan.host("xsn2a")
    assert xsn2a.address == "127.10.0.7" and xsn2a.b_address == "127.20.0.9"
    assert xsn1a.address == "127.10.0.1"
    assert xsn1a.b_name == "xsn1b"  # from its CN's xcatmaster
    assert xsn1a.b_address == "127.20.0.1"
    assert plan.host("node02").address == "127.20.3.3"
    assert plan.host("node01").address == "127.20.1.1"
    assert plan.host("node03").address == "127.20.1.2"  # 127.20.0.5 is in the SN range


def test_from_definitions_peers() -> None:
    plan = layout_from_definitions(_defs())
    assert plan.host("node01").allowed_peers == ("127.20.0.1",)
    assert plan.host("node02").allowed_peers == ("127.20.0.9", "127.20.0.1")
    assert plan.host("node03").allowed_peers == ("127.0.0.1",)


def test_from_definitions_needs_nodes() -> None:
    with pytest.raises(SimError, match="defines no nodes"):
        layout_from_definitions([])


# --- rows ------------------------------------------------------------------------------------


def test_rows_of_the_procedures_cluster() -> None:
    out = rows.cluster_rows(plan_layout(2, 32))
    by = {
        t: {r.get("node") or r.get("key") or r.get("groupname"): r for r in v}
        for t, v in out.items()
    }
    assert by["nodelist"]["cn017"]["groups"] == "compute,sn2group"
    assert by["noderes"]["cn017"]["servicenode"] == "sn2,sn1"
    assert by["noderes"]["cn017"]["xcatmaster"] == "sn2-b"
    assert {by["noderes"][n]["netboot"] for n in by["noderes"]} == {"pxe", "grub2"}
    assert by["hosts"]["sn1"]["otherinterfaces"] == "sn1-b:127.20.0.1"
    assert by["hosts"]["mn"]["ip"] == "127.0.0.1" and "mn" not in by["nodelist"]
    assert by["site"]["master"]["value"] == "mn"
    assert by["nodehm"]["cn001"]["conserver"] == "sn1"
    assert by["servicenode"]["sn2"]["dhcpserver"] == "1"
    assert set(by["nodegroup"]) == {"sn1group", "sn2group", "compute", "service"}
    macs = [r["mac"] for r in out["mac"]]
    assert len(set(macs)) == len(macs) == 34
    assert all(r["comments"] == rows.SIM_MARK for v in out.values() for r in v)


def test_host_updates_leave_right_rows_alone() -> None:
    plan = layout_from_definitions(_defs())
    current = {h.name: (h.address, None) for h in plan.hosts}
    current["xsn2a"] = ("127.10.0.7", "xsn2b:127.20.0.9,ib:10.9.9.9")
    updates = rows.host_updates(plan, current)
    assert updates == {"xsn1a": {"otherinterfaces": "xsn1b:127.20.0.1"}}


# --- known_hosts, commands, forwarding -------------------------------------------------------


def test_known_hosts_keeps_other_lines_and_replaces_stale_ones(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    path.write_text(
        "[sn1]:2222 ssh-ed25519 OLD\n|1|hashed ssh-rsa H\n127.10.0.1 ssh-rsa X\nfar ssh-rsa Y\n"
    )
    line = keys.known_hosts_line("sn1", "127.10.0.1", 2300, "ssh-ed25519 NEW")
    keys.update_known_hosts(path, {"sn1": line}, {"sn1", "127.10.0.1"})
    assert path.read_text().splitlines() == [
        "|1|hashed ssh-rsa H",
        "far ssh-rsa Y",
        "[sn1]:2300,[127.10.0.1]:2300 ssh-ed25519 NEW",
    ]


def test_port_setting_replaces_only_its_line(tmp_path: Path) -> None:
    (tmp_path / "settings.env").write_text("SNFLOW_FANOUT=8\nSNFLOW_SSH_PORT=1\n")
    keys.set_port_setting(tmp_path, 2222)
    assert (tmp_path / "settings.env").read_text() == "SNFLOW_FANOUT=8\nSNFLOW_SSH_PORT=2222\n"


def test_host_keys_are_stable(tmp_path: Path) -> None:
    first = keys.ensure_host_keys(tmp_path, ["sn1", "cn001"])
    again = keys.ensure_host_keys(tmp_path, ["sn1", "cn001"])
    assert first == again and first["sn1"] != first["cn001"]
    assert first["sn1"].startswith("ssh-ed25519 ")
    assert (tmp_path / "sn1").stat().st_mode & 0o777 == 0o600


def test_command_environment_is_exactly_four_variables() -> None:
    env = nodeenv.host_env("cn001", Path("/h/sim"), None)
    assert env.environ == {
        "NODEROOT": "/h/sim/cn001",
        "NODE": "cn001",
        "HOME": "/h/sim/cn001",
        "PATH": f"/h/sim/.hosts/cn001/bin:{nodeenv.SYSTEM_PATH}",
    }
    assert env.argv("echo hi") == ["/bin/sh", "-c", "echo hi"]
    assert env.argv(None) == ["/bin/sh"]


@pytest.mark.parametrize(
    ("dest", "expected"),
    [
        ("127.20.1.1", "127.20.1.1"),
        ("127.20.0.2", "127.20.0.2"),
        ("cn001", "127.20.1.1"),
        ("127.10.0.1", None),
        ("127.0.0.1", None),
        ("sn1", None),
        ("::1", None),
    ],
)
def test_forward_destinations(dest: str, expected: str | None) -> None:
    assert forward.b_destination(dest, {"cn001": "127.20.1.1"}) == expected
