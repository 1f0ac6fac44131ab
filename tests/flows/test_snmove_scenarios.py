"""snmove.md §17's scenarios that apply to Linux, on a virtual cluster, adapted by the
design's decisions (names compare exactly, xcatmaster stored as the SN's host name on the
node's network, syslog always runs, one default gateway, any error → failure).

The cluster has three SNs (so that ``-d sn3`` and three-entry lists can be tried):
cn001-cn004 ``servicenode=sn1,sn2``, cn005-cn008 ``sn2,sn1``, cn009-cn012 ``sn3,sn1``;
``xcatmaster`` is the primary's "b" name (``sn1-b``...). Each test starts from that
database; the §17 names map as ``sn1-c`` → ``sn1-b`` (10.0.0.1 → 127.20.0.1).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from service_fixtures import clean_services
from sim_fixtures import module_sim
from snmove_helpers import (
    actions,
    add_postscript,
    attrs,
    dump,
    effective,
    journal_rows,
    node_file,
    reset_database,
    run,
    set_row,
)

from snflow.models import db
from snflow.models.schema import TABLES
from snflow.sim import SimCluster


@pytest.fixture(scope="module")
def sim_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """This module's cluster: 3 SNs, 12 CNs (overrides the 2-SN one of conftest)."""
    yield from module_sim(tmp_path_factory, "sim3", service_nodes=3, nodes=12)


@pytest.fixture(autouse=True)
def fresh(sim: SimCluster) -> SimCluster:
    reset_database(sim)
    clean_services(sim)
    return sim


def noderes(node: str) -> dict[str, str | None]:
    keys = ("servicenode", "xcatmaster", "tftpserver", "nfsserver", "monserver")
    return {k: effective(node, k) for k in keys}


def raw(table: str, key: str, column: str) -> str | None:
    """A row's own value (no inheritance, no regex evaluation)."""
    with db.read_connection() as conn:
        tab = TABLES[table]
        return conn.execute(sa.select(tab.c[column]).where(tab.c.node == key)).scalar()


def texts(report) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.text for m in report.messages]


# --- 1-4: attribute changes --------------------------------------------------------------
def test_1_basic_move_with_D_and_i(sim: SimCluster) -> None:
    set_row("noderes", "cn001", tftpserver="sn1-b", nfsserver="sn1-b", monserver="sn1,sn1-b")
    before = actions(sim, "cn001")
    report, state = run(noderange="cn001", dest_n="sn2-b", ignore_nodes=True)
    assert state.is_completed(), state.message
    assert noderes("cn001") == {
        "servicenode": "sn2,sn1",
        "xcatmaster": "sn2-b",
        "tftpserver": "sn2-b",
        "nfsserver": "sn2-b",
        "monserver": "sn2,sn2-b",
    }
    assert attrs("cn001")["conserver"] == "sn2"
    assert texts(report)[:3] == [
        "Moving nodes to their backup service nodes.",
        "Setting new values in the xCAT database.",
        "Running makeconservercf cn001",
    ]
    assert "Running postscripts on the nodes." not in texts(report)
    assert report.nodes[0].steps == {} and actions(sim, "cn001") == before


def test_2_the_computed_xcatmaster_is_the_sns_host_name_on_the_nodes_network(
    sim: SimCluster,
) -> None:
    set_row("noderes", "cn001", tftpserver="sn1-b", nfsserver="sn1-b", monserver="sn1,sn1-b")
    _, state = run(noderange="cn001", ignore_nodes=True)
    assert state.is_completed()
    assert noderes("cn001")["xcatmaster"] == "sn2-b"  # decision 8; xCAT stores 127.20.0.2
    assert noderes("cn001")["monserver"] == "sn2,sn2-b"
    # Without a name for the address in the hosts table, the address itself is stored.
    set_row("hosts", "sn1", otherinterfaces=None)
    _, state = run(noderange="cn001", ignore_nodes=True)  # back to its backup: sn1
    assert noderes("cn001")["xcatmaster"] == "127.20.0.1"


def test_3_the_old_master_is_matched_by_address_too(sim: SimCluster) -> None:
    set_row("noderes", "cn001", tftpserver="127.20.0.1", nfsserver="nfshost")
    run(noderange="cn001", dest_n="sn2-b", ignore_nodes=True)
    assert noderes("cn001")["tftpserver"] == "sn2-b"
    assert noderes("cn001")["nfsserver"] == "nfshost"


def test_4_without_an_old_master_servers_stay_unless_S_names_it(sim: SimCluster) -> None:
    set_row("noderes", "cn001", xcatmaster=None, tftpserver="sn1-b")
    run(noderange="cn001", dest_n="sn2-b", ignore_nodes=True)
    assert noderes("cn001")["tftpserver"] == "sn1-b"
    assert noderes("cn001")["xcatmaster"] == "sn2-b"
    reset_database(sim)
    set_row("noderes", "cn001", xcatmaster=None, tftpserver="sn1-b")
    _, state = run(source="sn1", source_n="sn1-b", dest_n="sn2-b", ignore_nodes=True)
    assert state.is_completed(), state.message
    assert noderes("cn001")["tftpserver"] == "sn2-b"


# --- 5-8: destinations and selection ------------------------------------------------------
def test_5_a_destination_not_in_the_list_is_put_first(sim: SimCluster) -> None:
    run(noderange="cn001", dest="sn3", ignore_nodes=True)
    assert noderes("cn001")["servicenode"] == "sn3,sn1,sn2"
    assert noderes("cn001")["xcatmaster"] == "sn3-b"


def test_6_three_entries_keep_their_order(sim: SimCluster) -> None:
    set_row("noderes", "cn001", servicenode="sn1,sn2,sn3")
    report, state = run(noderange="cn001", dest_n="sn2-b", ignore_nodes=True)
    assert state.is_completed()
    assert noderes("cn001")["servicenode"] == "sn2,sn1,sn3"
    assert not [m for m in report.messages if m.level != "info"]


def test_7_s_selects_by_first_entry_and_one_unplannable_node_stops_all(
    sim: SimCluster,
) -> None:
    set_row("noderes", "cn003", servicenode="sn1")
    before = dump()
    report, state = run(source="sn1", dest_n="sn2-b", ignore_nodes=True)
    assert state.is_failed()
    assert report.errors == ["Could not determine a backup service node for node cn003."]
    assert dump() == before and journal_rows() == []
    report, state = run(source="sn1", dest="sn2", dest_n="sn2-b", ignore_nodes=True)
    assert state.is_completed()
    assert [n.node for n in report.nodes] == ["cn001", "cn002", "cn003", "cn004"]
    assert noderes("cn003")["servicenode"] == "sn2,sn1"
    assert noderes("cn005")["servicenode"] == "sn2,sn1"  # not selected: untouched


def test_8_s_with_no_matching_node(sim: SimCluster) -> None:
    report, state = run(source="sn9", dest="sn2")
    assert state.is_failed()
    assert report.errors == ["Could not get xCAT object definitions."]


# --- 9-10: inherited and regex values ----------------------------------------------------
def test_9_a_node_inheriting_from_a_group_gets_its_own_row(sim: SimCluster) -> None:
    set_row("noderes", "rack1", servicenode="sn1,sn2", xcatmaster="sn1-b", tftpserver="sn1-b")
    for node in ("cn001", "cn002"):
        set_row("nodelist", node, groups="rack1,compute,sn1group")
        set_row("noderes", node, servicenode=None, xcatmaster=None)
    run(noderange="cn001", dest_n="sn2-b", ignore_nodes=True)
    assert noderes("cn001") == {
        "servicenode": "sn2,sn1",
        "xcatmaster": "sn2-b",
        "tftpserver": "sn2-b",
        "nfsserver": None,
        "monserver": None,
    }
    assert noderes("rack1")["servicenode"] == "sn1,sn2"
    assert noderes("cn002")["servicenode"] == "sn1,sn2"
    assert noderes("cn002")["xcatmaster"] == "sn1-b"


def test_10_a_regex_group_value_becomes_a_literal_on_the_node(sim: SimCluster) -> None:
    regex = "|\\D+(\\d+)|sn(($1-1)%2+1),sn(($1)%2+1)|"
    set_row("noderes", "compute", servicenode=regex)
    for node in ("cn001", "cn002"):
        set_row("noderes", node, servicenode=None)
    assert effective("cn002", "servicenode") == "sn2,sn1"
    run(noderange="cn001", dest_n="sn2-b", ignore_nodes=True)
    assert attrs("cn001")["servicenode"] == "sn2,sn1"
    assert raw("noderes", "compute", "servicenode") == regex
    assert effective("cn002", "servicenode") == "sn2,sn1"


# --- 12-13: monserver and conserver --------------------------------------------------------
def test_12_an_invalid_monserver_is_an_error_and_everything_else_moves(sim: SimCluster) -> None:
    set_row("noderes", "cn001", monserver="sn1")
    report, state = run(noderange="cn001", dest_n="sn2-b", ignore_nodes=True)
    assert report.errors == [
        "cn001: The current value of the monserver attribute is not valid.  It will not be reset."
    ]
    assert state.is_completed()  # the move itself is done...
    assert report.failed  # ...but an error was said: the CLI exits 1 (design decision 1)
    assert noderes("cn001")["monserver"] == "sn1"
    assert noderes("cn001")["servicenode"] == "sn2,sn1"


def test_13_monserver_and_conserver_on_another_host_are_left_alone(sim: SimCluster) -> None:
    set_row("noderes", "cn001", monserver="mn,mn-b")
    set_row("nodehm", "cn001", conserver="mn")
    report, state = run(noderange="cn001", dest_n="sn2-b", ignore_nodes=True)
    assert state.is_completed()
    assert noderes("cn001")["monserver"] == "mn,mn-b"
    assert attrs("cn001")["conserver"] == "mn"
    assert not any(t.startswith("Running makeconservercf") for t in texts(report))
    assert "conserver" not in {s.service for s in report.services}


# --- 17-18: what cannot be planned changes nothing -------------------------------------
def test_17_a_mix_of_aix_and_linux_nodes_is_refused(sim: SimCluster) -> None:
    set_row("nodetype", "cn002", os="AIX")
    before = dump()
    report, state = run(noderange="cn001,cn002", dest_n="sn2-b")
    assert state.is_failed()
    assert report.errors == ["This command does not support a mix of AIX and Linux nodes."]
    assert dump() == before


def test_18_no_xcatmaster_can_be_derived_for_a_node_off_every_network(sim: SimCluster) -> None:
    set_row("hosts", "cn001", ip="172.16.0.5")
    before = dump()
    report, state = run(noderange="cn001,cn002")
    assert state.is_failed()
    assert report.errors == ["Could not determine an xcatmaster value for node cn001."]
    assert dump() == before


def test_18_a_destination_down_cannot_give_its_addresses(sim: SimCluster) -> None:
    sim.power("sn2", False)
    before = dump()
    report, state = run(noderange="cn001")
    assert state.is_failed()
    assert report.errors[:2] == [
        "Could not get IP addresses from service node sn2.",
        "Could not determine an xcatmaster value for node cn001.",
    ]
    assert report.errors[2].startswith("Service node sn2 does not answer: ")
    assert dump() == before


# --- 19-25: what runs on the nodes ----------------------------------------------------------
def test_19_22_syslog_always_runs_then_the_listed_candidates(sim: SimCluster) -> None:
    set_row("postscripts", "compute", postscripts="setupntp,remoteshell")
    report, _ = run(noderange="cn001", dest_n="sn2-b")
    assert list(report.nodes[0].steps) == ["xcatinfo", "gateway", "syslog", "setupntp"]
    set_row("postscripts", "xcatdefaults", postscripts="", postbootscripts="")
    set_row("postscripts", "compute", postscripts="remoteshell")
    report, _ = run(noderange="cn001", dest="sn1", dest_n="sn1-b")
    assert list(report.nodes[0].steps) == ["xcatinfo", "gateway", "syslog"]  # decision 3
    assert "*.* @sn1-b" in node_file(sim, "cn001", "etc/rsyslog.d/remote.conf")


def test_20_P_adds_scripts_after_the_standard_ones(sim: SimCluster) -> None:
    for name in ("test1", "test2"):
        add_postscript(sim, name, f'echo "{name} $MASTER" >"$NODEROOT/tmp/{name}"\n')
    report, state = run(noderange="cn001", dest_n="sn2-b", postscripts="test1,test2")
    assert state.is_completed(), state.message
    steps = list(report.nodes[0].steps)
    assert steps[2:] == ["syslog", "setupntp", "mkresolvconf", "test1", "test2"]
    assert node_file(sim, "cn001", "tmp/test2") == "test2 sn2-b\n"
    report, state = run(noderange="cn001", dest="sn1", postscripts="nosuch")
    assert state.is_failed()
    assert report.errors == ["Could not find the postscripts nosuch; nothing was changed."]


def test_21_P_all_runs_the_whole_list_that_snflow_can_run(sim: SimCluster) -> None:
    report, state = run(noderange="cn001", dest_n="sn2-b", postscripts="all")
    assert state.is_completed(), state.message
    assert list(report.nodes[0].steps)[2:] == ["syslog", "mkresolvconf", "setupntp"]
    warning = "Postscripts not available, not run: remoteshell, syncfiles, otherpkgs"
    assert warning in texts(report)


def test_25_a_literal_gateway_is_not_touched(sim: SimCluster) -> None:
    set_row("networks", "127.20.0.0", gateway="127.20.255.254")
    before = node_file(sim, "cn002", "etc/snflow/routes")
    report, _ = run(noderange="cn002", dest_n="sn2-b")
    assert "gateway" not in report.nodes[0].steps
    assert "Checking the default routes on the nodes." not in texts(report)
    assert node_file(sim, "cn002", "etc/snflow/routes") == before


# --- 26-27: services -------------------------------------------------------------------------
def test_26_boot_files_and_dhcp_only_for_nodes_with_a_provmethod(sim: SimCluster) -> None:
    set_row("nodetype", "cn002", provmethod=None)
    report, state = run(noderange="cn001,cn002", dest_n="sn2-b", ignore_nodes=True)
    assert state.is_completed(), state.message
    assert "cn001: nodeset: rhels9-x86_64-netboot-compute" in report.plan
    assert not any(line.startswith("cn002: nodeset") for line in report.plan)
    assert node_file(sim, "sn2", "tftpboot/pxelinux.cfg/cn001")
    assert not node_file(sim, "sn2", "tftpboot/pxelinux.cfg/cn002")


def test_27_a_service_that_fails_fails_the_run_after_the_database_changed(
    sim: SimCluster,
) -> None:
    set_row("mac", "cn002", mac="02:00:00:00:01:01")  # cn001's MAC: makedhcp refuses
    report, state = run(noderange="cn001,cn002", dest_n="sn2-b")
    assert state.is_failed()
    assert any(e.startswith("services: ") for e in report.errors)
    assert noderes("cn001")["servicenode"] == "sn2,sn1"
    assert {n.status for n in report.nodes} == {"done"}
