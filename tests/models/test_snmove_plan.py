"""The planning core of ``snmove``: options, selection, §5-§9 rules, decisions, switch-back.

Fixture of ``/work/shared/xcat/snmove.md`` §17 unless a test says otherwise: ``site.master=mn``,
networks ``10.0.0.0/255.255.0.0`` (gateway ``10.0.255.254``) and ``192.168.1.0/24``; SN *i* at
``192.168.1.i`` (MN-facing, ``sn<i>``) and ``10.0.0.i`` (node-facing, ``sn<i>-c`` in ``hosts``);
``cn<k>`` at ``10.0.1.k``. Every test is pure: no database, no network, no processes.
"""

from __future__ import annotations

import ast
import doctest
import inspect
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from snflow.models import snmove, snmove_interfaces
from snflow.models.snmove import (
    MESSAGES,
    ClusterState,
    HostName,
    Interface,
    MoveOptions,
    MovePlan,
    Network,
    NodeState,
    SnmoveError,
    host_names,
    moved_away_nodes,
    parse_ip_addr,
    plan_move,
    render_plan,
    select_nodes,
)
from snflow.models.snmove_interfaces import address_of, network_of

NETWORKS = (
    Network(net="10.0.0.0", mask="255.255.0.0", gateway="10.0.255.254"),
    Network(net="192.168.1.0", mask="255.255.255.0"),
)
GATEWAY_IS_SN = (Network(net="10.0.0.0", mask="255.255.0.0", gateway="<xcatmaster>"),)


def xdsh_ip_addr(i: int) -> str:
    """What ``xdsh sn<i> -s "/sbin/ip addr "`` prints in the §17 fixture."""
    return "\n".join(
        f"sn{i}:     {line}"
        for line in (
            "inet 127.0.0.1/8 scope host lo",
            f"inet 192.168.1.{i}/24 brd 192.168.1.255 scope global eth0",
            f"inet 10.0.0.{i}/16 brd 10.0.255.255 scope global eth1",
        )
    )


def sn_hosts(i: int) -> tuple[HostName, ...]:
    return host_names(f"sn{i}", f"192.168.1.{i}", None, f"sn{i}-c:10.0.0.{i}")


def node(name: str, **attrs: Any) -> NodeState:
    attrs.setdefault("ip", f"10.0.1.{name.removeprefix('cn')}")
    attrs.setdefault("os", "rhels8.8")
    return NodeState(node=name, **attrs)


def cluster(
    *nodes: NodeState,
    names: bool = True,
    probed: tuple[int, ...] = (1, 2, 3),
    networks: tuple[Network, ...] = NETWORKS,
    **extra: Any,
) -> ClusterState:
    return ClusterState(
        nodes={n.node: n for n in nodes},
        site_master="mn",
        networks=networks,
        hosts={f"sn{i}": sn_hosts(i) for i in (1, 2, 3)} if names else {},
        sn_interfaces={f"sn{i}": parse_ip_addr(xdsh_ip_addr(i)) for i in probed},
        **extra,
    )


def move(state: ClusterState, **options: Any) -> MovePlan:
    """``snflow snmove`` as the flow will call the planner (noderange = comma list)."""
    opts = MoveOptions(**options)
    listed = opts.noderange.split(",") if opts.noderange else None
    servicenodes = {n: s.servicenode for n, s in state.nodes.items()}
    selected = select_nodes(opts, servicenodes, listed, site_master=state.site_master)
    return plan_move(state, opts, selected)


def changes(plan: MovePlan, name: str = "cn1") -> dict[str, str | None]:
    (node_plan,) = [p for p in plan.nodes if p.node == name]
    return {c.attr: c.after for c in node_plan.changes}


def apply(state: ClusterState, plan: MovePlan) -> ClusterState:
    """What the apply task will do to the effective attributes."""
    assert not plan.errors, plan.errors
    nodes = dict(state.nodes)
    for p in plan.nodes:
        nodes[p.node] = nodes[p.node].model_copy(update={c.attr: c.after for c in p.changes})
    return state.model_copy(update={"nodes": nodes})


SCENARIO1 = dict(
    servicenode="sn1,sn2",
    xcatmaster="sn1-c",
    tftpserver="sn1-c",
    nfsserver="sn1-c",
    monserver="sn1,sn1-c",
    conserver="sn1",
)


# --- options (§2) ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"noderange": "cn1", "dest": "sn2", "postscripts": "test1", "ignore_nodes": True},
         "-P and -i flags cannot be specified at the same time."),
        ({"dest": "sn2"}, "A node range or the source service node must be specified."),
        ({"noderange": "  ", "dest": "sn2"},
         "A node range or the source service node must be specified."),
        ({"noderange": "cn1", "liteonly": True},
         "The '-l' option is not supported for Linux nodes."),
        ({"noderange": "cn1", "postscripts": " , "},
         "The -P option needs a comma-separated list of postscripts, or 'all'."),
    ],
)  # fmt: skip
def test_bad_options_raise_xcat_text(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(SnmoveError) as caught:
        MoveOptions.create(**fields)
    assert str(caught.value) == message
    with pytest.raises(ValidationError, match=re.escape(message)):
        MoveOptions(**fields)


def test_postscripts_with_ignore_is_checked_before_the_missing_target() -> None:
    with pytest.raises(SnmoveError, match=r"^-P and -i"):
        MoveOptions.create(ignore_nodes=True, postscripts="all")


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("test1,test2", ("test1", "test2")),
        (" test1 ,, test2 ", ("test1", "test2")),
        (["a", "b"], ("a", "b")),
        ("all", "all"),
        (("all",), "all"),
        (None, None),
    ],
)
def test_postscripts_option_is_a_list_or_all(given: Any, stored: Any) -> None:
    assert MoveOptions(noderange="cn1", postscripts=given).postscripts == stored


def test_noderange_and_source_together_are_accepted_and_blank_names_are_unset() -> None:
    opts = MoveOptions.create(noderange="cn1", source="sn1", source_n="", dest=" sn2 ")
    assert (opts.noderange, opts.source, opts.source_n, opts.dest) == ("cn1", "sn1", None, "sn2")


def test_options_are_frozen() -> None:
    opts = MoveOptions(source="sn1")
    with pytest.raises(ValidationError):
        opts.dest = "sn2"  # type: ignore[misc]


def test_messages_the_cli_prints_around_planning_are_xcat_texts() -> None:
    assert MESSAGES["too_many"] == "Too many paramters."
    assert MESSAGES["moving"] == "Moving nodes to their backup service nodes."


# --- selection (§3, decisions 2 and 9) -----------------------------------------------------------
SCENARIO7 = {"cn1": "sn1,sn2", "cn2": "sn2,sn1", "cn3": "sn1", "cn4": None, "cn10": "sn1,sn3"}


def test_source_selects_nodes_whose_first_servicenode_is_exactly_it() -> None:
    selected = select_nodes(MoveOptions(source="sn1"), SCENARIO7, None, site_master="mn")
    assert selected == ["cn1", "cn3", "cn10"]


@pytest.mark.parametrize("source", ["sn.", "sn", "SN1", "sn1,sn2", "^sn1"])
def test_source_is_compared_exactly_never_as_a_regex(source: str) -> None:
    assert select_nodes(MoveOptions(source=source), SCENARIO7, None, site_master="mn") == []


def test_source_naming_the_site_master_selects_nodes_without_servicenode() -> None:
    assert select_nodes(MoveOptions(source="mn"), SCENARIO7, None, site_master="mn") == ["cn4"]


def test_noderange_selects_its_nodes_in_natural_order_even_with_a_source() -> None:
    opts = MoveOptions(noderange="cn10,cn2,cn2", source="sn1")
    assert select_nodes(opts, SCENARIO7, ["cn10", "cn2", "cn2"]) == ["cn2", "cn10"]


def test_noderange_without_its_expansion_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="noderange"):
        select_nodes(MoveOptions(noderange="cn1"), SCENARIO7, None)


def test_moved_away_nodes_list_the_source_after_the_first_entry() -> None:
    assert moved_away_nodes(MoveOptions(source="sn1"), SCENARIO7) == ["cn2"]
    assert moved_away_nodes(MoveOptions(source="sn1", dest="sn3"), SCENARIO7) == []


# --- §5 destination ----------------------------------------------------------------------------
def test_destination_is_each_nodes_second_servicenode_entry() -> None:
    state = cluster(node("cn1", servicenode="sn1,sn2"), node("cn2", servicenode="sn1,sn3"))
    plan = move(state, source="sn1")
    assert [(p.node, p.old_sn, p.new_sn) for p in plan.nodes] == [
        ("cn1", "sn1", "sn2"),
        ("cn2", "sn1", "sn3"),
    ]
    assert plan.destination_sns == ("sn2", "sn3")


def test_dest_option_is_the_destination_of_every_node() -> None:
    state = cluster(node("cn1", servicenode="sn1,sn2"), node("cn2", servicenode="sn1,sn3"))
    plan = move(state, source="sn1", dest="sn3")
    assert {p.new_sn for p in plan.nodes} == {"sn3"} and plan.destination_sns == ("sn3",)


def test_nodes_without_backup_are_all_reported_and_nothing_is_planned() -> None:
    """§17 scenario 7: cn1 could move, cn3 has no backup: no change at all."""
    state = cluster(*(node(n, servicenode=s) for n, s in SCENARIO7.items()))
    plan = move(state, source="sn1", dest_n="sn2-c", ignore_nodes=True)
    assert plan.errors == ("Could not determine a backup service node for node cn3.",)
    assert plan.nodes == () and not plan.changed


def test_single_entry_nodes_move_with_dest_and_the_old_sn_becomes_backup() -> None:
    """§17 scenario 7, second command."""
    state = cluster(*(node(n, servicenode=s) for n, s in SCENARIO7.items() if n != "cn10"))
    plan = move(state, source="sn1", dest="sn2", dest_n="sn2-c", ignore_nodes=True)
    assert [p.node for p in plan.nodes] == ["cn1", "cn3"]
    assert changes(plan, "cn1")["servicenode"] == changes(plan, "cn3")["servicenode"] == "sn2,sn1"


# --- §6 and §8 attribute changes ----------------------------------------------------------------
ATTRIBUTE_CASES = [
    # (why, node attributes, options, expected changes of cn1)
    ("scenario 1: basic move with -D", SCENARIO1, {"dest_n": "sn2-c"},
     {"servicenode": "sn2,sn1", "xcatmaster": "sn2-c", "tftpserver": "sn2-c",
      "nfsserver": "sn2-c", "monserver": "sn2,sn2-c", "conserver": "sn2"}),
    ("scenario 3: old master matched by its IP", {"servicenode": "sn1,sn2", "xcatmaster": "sn1-c",
     "tftpserver": "10.0.0.1", "nfsserver": "nfshost"}, {"dest_n": "sn2-c"},
     {"servicenode": "sn2,sn1", "xcatmaster": "sn2-c", "tftpserver": "sn2-c"}),
    ("old master an IP, server its name", {"servicenode": "sn1,sn2", "xcatmaster": "10.0.0.1",
     "tftpserver": "sn1-c"}, {"dest_n": "sn2-c"},
     {"servicenode": "sn2,sn1", "xcatmaster": "sn2-c", "tftpserver": "sn2-c"}),
    ("scenario 4: no old master, servers unchanged", {"servicenode": "sn1,sn2",
     "tftpserver": "sn1-c"}, {"dest_n": "sn2-c"},
     {"servicenode": "sn2,sn1", "xcatmaster": "sn2-c"}),
    ("scenario 4: -S names the old master", {"servicenode": "sn1,sn2", "tftpserver": "sn1-c"},
     {"source": "sn1", "source_n": "sn1-c", "dest_n": "sn2-c"},
     {"servicenode": "sn2,sn1", "xcatmaster": "sn2-c", "tftpserver": "sn2-c"}),
    ("scenario 5: -d not in the list", {"servicenode": "sn1,sn2"},
     {"dest": "sn3", "dest_n": "sn3-c"}, {"servicenode": "sn3,sn1,sn2", "xcatmaster": "sn3-c"}),
    ("scenario 6: three entries", {"servicenode": "sn1,sn2,sn3"}, {"dest_n": "sn2-c"},
     {"servicenode": "sn2,sn1,sn3", "xcatmaster": "sn2-c"}),
    ("-d is the third entry", {"servicenode": "sn1,sn2,sn3"}, {"dest": "sn3", "dest_n": "x"},
     {"servicenode": "sn3,sn1,sn2", "xcatmaster": "x"}),
    ("no servicenode, -d", {}, {"dest": "sn2", "dest_n": "sn2-c"},
     {"servicenode": "sn2", "xcatmaster": "sn2-c"}),
    ("scenario 13: monserver and conserver elsewhere", {**SCENARIO1, "monserver": "mn,mn-c",
     "conserver": "mn"}, {"dest_n": "sn2-c"}, {"servicenode": "sn2,sn1", "xcatmaster": "sn2-c",
     "tftpserver": "sn2-c", "nfsserver": "sn2-c"}),
    ("servers on <xcatmaster> or a third host stay", {"servicenode": "sn1,sn2",
     "xcatmaster": "sn1-c", "tftpserver": "<xcatmaster>", "nfsserver": "sn3-c"},
     {"dest_n": "sn2-c"}, {"servicenode": "sn2,sn1", "xcatmaster": "sn2-c"}),
    ("names compare exactly", {"servicenode": "sn1,sn2", "xcatmaster": "sn1-c",
     "tftpserver": "SN1-C", "nfsserver": "sn1-cx", "monserver": "sn1.x,sn1-c",
     "conserver": "sn1.cluster"}, {"dest_n": "sn2-c"},
     {"servicenode": "sn2,sn1", "xcatmaster": "sn2-c"}),
    ("-s overrides the old SN of monserver and conserver", {"servicenode": "sn1,sn2",
     "monserver": "sn3,sn3-c", "conserver": "sn3"}, {"source": "sn3", "dest_n": "sn2-c"},
     {"servicenode": "sn2,sn1", "xcatmaster": "sn2-c", "monserver": "sn2,sn2-c",
      "conserver": "sn2"}),
    ("monserver with extra fields is rewritten whole", {"servicenode": "sn1,sn2",
     "monserver": "sn1,sn1-c,x"}, {"dest_n": "sn2-c"},
     {"servicenode": "sn2,sn1", "xcatmaster": "sn2-c", "monserver": "sn2,sn2-c"}),
    ("spaces in the list are dropped", {"servicenode": "sn1, sn2"}, {"dest_n": "sn2-c"},
     {"servicenode": "sn2,sn1", "xcatmaster": "sn2-c"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("attrs", "options", "expected"),
    [pytest.param(a, o, e, id=why) for why, a, o, e in ATTRIBUTE_CASES],
)
def test_attribute_changes_follow_section_8(
    attrs: dict[str, str], options: dict[str, str], expected: dict[str, str]
) -> None:
    plan = move(cluster(node("cn1", **attrs)), noderange="cn1", ignore_nodes=True, **options)
    assert plan.errors == () and changes(plan) == expected


def test_changes_record_table_column_before_and_after() -> None:
    plan = move(cluster(node("cn1", **SCENARIO1)), noderange="cn1", dest_n="sn2-c")
    (node_plan,) = plan.nodes
    assert [(c.table, c.column, c.before, c.after) for c in node_plan.changes] == [
        ("noderes", "servicenode", "sn1,sn2", "sn2,sn1"),
        ("noderes", "xcatmaster", "sn1-c", "sn2-c"),
        ("noderes", "tftpserver", "sn1-c", "sn2-c"),
        ("noderes", "nfsserver", "sn1-c", "sn2-c"),
        ("noderes", "monserver", "sn1,sn1-c", "sn2,sn2-c"),
        ("nodehm", "conserver", "sn1", "sn2"),
    ]
    assert plan.conserver_nodes == ("cn1",) and plan.changed


def test_invalid_monserver_is_kept_with_a_warning_and_the_move_goes_on() -> None:
    """§17 scenario 12 (a warning: reported, exit 1, but the rest is applied)."""
    state = cluster(*(node(n, **{**SCENARIO1, "monserver": "sn1"}) for n in ("cn1", "cn2")))
    plan = move(state, noderange="cn1,cn2", dest_n="sn2-c", ignore_nodes=True)
    assert plan.errors == () and plan.warnings == (
        "cn[1-2]: The current value of the monserver attribute is not valid.  "
        "It will not be reset.",
    )
    assert "monserver" not in changes(plan) and changes(plan)["conserver"] == "sn2"


# --- §7 and decision 8: the new xcatmaster -------------------------------------------------------
def test_computed_xcatmaster_is_the_sns_host_name_on_the_nodes_network() -> None:
    plan = move(cluster(node("cn1", **SCENARIO1)), noderange="cn1", ignore_nodes=True)
    assert changes(plan) == changes(
        move(cluster(node("cn1", **SCENARIO1)), noderange="cn1", ignore_nodes=True, dest_n="sn2-c")
    )
    assert plan.nodes[0].new_xcatmaster == "sn2-c"


def test_computed_xcatmaster_is_the_address_when_hosts_knows_no_name() -> None:
    """§17 scenario 2 (xCAT's outcome, decision 8's second branch)."""
    plan = move(cluster(node("cn1", **SCENARIO1), names=False), noderange="cn1", ignore_nodes=True)
    assert changes(plan) == {
        "servicenode": "sn2,sn1",
        "xcatmaster": "10.0.0.2",
        "tftpserver": "10.0.0.2",
        "nfsserver": "10.0.0.2",
        "monserver": "sn2,10.0.0.2",
        "conserver": "sn2",
    }


def test_a_name_of_the_sn_on_another_network_is_not_used() -> None:
    hosts = {"sn2": host_names("sn2", "192.168.1.2")}
    state = cluster(node("cn1", servicenode="sn1,sn2"), names=False).model_copy(
        update={"hosts": hosts}
    )
    assert move(state, noderange="cn1").nodes[0].new_xcatmaster == "10.0.0.2"


def test_the_first_live_address_with_a_name_wins_over_an_unnamed_secondary() -> None:
    text = (  # 10.0.0.99 (no name in hosts) listed first
        "    inet 10.0.0.99/16 scope global eth1\n"
        "    inet 10.0.0.2/16 scope global secondary eth1\n"
    )
    state = cluster(node("cn1", servicenode="sn1,sn2")).model_copy(
        update={"sn_interfaces": {"sn2": parse_ip_addr(text)}}
    )
    plan = move(state, noderange="cn1")
    assert (plan.nodes[0].new_xcatmaster, plan.nodes[0].xcatinfo_server) == ("sn2-c", "10.0.0.2")


def test_destination_may_be_the_management_node_probed_locally() -> None:
    local = MN_IP_ADDR  # `ip addr` run on the MN itself: no xdsh prefix, leading spaces
    state = cluster(node("cn1", servicenode="sn1,mn")).model_copy(
        update={
            "sn_interfaces": {"mn": parse_ip_addr(local)},
            "hosts": {"mn": host_names("mn", "192.168.1.254", None, "-c:10.0.0.254")},
        }
    )
    plan = move(state, noderange="cn1")
    assert changes(plan) == {"servicenode": "mn,sn1", "xcatmaster": "mn-c"}


def test_node_network_comes_from_networks_by_ip_and_the_last_matching_row_wins() -> None:
    rows = (Network(net="10.0.0.0/8", gateway="a"), Network(net="10.0.0.0/16", gateway="b"))
    assert network_of("10.0.1.1", rows).gateway == "b"  # type: ignore[union-attr]
    assert network_of("11.0.0.1", rows) is None and network_of(None, rows) is None


def test_a_nodes_own_network_overrides_the_lookup() -> None:
    own = Network(net="192.168.1.0/24")
    plan = move(cluster(node("cn1", servicenode="sn1,sn2", network=own)), noderange="cn1")
    assert plan.nodes[0].new_xcatmaster == "sn2"  # sn2's hosts name on 192.168.1.0/24


def test_ipv6_node_network_finds_the_ipv6_address() -> None:
    state = ClusterState(
        nodes={"cn1": NodeState(node="cn1", servicenode="sn1,sn2", ip="fd00:10::101")},
        networks=(Network(net="fd00:10::", mask="64"),),
        sn_interfaces={"sn2": parse_ip_addr(IP_ADDR)},
        hosts={"sn2": host_names("sn2", "192.168.1.2", None, "sn2-v6:fd00:10:0::2")},
    )
    plan = move(state, noderange="cn1")
    assert (plan.nodes[0].new_xcatmaster, plan.nodes[0].xcatinfo_server) == ("sn2-v6", "fd00:10::2")


def test_xcatmaster_not_derivable_is_an_error_and_nothing_is_planned() -> None:
    """§17 scenario 18: cn2 on no known network; cn1 alone would be fine."""
    state = cluster(
        node("cn1", servicenode="sn1,sn2"), node("cn2", servicenode="sn1,sn2", ip="172.16.0.5")
    )
    plan = move(state, source="sn1")
    assert plan.errors == ("Could not determine an xcatmaster value for node cn2.",)
    assert plan.nodes == ()


def test_unreachable_destination_reports_the_sn_then_every_node() -> None:
    state = cluster(*(node(n, servicenode="sn1,sn2") for n in ("cn1", "cn2")), probed=(1, 3))
    assert move(state, source="sn1").errors == (
        "Could not get IP addresses from service node sn2.",
        "Could not determine an xcatmaster value for node cn1.",
        "Could not determine an xcatmaster value for node cn2.",
    )


def test_dest_n_is_used_verbatim_and_needs_no_probe() -> None:
    state = cluster(node("cn1", servicenode="sn1,sn2"), probed=())
    plan = move(state, noderange="cn1", dest_n="anything at all")
    assert plan.errors == () and plan.nodes[0].new_xcatmaster == "anything at all"


# --- errors about the selection ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("nodes", "options", "errors"),
    [
        ([node("cn1", servicenode="sn1,sn2")], {"source": "sn9", "dest": "sn2"},
         ("Could not get xCAT object definitions.",)),
        ([node("cn1", servicenode="sn1,sn2"), node("cn5", servicenode="sn1,sn2", ip=None)],
         {"source": "sn1"}, ("Could not resolve node 'cn5'.",)),
        ([node("cn1", servicenode="sn1,sn2", ip="not-an-ip")], {"source": "sn1"},
         ("Could not resolve node 'cn1'.",)),
        ([node("cn1", servicenode="sn1,sn2"), node("cn2", servicenode="sn1,sn2", os="AIX")],
         {"source": "sn1"}, ("This command does not support a mix of AIX and Linux nodes.",)),
        ([node("cn1", servicenode="sn1,sn2", os="AIX"), node("cn2", servicenode="sn1,sn2",
         os="AIX")], {"source": "sn1"}, ("AIX nodes are not supported: cn[1-2].",)),
    ],
)  # fmt: skip
def test_selection_errors(nodes: list[NodeState], options: dict[str, str], errors: tuple) -> None:
    plan = move(cluster(*nodes), **options)
    assert plan.errors == errors and plan.nodes == () and not plan.changed


def test_selected_nodes_missing_from_the_state_are_invalid_nodes() -> None:
    plan = plan_move(cluster(node("cn1")), MoveOptions(noderange="x"), ["cn1", "nosuch", "b"])
    assert plan.errors == ("Invalid nodes in noderange:b,nosuch",)


def test_every_error_of_every_node_is_collected() -> None:
    state = cluster(
        node("cn1", servicenode="sn1"),
        node("cn2", servicenode="sn1,sn2", ip="172.16.0.5"),
        node("cn3", servicenode="sn1,sn3"),
        probed=(1, 2),
    )
    assert move(state, source="sn1").errors == (
        "Could not determine a backup service node for node cn1.",
        "Could not get IP addresses from service node sn3.",
        "Could not determine an xcatmaster value for node cn2.",
        "Could not determine an xcatmaster value for node cn3.",
    )


# --- postscripts (decision 3), xcatinfo (decision 12), gateway (decision 5) ---------------------
DEFAULTS = "syslog,remoteshell,syncfiles"  # xcatdefaults postscripts (postbootscripts: otherpkgs)
POSTSCRIPT_CASES = [
    # (why, xcatdefaults postscripts, node postscripts, node postbootscripts, -P, expected)
    ("scenario 19: listed setupntp", DEFAULTS, "setupntp", "", None, ("syslog", "setupntp")),
    ("scenario 20: -P adds", DEFAULTS, "setupntp", "", "test1,test2",
     ("syslog", "setupntp", "test1", "test2")),
    ("scenario 21: -P all is the whole list", DEFAULTS, "setupntp", "", "all",
     ("syslog", "remoteshell", "syncfiles", "setupntp", "otherpkgs")),
    ("scenario 22: syslog runs even when not listed", "", "remoteshell", "", None, ("syslog",)),
    ("scenario 24: fixed order", DEFAULTS, "mkresolvconf,syslog", "", None,
     ("syslog", "mkresolvconf")),
    ("both candidates, one from postbootscripts", "", "mkresolvconf", "setupntp", None,
     ("syslog", "setupntp", "mkresolvconf")),
    ("-P repeating a script runs it once", DEFAULTS, "", "", "syslog,x", ("syslog", "x")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("defaults", "scripts", "bootscripts", "extra", "expected"),
    [pytest.param(d, s, b, x, e, id=why) for why, d, s, b, x, e in POSTSCRIPT_CASES],
)
def test_postscripts_follow_decision_3(
    defaults: str, scripts: str, bootscripts: str, extra: str | None, expected: tuple[str, ...]
) -> None:
    cn1 = node("cn1", servicenode="sn1,sn2", postscripts=scripts, postbootscripts=bootscripts)
    state = cluster(cn1, default_postscripts=defaults, default_postbootscripts="otherpkgs")
    plan = move(state, noderange="cn1", dest_n="sn2-c", postscripts=extra)
    assert plan.nodes[0].postscripts == expected


def test_postscripts_all_puts_syslog_first_when_the_list_lacks_it() -> None:
    state = cluster(node("cn1", servicenode="sn1,sn2", postscripts="a,b"))
    assert move(state, noderange="cn1", postscripts="all").nodes[0].postscripts == (
        "syslog",
        "a",
        "b",
    )


def test_ignore_nodes_plans_nothing_on_the_node_but_keeps_nodeset() -> None:
    cn1 = node("cn1", servicenode="sn1,sn2", postscripts="setupntp", provmethod="install")
    state = cluster(cn1, networks=GATEWAY_IS_SN)
    (plan,) = move(state, noderange="cn1", ignore_nodes=True).nodes
    assert (plan.run_on_node, plan.postscripts, plan.gateway) == (False, (), None)
    assert (plan.provmethod, plan.xcatinfo_server) == ("install", "10.0.0.2")


def test_xcatinfo_server_is_the_new_masters_address() -> None:
    plan = move(cluster(node("cn1", servicenode="sn1,sn2")), noderange="cn1", dest_n="sn2-c")
    assert plan.nodes[0].xcatinfo_server == "10.0.0.2"


@pytest.mark.parametrize(
    ("networks", "options", "gateway"),
    [
        (GATEWAY_IS_SN, {}, "10.0.0.2"),
        (GATEWAY_IS_SN, {"dest_n": "sn2-c"}, "10.0.0.2"),
        (GATEWAY_IS_SN, {"dest_n": "10.0.0.2"}, "10.0.0.2"),
        (NETWORKS, {}, None),  # a literal gateway is not touched
        (GATEWAY_IS_SN, {"ignore_nodes": True}, None),
    ],
)
def test_default_gateway_is_replaced_only_on_xcatmaster_networks(
    networks: tuple[Network, ...], options: dict[str, Any], gateway: str | None
) -> None:
    """§17 scenario 25 with decision 5 (one new default gateway per node)."""
    state = cluster(node("cn1", servicenode="sn1,sn2"), networks=networks)
    assert move(state, noderange="cn1", **options).nodes[0].gateway == gateway


def test_gateway_of_an_unknown_dest_n_is_a_warning_and_xcatinfo_gets_the_name() -> None:
    state = cluster(node("cn1", servicenode="sn1,sn2"), networks=GATEWAY_IS_SN)
    plan = move(state, noderange="cn1", dest_n="newsn")
    assert plan.errors == () and plan.warnings == (
        "Could not find the address of newsn: the default gateway of node cn1 is not changed.",
    )
    assert (plan.nodes[0].gateway, plan.nodes[0].xcatinfo_server) == (None, "newsn")


# --- idempotence, switch-back --------------------------------------------------------------------
def sn1group() -> ClusterState:
    """Two SNs backing each other up, names on network "b" as in the design's layout."""
    b = {f"sn{i}": host_names(f"sn{i}", f"192.168.1.{i}", None, f"-b:10.0.0.{i}") for i in (1, 2)}
    nodes = [
        node(f"cn{k}", servicenode=f"{p},{q}", xcatmaster=f"{p}-b", tftpserver=f"{p}-b",
             nfsserver=f"{p}-b", monserver=f"{p},{p}-b", conserver=p, postscripts="setupntp")
        for k, (p, q) in enumerate([("sn1", "sn2")] * 3 + [("sn2", "sn1")] * 2, start=1)
    ]  # fmt: skip
    return cluster(*nodes, networks=GATEWAY_IS_SN).model_copy(update={"hosts": b})


def test_takeover_then_switch_back_restores_every_attribute() -> None:
    original = sn1group()
    takeover = move(original, source="sn1")
    assert [p.node for p in takeover.nodes] == ["cn1", "cn2", "cn3"]
    assert changes(takeover) == {
        "servicenode": "sn2,sn1", "xcatmaster": "sn2-b", "tftpserver": "sn2-b",
        "nfsserver": "sn2-b", "monserver": "sn2,sn2-b", "conserver": "sn2",
    }  # fmt: skip
    moved = apply(original, takeover)
    back = move(moved, noderange="cn1,cn2,cn3", dest="sn1")
    assert apply(moved, back) == original


@pytest.mark.parametrize(
    ("options", "line"),
    [
        # -s selects nothing now: every node listing sn1 as a backup is reported
        ({"source": "sn1"}, "cn[1-5]: nothing to move"),
        ({"source": "sn1", "dest": "sn2"}, "cn[1-5]: nothing to move"),
        ({"noderange": "cn1,cn2,cn3", "dest": "sn2"}, "cn[1-3]: nothing to move"),
        ({"noderange": "cn3,cn1", "dest": "sn2", "dest_n": "sn2-b"}, "cn[1,3]: nothing to move"),
    ],
)
def test_rerunning_a_completed_move_finds_nothing_to_move_and_says_so(
    options: dict[str, str], line: str
) -> None:
    moved = apply(sn1group(), move(sn1group(), source="sn1"))
    plan = move(moved, **options)
    assert (plan.changed, plan.errors, plan.nodes) == (False, (), ())
    assert render_plan(plan) == [line]


def test_a_source_nobody_lists_is_still_an_error() -> None:
    moved = apply(sn1group(), move(sn1group(), source="sn1"))
    assert move(moved, source="sn9").errors == ("Could not get xCAT object definitions.",)


def test_rerunning_without_dest_toggles_back_like_xcat() -> None:
    """Without ``-d`` the destination is the 2nd entry, which after a move is the old SN."""
    moved = apply(sn1group(), move(sn1group(), source="sn1"))
    plan = move(moved, noderange="cn1")
    assert plan.nodes[0].new_sn == "sn1"


def test_a_completed_switch_back_plans_nothing() -> None:
    original = sn1group()
    moved = apply(original, move(original, source="sn1"))
    restored = apply(moved, move(moved, noderange="cn1,cn2,cn3", dest="sn1"))
    assert move(restored, noderange="cn1,cn2,cn3", dest="sn1").skipped == ("cn1", "cn2", "cn3")


def _ip_addr_text(i: int, style: str) -> str:
    """sn<i>'s interfaces in one of the formats the flow may hand over."""
    rows = [("lo", "127.0.0.1/8"), ("eth0", f"192.168.1.{i}/24"), ("eth1", f"10.0.0.{100 + i}/16"),
            ("eth1", f"10.0.0.{i}/16"), ("eth1", f"fd00::{i}/64")]  # fmt: skip
    lines = [f"inet{'6' if ':' in a else ''} {a} scope global {dev}" for dev, a in rows]
    if style == "oneline":
        devices = [f"{n}: {dev}    " for n, (dev, _) in enumerate(rows, 1)]
        pairs = zip(devices, lines, strict=True)
        return "\n".join(f"{d}{line}\\  valid_lft forever" for d, line in pairs)
    prefix = f"sn{i}: " if style == "xdsh" else ""
    return "\n".join(f"{prefix}    {line}" for line in lines)


@st.composite
def clusters(draw: st.DrawFn) -> tuple[ClusterState, str]:
    """Random clusters where a switch-back can be exact: each node's values name its primary
    (or a third party), never its backup; lists have at least two entries."""
    count = draw(st.integers(2, 4))
    sns = [f"sn{i}" for i in range(1, count + 1)]
    nodes = []
    for k in range(1, draw(st.integers(1, 8)) + 1):
        order = draw(st.permutations(sns))
        listed = order[: draw(st.integers(2, count))]
        p, pb = listed[0], f"{listed[0]}-b"
        third = st.sampled_from([None, pb, "nfshost"])
        nodes.append(NodeState(
            node=f"cn{k}", servicenode=",".join(listed), xcatmaster=pb, ip=f"10.0.1.{k}",
            tftpserver=draw(third), nfsserver=draw(third),
            monserver=draw(st.sampled_from([None, f"{p},{pb}", "mn,mn-b", "junk"])),
            conserver=draw(st.sampled_from([None, p, "mn"])),
            postscripts=draw(st.lists(st.sampled_from(["setupntp", "mkresolvconf", "x"]))),
        ))  # fmt: skip
    gateway = draw(st.sampled_from(["<xcatmaster>", "10.0.255.254", None]))
    style = draw(st.sampled_from(["plain", "xdsh", "oneline"]))
    state = ClusterState(
        nodes={n.node: n for n in nodes},
        site_master="mn",
        networks=(Network(net="10.0.0.0", mask="255.255.0.0", gateway=gateway), *NETWORKS[1:]),
        hosts={s: host_names(s, f"192.168.1.{i}", None, f"-b:10.0.0.{i}")
               for i, s in enumerate(sns, 1)},
        sn_interfaces={s: parse_ip_addr(_ip_addr_text(i, style)) for i, s in enumerate(sns, 1)},
    )  # fmt: skip
    failed = draw(st.sampled_from(sorted({n.servicenodes[0] for n in nodes})))
    return state, failed


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters())
def test_takeover_then_switch_back_is_the_identity(case: tuple[ClusterState, str]) -> None:
    original, failed = case
    takeover = move(original, source=failed)
    moved = apply(original, takeover)
    for name in (p.node for p in takeover.nodes):  # the failed SN is only a backup now
        after = moved.nodes[name]
        assert after.servicenodes[1] == failed and after.conserver != failed
        assert f"{failed}-b" not in (after.xcatmaster, after.tftpserver, after.nfsserver)
        assert not (after.monserver or "").startswith(f"{failed},")
    rerun = move(moved, source=failed)
    assert not rerun.changed and not rerun.errors
    back = move(moved, noderange=",".join(p.node for p in takeover.nodes), dest=failed)
    assert apply(moved, back) == original


# --- render_plan ----------------------------------------------------------------------------
def test_render_folds_nodes_with_identical_plans() -> None:
    state = cluster(*(node(f"cn{k}", **SCENARIO1, postscripts="setupntp") for k in (1, 2, 3)),
                    node("cn4", servicenode="sn1,sn3"), networks=GATEWAY_IS_SN)  # fmt: skip
    assert render_plan(move(state, source="sn1")) == [
        "cn[1-3]: noderes.servicenode: sn1,sn2 -> sn2,sn1",
        "cn[1-3]: noderes.xcatmaster: sn1-c -> sn2-c",
        "cn[1-3]: noderes.tftpserver: sn1-c -> sn2-c",
        "cn[1-3]: noderes.nfsserver: sn1-c -> sn2-c",
        "cn[1-3]: noderes.monserver: sn1,sn1-c -> sn2,sn2-c",
        "cn[1-3]: nodehm.conserver: sn1 -> sn2",
        "cn[1-3]: xcatinfo: XCATSERVER=10.0.0.2",
        "cn[1-3]: default gateway: 10.0.0.2",
        "cn[1-3]: postscripts: syslog,setupntp",
        "cn4: noderes.servicenode: sn1,sn3 -> sn3,sn1",
        "cn4: noderes.xcatmaster: (unset) -> sn3-c",
        "cn4: xcatinfo: XCATSERVER=10.0.0.3",
        "cn4: default gateway: 10.0.0.3",
        "cn4: postscripts: syslog",
    ]


def test_render_shows_nodeset_and_skipped_nodes() -> None:
    state = cluster(node("cn1", servicenode="sn1,sn2", provmethod="rhels8.8-x86_64-netboot"),
                    node("cn2", servicenode="sn2,sn1", xcatmaster="sn2-c"))  # fmt: skip
    assert render_plan(move(state, noderange="cn1,cn2", dest="sn2", ignore_nodes=True)) == [
        "cn1: noderes.servicenode: sn1,sn2 -> sn2,sn1",
        "cn1: noderes.xcatmaster: (unset) -> sn2-c",
        "cn1: nodeset: rhels8.8-x86_64-netboot",
        "cn2: nothing to move",
    ]


def test_an_empty_plan_renders_nothing() -> None:
    assert render_plan(MovePlan()) == [] and not MovePlan().changed


# --- parse_ip_addr ----------------------------------------------------------------------------
IP_ADDR = """\
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
    inet 127.0.0.1/8 scope host lo
       valid_lft forever preferred_lft forever
    inet6 ::1/128 scope host noprefixroute
       valid_lft forever preferred_lft forever
2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000
    link/ether 52:54:00:6b:3c:01 brd ff:ff:ff:ff:ff:ff
    altname enp1s0
    inet 192.168.1.2/24 brd 192.168.1.255 scope global noprefixroute eth0
       valid_lft forever preferred_lft forever
    inet6 fe80::5054:ff:fe6b:3c01/64 scope link noprefixroute
       valid_lft forever preferred_lft forever
3: eth1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 9000 qdisc mq state UP group default qlen 1000
    link/ether 52:54:00:6b:3c:02 brd ff:ff:ff:ff:ff:ff
    inet 10.0.0.2/16 brd 10.0.255.255 scope global eth1
       valid_lft forever preferred_lft forever
    inet 10.0.0.20/16 brd 10.0.255.255 scope global secondary eth1:0
       valid_lft forever preferred_lft forever
    inet6 fd00:10:0:0::2/64 scope global
       valid_lft forever preferred_lft forever
4: ib0.8001@ib0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 2044 qdisc mq state UP qlen 256
    link/infiniband 80:00:00:02:fe:80:00:00 brd 00:ff:ff:ff:ff:12:40:1b:ff:ff
    inet 10.2.0.2/16 brd 10.2.255.255 scope global ib0.8001
       valid_lft forever preferred_lft forever
5: tun0: <POINTOPOINT,MULTICAST,NOARP,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UNKNOWN qlen 500
    link/none
    inet 10.8.0.1 peer 10.8.0.2/32 scope global tun0
       valid_lft forever preferred_lft forever
"""
IP_O_ADDR = r"""1: lo    inet 127.0.0.1/8 scope host lo\       valid_lft forever preferred_lft forever
1: lo    inet6 ::1/128 scope host noprefixroute \       valid_lft forever preferred_lft forever
2: eth0    inet 192.168.1.2/24 brd 192.168.1.255 scope global noprefixroute eth0\       valid_lft forever preferred_lft forever
2: eth0    inet6 fe80::5054:ff:fe6b:3c01/64 scope link noprefixroute \       valid_lft forever preferred_lft forever
3: eth1    inet 10.0.0.2/16 brd 10.0.255.255 scope global eth1\       valid_lft forever preferred_lft forever
3: eth1    inet 10.0.0.20/16 brd 10.0.255.255 scope global secondary eth1:0\       valid_lft forever preferred_lft forever
3: eth1    inet6 fd00:10::2/64 scope global \       valid_lft forever preferred_lft forever
4: ib0.8001    inet 10.2.0.2/16 brd 10.2.255.255 scope global ib0.8001\       valid_lft forever preferred_lft forever
5: tun0    inet 10.8.0.1 peer 10.8.0.2/32 scope global tun0\       valid_lft forever preferred_lft forever
"""  # noqa: E501
EXPECTED_INTERFACES = (
    Interface(address="127.0.0.1", prefixlen=8, ifname="lo"),
    Interface(address="::1", prefixlen=128, ifname="lo"),
    Interface(address="192.168.1.2", prefixlen=24, ifname="eth0"),
    Interface(address="fe80::5054:ff:fe6b:3c01", prefixlen=64, ifname="eth0"),
    Interface(address="10.0.0.2", prefixlen=16, ifname="eth1"),
    Interface(address="10.0.0.20", prefixlen=16, ifname="eth1"),
    Interface(address="fd00:10::2", prefixlen=64, ifname="eth1"),
    Interface(address="10.2.0.2", prefixlen=16, ifname="ib0.8001"),
    Interface(address="10.8.0.1", prefixlen=32, ifname="tun0"),
)
MN_IP_ADDR = """\
    inet 127.0.0.1/8 scope host lo
    inet 192.168.1.254/24 brd 192.168.1.255 scope global eth0
    inet 10.0.0.254/16 brd 10.0.255.255 scope global eth1
"""


def _prefixed(text: str, host: str) -> str:
    return "\n".join(f"{host}: {line}" for line in text.splitlines())


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(IP_ADDR, id="ip addr"),
        pytest.param(IP_O_ADDR, id="ip -o addr"),
        pytest.param(_prefixed(IP_ADDR, "sn2"), id="xdsh ip addr"),
        pytest.param(_prefixed(IP_O_ADDR, "sn2-b.cluster"), id="xdsh ip -o addr"),
    ],
)
def test_parse_ip_addr_reads_every_address_in_order(text: str) -> None:
    assert parse_ip_addr(text) == EXPECTED_INTERFACES


def test_parse_ip_addr_takes_the_label_when_there_is_no_device() -> None:
    assert parse_ip_addr(xdsh_ip_addr(2)) == (
        Interface(address="127.0.0.1", prefixlen=8, ifname="lo"),
        Interface(address="192.168.1.2", prefixlen=24, ifname="eth0"),
        Interface(address="10.0.0.2", prefixlen=16, ifname="eth1"),
    )


@pytest.mark.parametrize(
    "text", ["", "command not found", "inet", "    inet 999.1.1.1/8 scope global eth0", "\n\n"]
)
def test_parse_ip_addr_ignores_what_is_not_an_address(text: str) -> None:
    assert parse_ip_addr(text) == ()


# --- networks and hosts --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("net", "mask", "address", "inside"),
    [
        ("10.0.0.0", "255.255.0.0", "10.0.1.1", True),
        ("10.0.0.0", "/16", "10.0.1.1", True),
        ("10.0.0.0", "16", "10.0.1.1", True),
        ("10.0.0.0", "0xffff0000", "10.0.1.1", True),
        ("10.0.0.0/16", "", "10.0.1.1", True),
        ("10.0.0.0", "255.255.0.0", "10.1.0.1", False),
        ("fd00:10::", "64", "fd00:10::5", True),
        ("fd00:10::", "ffff:ffff:ffff:ffff::", "fd00:10::5", True),
        ("fd00:10::/64", "", "10.0.0.1", False),
        ("garbage", "255.255.0.0", "10.0.0.1", False),
        ("10.0.0.0", "255.255.0.0", "sn1", False),
        ("10.0.0.0", "255.255.0.0", None, False),
    ],
)
def test_network_contains_with_every_mask_spelling(
    net: str, mask: str, address: str | None, inside: bool
) -> None:
    assert Network(net=net, mask=mask).contains(address) is inside


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (("sn1", "192.168.1.1", None, None), [("sn1", "192.168.1.1")]),
        (("sn1", "192.168.1.1", "sn1.a sn1a", "sn1-b:10.0.0.1"),
         [("sn1", "192.168.1.1"), ("sn1.a", "192.168.1.1"), ("sn1a", "192.168.1.1"),
          ("sn1-b", "10.0.0.1")]),
        (("sn1", None, None, "-b:10.0.0.1, -ib:10.1.0.1"),
         [("sn1-b", "10.0.0.1"), ("sn1-ib", "10.1.0.1")]),
        (("sn1", None, None, "sn1-v6:fd00:0::1,bad,x:notip"), [("sn1-v6", "fd00::1")]),
    ],
)  # fmt: skip
def test_host_names_of_a_hosts_row(row: tuple, expected: list[tuple[str, str]]) -> None:
    assert [(h.name, h.address) for h in host_names(*row)] == expected


def test_address_of_a_literal_a_known_name_and_an_unknown_one() -> None:
    hosts = {"sn1": sn_hosts(1)}
    assert address_of("10.0.0.9", hosts) == "10.0.0.9"
    assert address_of("fd00:0::1", hosts) == "fd00::1"
    assert address_of("sn1-c", hosts) == "10.0.0.1"
    assert address_of("nosuch", hosts) is None and address_of(None, hosts) is None


def test_cluster_state_keys_must_be_node_names() -> None:
    with pytest.raises(ValidationError, match="keyed by another name"):
        ClusterState(nodes={"cn1": NodeState(node="cn2")})


@pytest.mark.parametrize("module", [snmove, snmove_interfaces])
def test_docstring_examples_hold(module: Any) -> None:
    assert doctest.testmod(module).failed == 0


def test_planning_modules_import_nothing_that_does_io() -> None:
    for module in (snmove, snmove_interfaces):
        tree = ast.parse(inspect.getsource(module))
        imported = {
            name
            for stmt in ast.walk(tree)
            if isinstance(stmt, ast.Import | ast.ImportFrom)
            for name in (
                [a.name for a in stmt.names] if isinstance(stmt, ast.Import) else [stmt.module]
            )
        }
        assert all(
            (name or "").split(".")[0] in {"__future__", "collections", "typing", "pydantic",
                                           "ipaddress", "re", "functools", "snflow"}
            for name in imported
        ), imported  # fmt: skip
        assert {n for n in imported if (n or "").startswith("snflow")} <= {
            "snflow.models.errors", "snflow.models.gcpause", "snflow.models.natsort",
            "snflow.models.snmove_interfaces",
        }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "canonical"),
    [(" 10.0.0.1 ", "10.0.0.1"), ("fd00:0::1", "fd00::1"), ("FD00::ABCD", "fd00::abcd"),
     ("256.0.0.1", None), ("010.0.0.1", None), ("10.0.0", None), ("sn1", None), ("", None),
     (None, None)],
)  # fmt: skip
def test_normalize_ip_gives_the_canonical_spelling_or_none(
    text: str | None, canonical: str | None
) -> None:
    # Cached per value: asking twice (as a plan does per node) gives the same answer.
    assert snmove_interfaces.normalize_ip(text) == canonical
    assert snmove_interfaces.normalize_ip(text) == canonical
