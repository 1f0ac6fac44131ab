"""The program run on a moved node: steps, environment, markers; run by the real /bin/sh.

The program is fed to ``/bin/sh -s`` with a temporary ``NODEROOT`` (as the virtual cluster
runs it), with snflow's own postscripts, so what is tested is what runs on a node.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from snflow.models.journal import NodeWork
from snflow.models.snmove_read import NodeEnvironment
from snflow.models.snmove_runner import (
    RUNNER_COMMAND,
    RunnerStep,
    node_steps,
    parse_runner_output,
    postscript_env,
    runner_script,
)
from snflow.tasks.postscripts import find_postscripts

WORK = NodeWork(
    node="cn1",
    old_sn="sn1",
    new_sn="sn2",
    new_master="sn2-c",
    master_ip="10.0.0.2",
    gateway="10.0.0.2",
    scripts=("syslog", "setupntp", "mkresolvconf"),
)
ENV = NodeEnvironment(
    site={"master": "mn", "domain": "cluster.com", "nameservers": "<xcatmaster>", "path": "/x"},
    nodes={
        "cn1": {"xcatmaster": "sn2-c", "servicenode": "sn2,sn1", "os": "rhels9", "ip": "10.0.1.1"}
    },
    service_nodes=frozenset({"sn1"}),
)


def run_on(root: Path, program: bytes) -> subprocess.CompletedProcess[str]:
    for sub in ("etc", "opt/xcat", "var", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    env = {"NODEROOT": str(root), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(root)}
    return subprocess.run(
        RUNNER_COMMAND.split(), input=program.decode(), env=env, capture_output=True,
        text=True, check=False, timeout=60,
    )  # fmt: skip


def test_steps_are_xcatinfo_gateway_then_the_postscripts_in_order() -> None:
    steps = node_steps(WORK)
    assert [s.name for s in steps] == ["xcatinfo", "gateway", "syslog", "setupntp", "mkresolvconf"]
    assert steps[0].env == (("MASTER", "10.0.0.2"),)  # xcatinfo names the master's address
    assert steps[1].args == ("10.0.0.2",)
    assert node_steps(WORK.model_copy(update={"run_on_node": False})) == []


def test_the_environment_is_xcats_with_site_keys_and_no_shell_variables() -> None:
    env = postscript_env(ENV, WORK)
    assert env["MASTER"] == "sn2-c" and env["MASTER_IP"] == "10.0.0.2"
    assert env["SITEMASTER"] == "mn" and env["DOMAIN"] == "cluster.com"
    assert env["NODE"] == "cn1" and env["NTYPE"] == "compute" and env["OSVER"] == "rhels9"
    assert env["SERVICEGROUP"] == "sn2,sn1" and env["IPADDR"] == "10.0.1.1"
    assert "PATH" not in env  # site.path must not replace the node's PATH


def test_the_program_reconfigures_the_node_and_reports_each_step(tmp_path: Path) -> None:
    steps = node_steps(WORK)
    scripts, missing = find_postscripts(s.script for s in steps)
    assert missing == []
    program, token = runner_script(steps, scripts, postscript_env(ENV, WORK))
    done = run_on(tmp_path, program)
    assert done.returncode == 0, done.stderr
    results = parse_runner_output(done.stdout, token, steps)
    assert [(r.name, r.status) for r in results] == [(s.name, 0) for s in steps]
    assert results[0].output == "snflow-xcatinfo: XCATSERVER=10.0.0.2 (was absent)"
    assert (tmp_path / "opt/xcat/xcatinfo").read_text() == "XCATSERVER=10.0.0.2\n"
    assert (tmp_path / "etc/resolv.conf").read_text() == (
        "search cluster.com\nnameserver 10.0.0.2\n"
    )
    assert list((tmp_path / "var/lib/snflow/run").iterdir()) == []  # cleaned up
    again = run_on(tmp_path, program)
    outputs = [r.output for r in parse_runner_output(again.stdout, token, steps)]
    assert all(o.endswith("unchanged") for o in outputs), outputs


def test_a_failing_step_is_reported_and_the_following_steps_still_run(tmp_path: Path) -> None:
    steps = [RunnerStep(name="bad", script="bad"), RunnerStep(name="good", script="good")]
    scripts = {"bad": b"#!/bin/sh\necho oops >&2\nexit 4\n", "good": b"#!/bin/sh\necho fine\n"}
    program, token = runner_script(steps, scripts, {})
    done = run_on(tmp_path, program)
    assert done.returncode == 1
    results = parse_runner_output(done.stdout, token, steps)
    assert [(r.status, r.output) for r in results] == [(4, "oops"), (0, "fine")]


def test_hostile_values_reach_the_scripts_as_plain_text(tmp_path: Path) -> None:
    steps = [RunnerStep(name="show", script="show", args=("$(touch x)",))]
    scripts = {"show": b'#!/bin/sh\nprintf "%s|%s\\n" "$MASTER" "$1"\n'}
    program, token = runner_script(steps, scripts, {"MASTER": "a'; touch pwned; '"})
    done = run_on(tmp_path, program)
    (result,) = parse_runner_output(done.stdout, token, steps)
    assert result.output == "a'; touch pwned; '|$(touch x)"
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_a_step_without_a_marker_did_not_run_and_unknown_scripts_are_refused() -> None:
    steps = [RunnerStep(name="a", script="a")]
    assert parse_runner_output("partial output", "T", steps)[0].status is None
    with pytest.raises(ValueError, match=r"no postscript called '\.\./etc'"):
        runner_script([RunnerStep(name="x", script="../etc")], {"../etc": b""}, {})
