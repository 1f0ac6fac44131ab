"""The pure part of the SN health probe: which checks, the probe script, its parsing, counts."""

from __future__ import annotations

import subprocess

import pytest

from snflow.models.health import (
    HealthReport,
    ProbeResult,
    checks_for,
    next_down_counts,
    parse_probe_output,
    probe_script,
)

COMMANDS = {"dhcpserver": "true", "tftpserver": "false", "conserver": "exit 3"}


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"dhcpserver": "1", "tftpserver": "yes", "conserver": "0"}, ["dhcpserver", "tftpserver"]),
        ({"dhcpserver": "", "conserver": "1"}, ["conserver"]),
        ({}, []),
    ],
)
def test_an_sn_runs_the_checks_of_its_servicenode_flags(flags: dict, expected: list) -> None:
    assert list(checks_for(flags, COMMANDS)) == expected


def test_an_empty_command_disables_a_check() -> None:
    assert checks_for({"dhcpserver": "1"}, {"dhcpserver": " "}) == {}


def test_the_probe_script_runs_every_check_in_a_real_shell() -> None:
    script = probe_script({**COMMANDS, "nosuch": "echo noise; exit 0"})
    out = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, check=True)
    assert parse_probe_output(out.stdout, [*COMMANDS, "nosuch"]) == {
        "dhcpserver": True,
        "tftpserver": False,
        "conserver": False,
        "nosuch": True,
    }
    assert "noise" not in out.stdout


def test_a_check_that_printed_nothing_failed() -> None:
    assert parse_probe_output("dhcpserver 0\ngarbage\n", ["dhcpserver", "conserver"]) == {
        "dhcpserver": True,
        "conserver": False,
    }


def test_down_probes_count_in_a_row_and_reset_when_up() -> None:
    down = ProbeResult(node="sn1", ssh=False, message="refused")
    up = ProbeResult(node="sn2", ssh=True, checks={"dhcpserver": True})
    counts = next_down_counts({"sn1": 2, "sn2": 5, "sn3": 1}, [down, up])
    assert counts == {"sn1": 3, "sn2": 0, "sn3": 1}


def test_the_report_folds_up_sns_and_explains_down_ones() -> None:
    results = [
        ProbeResult(node="sn1", ssh=True, checks={"conserver": True}),
        ProbeResult(node="sn2", ssh=True, checks={"conserver": True}),
        ProbeResult(node="sn3", ssh=True, checks={"conserver": False}, message="check failed"),
    ]
    report = HealthReport(results=results, down_probes={"sn3": 4})
    assert report.summary() == ["sn[1-2]: up", "sn3: down (check failed; 4 probe(s) in a row)"]
    assert report.rows()[2]["conserver"] == "FAILED"
