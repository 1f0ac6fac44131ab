"""``snflow xdcp``'s command line: options as xCAT's Getopt takes them, xCAT's error texts."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from snflow.cli.main import app
from snflow.cli.xdcp import parse_xdcp_args
from snflow.models.errors import SnflowError


def test_a_plain_copy() -> None:
    request = parse_xdcp_args(["cn4", "/tmp/lissa/file1", "/tmp/file1"])
    assert (request.noderange, request.sources, request.target) == (
        "cn4",
        ("/tmp/lissa/file1",),
        "/tmp/file1",
    )
    assert request.fanout == 64 and not request.pull


def test_bundled_and_valued_options() -> None:
    request = parse_xdcp_args(
        ["cn[1-4]", "-pR", "-f8", "-t", "30", "-v", "-o", "-C -q", "-l", "admin", "/a", "/b", "/d"]
    )
    assert (request.preserve, request.recursive, request.verify) == (True, True, True)
    assert (request.fanout, request.timeout, request.node_options, request.user) == (
        8,
        30.0,
        "-C -q",
        "admin",
    )
    assert request.sources == ("/a", "/b") and request.target == "/d"


def test_relative_local_paths_are_made_absolute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/tmp")
    assert parse_xdcp_args(["cn1", "-F", "myrsync"]).synclist == "/tmp/myrsync"
    assert parse_xdcp_args(["cn1", "lissa/f", "/tmp/f"]).sources == ("/tmp/lissa/f",)
    pull = parse_xdcp_args(["cn1", "-P", "/var/log/messages", "logs"])
    assert (pull.sources, pull.target) == (("/var/log/messages",), os.path.abspath("logs"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "No parameters were supplied on the xdcp command. Run xdcp -h"),
        (["-p", "cn1", "/a", "/b"], "Node range not specified, see xdcp man page for syntax."),
        (["cn1", "/a"], "Missing file arguments"),
        (["cn1", "-P", "/a"], "Missing target_path"),
        (["cn1", "-P", "/a", "/b", "/c"], "Cannot pull more than one file from targets."),
        (["cn1", "-s", "/a", "/b"], "If -s option is use, then -F must point to the syncfile."),
        (["cn1", "-x", "/a", "/b"], "Invalid options: -x (see snflow xdcp -h)"),
        (["cn1", "--bogus", "/a", "/b"], "Invalid options: --bogus"),
        (["cn1", "-f"], "option -f needs a value"),
        (["cn1", "-f", "0", "/a", "/b"], "greater than or equal to 1"),
        (["cn1", "/a", "tmp/x"], "tmp/x: paths must be absolute"),
    ],
)
def test_bad_command_lines_are_one_clear_error(args: list[str], message: str) -> None:
    with pytest.raises(SnflowError) as raised:
        parse_xdcp_args(args)
    assert message in str(raised.value)


def test_help_and_errors_through_the_cli() -> None:
    helped = CliRunner().invoke(app, ["xdcp", "-h"])
    assert helped.exit_code == 0
    assert "Usage: snflow xdcp <noderange> [options] SRC... DST" in helped.stdout
    failed = CliRunner().invoke(app, ["xdcp", "cn1", "-s", "/a", "/b"])
    assert failed.exit_code == 1
    assert failed.stderr == "Error: If -s option is use, then -F must point to the syncfile.\n"
