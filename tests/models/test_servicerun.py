"""Requests and reports of the service flows, and the pure per-host DHCP/console helpers."""

from __future__ import annotations

import doctest

import pytest
from pydantic import ValidationError
from test_dhcp import make_state as dhcp_state
from test_dhcp import with_node

from snflow.models import conserverfiles, dhcpfiles, servicerun
from snflow.models.conserver import merge_conserver, plan_conserver, render_conserver
from snflow.models.conserverfiles import checkable, conserver_targets, console_changes
from snflow.models.dhcp import plan_dhcp, render_isc, render_kea
from snflow.models.dhcpfiles import (
    entry_changes,
    filter_config,
    installed_entries,
    plan_makedhcp,
    select_members,
)
from snflow.models.servicerun import (
    ConservercfRequest,
    HostResult,
    MakedhcpRequest,
    ServiceReport,
    choose_hosts,
)
from snflow.models.services import Interface, ServiceConfigError, make_header

HEADER = make_header("run-1", "makedhcp")


def test_docstring_examples_hold() -> None:
    for module in (servicerun, dhcpfiles, conserverfiles):
        assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"action": "networks", "noderange": "cn1"}, "-n takes neither"),
        ({"action": "query"}, "-q needs a noderange"),
        ({}, "give a noderange or -a"),
        ({"noderange": "cn1", "all_nodes": True}, "give a noderange or -a"),
    ],
)
def test_bad_makedhcp_requests_are_refused(fields: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MakedhcpRequest(**fields)


def test_requests_describe_themselves_as_xcat_commands() -> None:
    assert MakedhcpRequest(all_nodes=True, action="delete").describe() == "makedhcp -a -d"
    assert ConservercfRequest(noderange="cn1", delete=True).describe() == "makeconservercf cn1 -d"
    with pytest.raises(ValidationError, match="-d needs a noderange"):
        ConservercfRequest(delete=True)


def test_the_summary_folds_hosts_by_outcome() -> None:
    report = ServiceReport(
        command="makedhcp cn1",
        results=[
            HostResult(host="sn1", outcome="changed", added=("cn1", "cn2"), reloaded=True),
            HostResult(host="sn2", outcome="changed", added=("cn1",), reloaded=True),
            HostResult(host="sn3", outcome="failed", message="down"),
        ],
    )
    assert report.summary() == [
        "sn[1-2]: changed",
        "sn3: failed",
        "3 added, 0 removed; reloaded: sn[1-2]",
    ]
    assert report.failed == ["sn3"] and not report.ok
    assert report.results[0].row()["added"] == "cn[1-2]"


def test_hosts_are_chosen_by_any_of_their_names_and_unknown_ones_refused() -> None:
    state = dhcp_state()
    assert choose_hosts(state, ["sn2", "sn1"], ()) == ["sn1", "sn2"]
    assert choose_hosts(state, ["sn1", "sn2"], ("sn2-b",)) == ["sn2"]
    with pytest.raises(ServiceConfigError, match="nosuch: not a service host"):
        choose_hosts(state, ["sn1"], ("nosuch",))


@pytest.mark.parametrize("backend", ["isc", "kea"])
def test_installed_entries_read_back_what_was_rendered(backend: str) -> None:
    config = plan_dhcp(dhcp_state(backend))["sn1"]
    text = (render_kea if backend == "kea" else render_isc)(config, HEADER)
    found = installed_entries(text, backend)
    assert [(e.node, e.mac, e.ip) for e in found] == [(e.node, e.mac, e.ip) for e in config.entries]
    assert installed_entries(None, backend) == [] and installed_entries("garbage", backend) == []


@pytest.mark.parametrize(
    ("action", "all_nodes", "requested", "expected"),
    [
        ("add", False, ["cn3"], ["cn1", "cn3"]),
        ("add", True, [], ["cn1", "cn2", "cn3"]),
        ("delete", False, ["cn1"], []),
        ("delete", True, [], []),
        ("networks", False, [], ["cn1"]),
        ("add", False, ["cn9"], ["cn1"]),  # not served by this host: never added
    ],
)
def test_members_follow_xcats_makedhcp(
    action: str, all_nodes: bool, requested: list[str], expected: list[str]
) -> None:
    chosen = select_members(action, all_nodes, requested, ["cn1", "gone"], ["cn1", "cn2", "cn3"])
    assert sorted(chosen) == expected


def test_entry_changes_tell_added_removed_and_rewritten_nodes() -> None:
    state = dhcp_state()
    config = plan_dhcp(state)["sn1"]
    before = installed_entries(render_isc(filter_config(config, {"cn1", "cn2"}), HEADER), "isc")
    moved = plan_dhcp(with_node(state, "cn2", mac="02:00:00:00:aa:02"))["sn1"]
    after = installed_entries(render_isc(filter_config(moved, {"cn2", "cn3"}), HEADER), "isc")
    assert entry_changes(before, after) == (["cn3"], ["cn1"], ["cn2"])


def test_nodes_the_mn_cannot_serve_are_left_out_with_a_warning() -> None:
    state = dhcp_state()
    far = with_node(state, "cn1", servicenode=(), ip="127.20.1.1")
    configs, warnings = plan_makedhcp(far, "add", ["cn1"])
    assert "mn" not in configs
    assert warnings == [
        "cn1: 127.20.1.1 is on no network of the management node mn; no DHCP entry written for it"
    ]
    assert plan_makedhcp(far, "networks", None)[1] == []  # -n does not warn about entries


def test_delete_plans_the_hosts_of_the_deleted_nodes_without_them() -> None:
    configs, _ = plan_makedhcp(dhcp_state(), "delete", ["cn5"])
    assert sorted(configs) == ["sn1", "sn2"]
    assert "cn5" not in {e.node for e in configs["sn1"].entries}


def test_conserver_targets_are_the_mn_and_the_owners() -> None:
    from test_conserver import make_state as console_state

    state = console_state()
    configs = plan_conserver(state, ["cn1", "cn5"])
    assert conserver_targets(state, configs, ["cn1"]) == ["mn", "sn1"]
    assert conserver_targets(state, configs, ["cn1", "cn5"]) == ["mn", "sn1", "sn2"]
    assert conserver_targets(state, configs, None) == sorted(configs)


def test_console_changes_and_the_checkable_copy_of_an_empty_file() -> None:
    from test_conserver import make_state as console_state

    state = console_state()
    before = render_conserver(plan_conserver(state)["sn1"], HEADER)
    after = merge_conserver(before, plan_conserver(state, ["cn1"], delete=True)["sn1"], HEADER)
    assert console_changes(before, after)[1] == ["cn1"]
    empty = render_conserver(plan_conserver(state, None, delete=True)["sn1"], HEADER)
    assert "placeholder" in checkable(empty) and checkable(before) == before


def test_an_interface_list_orders_the_hosts_addresses() -> None:
    assert Interface(address="1.2.3.4").name == ""
