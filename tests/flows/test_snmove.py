"""snmove on the virtual cluster: takeover, switch-back, and what goes wrong.

The cluster (2 SNs, 16 CNs) is the procedure's: cn001-cn008 ``servicenode=sn1,sn2``
``xcatmaster=sn1-b`` (sn1group), cn009-cn016 the other way round; network "b"
(127.20.0.0/16) has ``gateway=<xcatmaster>``; the compute group lists ``mkresolvconf,
setupntp``; site ``domain=cluster.snflow``, ``nameservers``/``ntpservers`` ``<xcatmaster>``.
Every test starts from that database; files on the nodes carry over (tests compare values).
"""

from __future__ import annotations

import signal
import threading

import pytest
from prefect.states import State
from service_fixtures import clean_services
from snmove_helpers import (
    GATE,
    SN1_NODES,
    SN2_NODES,
    actions,
    add_postscript,
    attrs,
    close_gate,
    dump,
    journal_rows,
    node_file,
    open_gate,
    reset_database,
    run,
    start_cli,
    wait_until,
    waiting_at_gate,
)

from snflow.models.snmove_request import SnmoveReport
from snflow.sim import SimCluster

SN2_B, SN1_B = "127.20.0.2", "127.20.0.1"


@pytest.fixture(autouse=True)
def fresh(sim: SimCluster) -> SimCluster:
    reset_database(sim)
    clean_services(sim)
    close_gate(sim, SN1_NODES + SN2_NODES)
    return sim


def assert_node_follows(sim: SimCluster, node: str, name: str, address: str) -> None:
    """The node's files name its (new) master: xcatinfo, syslog, time, DNS, route."""
    assert f"XCATSERVER={address}\n" in node_file(sim, node, "opt/xcat/xcatinfo")
    assert f"*.* @{name}\n" in node_file(sim, node, "etc/rsyslog.d/remote.conf")
    assert f"server {name} iburst\n" in node_file(sim, node, "etc/chrony.conf")
    resolv = node_file(sim, node, "etc/resolv.conf")
    assert resolv == f"search cluster.snflow\nnameserver {address}\n"
    assert node_file(sim, node, "etc/snflow/routes") == f"default via {address}\n"


def test_takeover_with_the_source_down_moves_the_nodes_to_their_backup(sim: SimCluster) -> None:
    sim.power("sn1", False)
    report, state = run(noderange="sn1group")  # xcatmaster: sn2 is asked for its addresses
    assert state.is_completed(), state.message
    assert [n.status for n in report.nodes] == ["done"] * 8
    for node in SN1_NODES:
        assert attrs(node) == {"servicenode": "sn2,sn1", "xcatmaster": "sn2-b", "conserver": "sn2"}
        assert_node_follows(sim, node, "sn2-b", SN2_B)
    assert attrs("cn009") == {"servicenode": "sn2,sn1", "xcatmaster": "sn2-b", "conserver": "sn2"}
    assert node_file(sim, "cn009", "opt/xcat/xcatinfo") == ""
    texts = [m.text for m in report.messages]
    assert texts[:2] == ["Moving nodes to their backup service nodes.",
                         "Setting new values in the xCAT database."]  # fmt: skip
    assert "Running postscripts on the nodes." in texts
    # One journal entry per changed attribute, one node row per node, no lock left.
    assert len(journal_rows()) == 8 * 3
    assert {r["status"] for r in journal_rows("snflow_move_nodes")} == {"done"}
    assert journal_rows("snflow_locks") == []
    assert report.task_runs < 20
    steps = report.nodes[0].steps
    assert list(steps) == ["xcatinfo", "gateway", "syslog", "setupntp", "mkresolvconf"]
    # Services: consoles on the MN (master sn2) and sn2 (exec); DHCP and boot files on sn2;
    # sn1, the old SN, is down: deferred, not failed.
    services = {(s.service, s.host): s.status for s in report.services}
    assert services[("conserver", "mn")] == services[("conserver", "sn2")] == "changed"
    assert services[("conserver", "sn1")] == services[("dhcp", "sn1")] == "deferred"
    assert services[("dhcp", "sn2")] == services[("nodeset", "sn2")] == "changed"
    assert "Running makeconservercf " + ",".join(SN1_NODES) in texts
    mn_console = node_file(sim, "mn", "etc/conserver.cf")
    assert "console cn001 {\n  type exec;\n  master sn2;\n}" in mn_console
    sn2_console = node_file(sim, "sn2", "etc/conserver.cf")
    assert "  exec PERL_BADLANG=0 /opt/xcat/share/xcat/cons/ipmi cn001;\n" in sn2_console
    dhcp = node_file(sim, "sn2", "etc/dhcp/snflow.conf")
    assert "host cn001 {" in dhcp and "next-server 127.20.0.2;" in dhcp
    assert "XCAT=127.20.0.2:3001" in node_file(sim, "sn2", "tftpboot/pxelinux.cfg/cn001")


def test_the_console_check_names_addresses_so_conserver_looks_nothing_up(
    sim: SimCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """conserver -S resolves every ``master`` once per console: with the SNs' names that
    is one resolver query per console (minutes for a thousand), so the move's check
    names their addresses, as makeconservercf's does. The real check still runs."""
    import snflow.tasks.conserver as conserver_task

    checked: list[str] = []
    real = conserver_task.check_locally

    def spy(checker, text, host, suffix=".conf"):  # type: ignore[no-untyped-def]
        checked.append(text)
        return real(checker, text, host, suffix)

    monkeypatch.setattr(conserver_task, "check_locally", spy)
    sim.power("sn1", False)
    _, state = run(source="sn1")
    assert state.is_completed(), state.message
    assert checked, "no conserver check ran on the management node"
    for text in checked:
        masters = {
            line.split()[1] for line in text.splitlines() if line.strip().startswith("master ")
        }
        # Addresses, or localhost (an SN's own consoles): nothing the resolver is asked for.
        assert masters and all(m[0].isdigit() or m == "localhost;" for m in masters), masters


def test_switch_back_restores_the_original_database_except_the_journal(sim: SimCluster) -> None:
    original = dump()
    sim.power("sn1", False)
    _, state = run(source="sn1")  # the procedure: snmove -s sn1
    assert state.is_completed()
    assert dump() != original
    sim.power("sn1", True)
    report, state = run(noderange="sn1group", dest="sn1")  # snmove sn1group -d sn1
    assert state.is_completed(), state.message
    assert dump() == original
    for node in SN1_NODES:
        assert_node_follows(sim, node, "sn1-b", SN1_B)
    assert {n.new_sn for n in report.nodes} == {"sn1"}
    # The consoles are back on sn1; sn2's stanzas of those nodes are gone (it answers).
    assert "console cn001 {" in node_file(sim, "sn1", "etc/conserver.cf")
    assert "console cn001 {" not in node_file(sim, "sn2", "etc/conserver.cf")
    assert "  master sn1;" in node_file(sim, "mn", "etc/conserver.cf")
    assert {s.status for s in report.services} <= {"changed", "unchanged"}


def test_a_completed_move_run_again_finds_nothing_to_move(sim: SimCluster) -> None:
    # With -d (or -s): without it each node goes to the 2nd entry of its list, which
    # after a takeover is the original SN again (xCAT's behaviour).
    run(noderange="sn1group", dest="sn2", dest_n="sn2-b")
    before = dump(), len(journal_rows())
    report, state = run(noderange="sn1group", dest="sn2", dest_n="sn2-b")
    assert state.is_completed()
    assert [m.text for m in report.messages][-1] == "cn[001-008]: nothing to move"
    assert (dump(), len(journal_rows())) == before
    report, state = run(source="sn1", dest="sn2")
    assert state.is_completed()
    assert report.nodes == []  # every node listing sn1 as backup is already on sn2
    assert "cn[001-016]: nothing to move" in [m.text for m in report.messages]


def test_a_destination_that_does_not_answer_is_refused_before_any_write(
    sim: SimCluster,
) -> None:
    before = dump()
    sim.power("sn2", False)
    report, state = run(noderange="sn1group", dest_n="sn2-b")
    assert state.is_failed()
    assert any(e.startswith("Service node sn2 does not answer") for e in report.errors)
    assert dump() == before
    assert journal_rows() == []


def test_dry_run_shows_each_change_and_action_and_changes_nothing(sim: SimCluster) -> None:
    before = dump()
    report, state = run(noderange="cn001,cn009", dest="sn1", dest_n="sn1-b", dry_run=True)
    assert state.is_completed()
    assert "cn009: noderes.servicenode: sn2,sn1 -> sn1,sn2" in report.plan
    assert "cn009: default gateway: 127.20.0.1" in report.plan
    assert "cn001: nothing to move" in report.plan
    assert [n.status for n in report.nodes] == ["planned"]
    assert dump() == before
    assert journal_rows("snflow_moves") == []


def test_ignore_nodes_changes_the_database_and_runs_nothing_on_the_nodes(
    sim: SimCluster,
) -> None:
    before = {n: actions(sim, n) for n in ("cn010", "cn011")}
    report, state = run(noderange="cn010,cn011", dest="sn1", dest_n="sn1-b", ignore_nodes=True)
    assert state.is_completed()
    assert attrs("cn010")["servicenode"] == "sn1,sn2"
    assert {n: actions(sim, n) for n in ("cn010", "cn011")} == before
    assert "Running postscripts on the nodes." not in [m.text for m in report.messages]


def test_nodes_that_are_down_are_skipped_then_finished_by_resume(sim: SimCluster) -> None:
    sim.power("cn002", False)
    sim.power("cn003", False)
    report, state = run(noderange="sn1group", dest_n="sn2-b")
    assert state.is_completed(), state.message
    assert report.skipped_nodes == ["cn002", "cn003"]
    assert attrs("cn002")["servicenode"] == "sn2,sn1"  # the database moved them all
    first = report.run_id
    done_before = actions(sim, "cn001")
    sim.power("cn002", True)
    sim.power("cn003", True)
    resumed, state = run(resume=first[:8])
    assert state.is_completed(), state.message
    assert [n.node for n in resumed.nodes] == ["cn002", "cn003"]
    assert {n.status for n in resumed.nodes} == {"done"}
    for node in ("cn002", "cn003"):
        assert_node_follows(sim, node, "sn2-b", SN2_B)
    assert actions(sim, "cn001") == done_before  # not moved twice
    again, state = run(resume=first)
    assert state.is_completed()
    assert again.nodes == []
    assert f"Run {first} is complete: nothing left to do." in [m.text for m in again.messages]


def test_a_node_failing_a_postscript_fails_the_run_and_the_others_are_done(
    sim: SimCluster,
) -> None:
    add_postscript(sim, "fails-on-cn003", '[ "$NODE" != cn003 ] || { echo broken >&2; exit 3; }\n')
    report, state = run(noderange="sn1group", dest_n="sn2-b", postscripts="fails-on-cn003")
    assert state.is_failed()
    assert "cn003" in state.message
    by_node = {n.node: n for n in report.nodes}
    assert by_node["cn003"].status == "failed"
    assert by_node["cn003"].steps["fails-on-cn003"] == "failed (3)"
    assert by_node["cn003"].detail == "fails-on-cn003: broken"
    assert {n.status for n in report.nodes if n.node != "cn003"} == {"done"}
    assert_node_follows(sim, "cn003", "sn2-b", SN2_B)  # its other steps ran


def test_undo_restores_the_journaled_values_and_reconfigures_the_nodes(sim: SimCluster) -> None:
    original = dump()
    report, state = run(noderange="cn009,cn010", dest="sn1", dest_n="sn1-b")
    assert state.is_completed()
    undone, state = run(undo=report.run_id)
    assert state.is_completed(), state.message
    assert dump() == original
    assert {(n.old_sn, n.new_sn) for n in undone.nodes} == {("sn1", "sn2")}
    assert_node_follows(sim, "cn009", "sn2-b", SN2_B)


def test_a_move_killed_after_apply_is_refused_to_others_and_finished_by_resume(
    sim: SimCluster,
) -> None:
    add_postscript(sim, "gate", GATE)
    child = start_cli(sim, "sn1group", "-D", "sn2-b", "-P", "gate")
    try:
        wait_until(waiting_at_gate(sim, SN1_NODES), what="the nodes to reach the gate")
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate()
    moves = journal_rows("snflow_moves")
    assert [m["state"] for m in moves] == ["applied"]
    run_id = moves[0]["run_id"]
    assert {r["status"] for r in journal_rows("snflow_move_nodes")} == {"pending"}
    # Another move of those nodes is refused, and told what to do.
    report, state = run(noderange="cn001", dest="sn1", dest_n="sn1-b")
    assert state.is_failed()
    assert f"--resume {run_id}" in report.errors[0]
    open_gate(sim, SN1_NODES)
    resumed, state = run(resume=run_id)
    assert state.is_completed(), state.message
    assert [n.node for n in resumed.nodes] == list(SN1_NODES)
    assert {n.steps.get("gate") for n in resumed.nodes} == {"ok"}
    assert journal_rows("snflow_locks") == []
    assert len(journal_rows()) == 8 * 3  # the database was changed once


def _task_running(name: str) -> bool:
    """Whether a task run called ``name...`` is running now (asked to the Prefect server)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        TaskRunFilter,
        TaskRunFilterName,
        TaskRunFilterState,
        TaskRunFilterStateName,
    )

    running = TaskRunFilter(
        name=TaskRunFilterName(like_=name),
        state=TaskRunFilterState(name=TaskRunFilterStateName(any_=["Running"])),
    )
    with get_client(sync_client=True) as client:
        return bool(client.read_task_runs(task_run_filter=running))


def test_two_overlapping_moves_never_interleave(sim: SimCluster) -> None:
    add_postscript(sim, "gate", GATE)
    child = start_cli(sim, "cn001,cn002", "-d", "sn2", "-D", "sn2-b", "-P", "gate")
    waiting: list[tuple[SnmoveReport, State]] = []
    try:
        wait_until(waiting_at_gate(sim, ("cn001", "cn002")), what="the first move")
        report, state = run(noderange="cn002,cn003", dest="sn2", dest_n="sn2-b")
        assert state.is_failed()
        assert "cn002 are being moved by snmove run" in report.errors[0]
        report, state = run(noderange="cn001", dest="sn2", dest_n="sn2-b")
        assert state.is_failed()  # already in place, but its move is not over
        assert "cn001 are being moved by snmove run" in report.errors[0]
        assert attrs("cn003")["servicenode"] == "sn1,sn2"
        second = threading.Thread(
            target=lambda: waiting.append(
                run(noderange="cn002,cn003", dest="sn2", dest_n="sn2-b", lock_wait=120)
            )
        )
        second.start()
        wait_until(lambda: _task_running("wait-for-locks%"), what="the second move to wait")
        open_gate(sim, ("cn001", "cn002"))
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        second.join(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    report, state = waiting[0]
    assert state.is_completed(), state.message
    assert [n.node for n in report.nodes] == ["cn003"]  # planned again after the first
    assert "cn002: nothing to move" in report.plan
    assert "The nodes are free again: planning again." in [m.text for m in report.messages]
