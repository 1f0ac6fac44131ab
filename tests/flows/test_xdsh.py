"""xdsh on the virtual cluster: through the hierarchy, failures per node, fanout, safety."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from snflow.cli.main import app
from snflow.flows.xdsh import xdsh
from snflow.models import db
from snflow.models.remote import XdshReport, XdshRequest
from snflow.models.schema import TABLES
from snflow.sim import SimCluster


def run(noderange: str, command: str, **options: object) -> tuple[XdshReport, object]:
    state = xdsh(XdshRequest(noderange=noderange, command=command, **options), return_state=True)
    report = state.result(raise_on_failure=False)
    assert isinstance(report, XdshReport), state
    return report, state


def outcome(report: XdshReport) -> dict[str, tuple[str, str | None]]:
    return {r.node: (r.outcome, r.via) for r in report.results}


def test_xdsh_reaches_every_node_through_its_service_node(sim: SimCluster) -> None:
    report, state = run("compute,sn1,sn2", 'echo "$NODE $NODEROOT"')
    assert state.is_completed()
    assert len(report.results) == 18
    for r in report.results:
        assert r.outcome == "ok"
        name, root = r.stdout.split()
        assert name == r.node
        assert root.endswith(f"/{r.node}")  # the node's root (seen through the sim's mounts)
    # cn001..cn008 have servicenode=sn1,sn2; cn009..cn016 sn2,sn1; SNs are direct.
    assert {r.via for r in report.results if r.node <= "cn008"} == {"sn1"}
    assert {r.via for r in report.results if "cn009" <= r.node <= "cn016"} == {"sn2"}
    assert outcome(report)["sn1"] == ("ok", None)


def test_with_sn1_off_its_nodes_are_reached_through_their_backup(sim: SimCluster) -> None:
    sim.power("sn1", False)
    report, state = run("compute", "true")
    assert state.is_completed()
    assert {r.via for r in report.results} == {"sn2"}


def test_nodes_with_no_working_service_node_fail_clearly_and_the_rest_go_on(
    sim: SimCluster,
) -> None:
    sim.power("sn1", False)
    sim.power("sn2", False)
    report, state = run("cn001,sn1", "true")
    assert state.is_failed()
    assert "cn001" in state.message and "sn1" in state.message
    cn001 = next(r for r in report.results if r.node == "cn001")
    assert cn001.outcome == "unreachable"
    assert "sn1" in cn001.message and "sn2" in cn001.message


def test_a_command_timeout_marks_only_that_node_failed(sim: SimCluster) -> None:
    report, state = run(
        "cn001,cn002", 'if [ "$NODE" = cn001 ]; then sleep 30; fi; echo done', timeout=1.5
    )
    assert state.is_failed()
    assert outcome(report)["cn001"][0] == "timeout"
    assert outcome(report)["cn002"] == ("ok", "sn1")


def test_concurrent_sessions_never_exceed_the_fanout(sim: SimCluster) -> None:
    report, _ = run("compute", "sleep 0.2", fanout=3)
    assert all(r.outcome == "ok" for r in report.results)
    cns = [h for h in sim.status().hosts if h.name.startswith("cn")]
    assert sum(h.counters.sessions for h in cns) == 0
    assert max(h.counters.max_sessions for h in cns) == 1
    assert sim.status().totals.max_sessions <= 3
    assert sim.status().totals.max_sessions == 3  # the limit is used, not just respected


def test_one_connection_per_service_node_for_the_whole_run(sim: SimCluster) -> None:
    run("compute", "true")
    status = sim.status()
    assert status.host("sn1").counters.accepted == 1
    assert status.host("sn2").counters.accepted == 1


def test_a_changed_host_key_is_refused(sim: SimCluster) -> None:
    known_hosts = sim.home / "known_hosts"
    original = known_hosts.read_text()
    other_key = next(line for line in original.splitlines() if line.startswith("[sn2]"))
    forged = [
        line.split(" ", 1)[0] + " " + other_key.split(" ", 1)[1]
        if line.startswith("[sn1]")
        else line
        for line in original.splitlines()
    ]
    known_hosts.write_text("\n".join(forged) + "\n")
    try:
        report, state = run("sn1,sn2", "true")
    finally:
        known_hosts.write_text(original)
    assert state.is_failed()
    sn1 = next(r for r in report.results if r.node == "sn1")
    assert sn1.outcome == "unreachable"
    assert "HOST KEY CHANGED" in sn1.message
    assert outcome(report)["sn2"] == ("ok", None)


def test_attribute_values_with_shell_metacharacters_cannot_inject(
    sim: SimCluster, tmp_path: Path
) -> None:
    marker = tmp_path / "injected"
    hosts = TABLES["hosts"]
    with db.transaction() as conn:
        before = conn.execute(sa.select(hosts.c.ip).where(hosts.c.node == "cn003")).scalar()
        conn.execute(
            hosts.update().where(hosts.c.node == "cn003").values(ip=f"127.20.1.3;touch {marker}")
        )
    try:
        with pytest.raises(Exception, match="invalid address"):
            run("cn003", "true")
    finally:
        with db.transaction() as conn:
            conn.execute(hosts.update().where(hosts.c.node == "cn003").values(ip=before))
    assert not marker.exists()


def test_cli_prints_node_lines_and_exits_non_zero_on_failure(sim: SimCluster) -> None:
    ok = CliRunner().invoke(app, ["xdsh", "cn00[1-2]", "echo", "out;", "echo", "err", ">&2"])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.splitlines() == ["cn001: out", "cn002: out"]
    assert "cn001: err" in ok.stderr
    assert "xdsh: cn[001-002]: ok (through sn1)" in ok.stderr

    failed = CliRunner().invoke(app, ["xdsh", "cn001", "-t", "5", "exit", "3"])
    assert failed.exit_code == 1
    assert "cn001: exit status 3" in failed.stderr


def test_cli_rejects_unknown_nodes_before_running_anything(sim: SimCluster) -> None:
    result = CliRunner().invoke(app, ["xdsh", "cn001,nosuch", "true"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: Invalid nodes and/or groups in noderange: nosuch"
    assert sim.status().totals.accepted == 0


def test_script_option_copies_and_runs_a_script(sim: SimCluster, tmp_path: Path) -> None:
    script = tmp_path / "hello.sh"
    script.write_text('#!/bin/sh\necho "script $1 on $NODE"\n')
    report, state = run("cn010", "arg1", script=str(script))
    assert state.is_completed(), report
    assert report.results[0].stdout.strip() == "script arg1 on cn010"
    leftovers = list((sim.home / "sim" / "cn010" / "tmp").glob("snflow-xdsh-*"))
    assert leftovers == []


def test_cli_options_after_the_noderange_belong_to_xdsh_and_then_to_the_command() -> None:
    from snflow.cli.xdsh import parse_xdsh_args

    request = parse_xdsh_args(["cn1", "-f", "8", "-t", "5", "-v", "df", "-h", "/tmp"])
    assert (request.noderange, request.fanout, request.timeout, request.verify) == (
        "cn1",
        8,
        5.0,
        True,
    )
    assert request.command == "df -h /tmp"
