"""``snflow snmove`` command line: xCAT's argument checks and texts, before any flow run.

No Prefect server and no cluster are involved: every case here stops before the flow
(and the database stays as it was).
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from snflow.cli.main import app
from snflow.cli.snmove import USAGE
from snflow.models import db
from snflow.models.schema import TABLES

runner = CliRunner()


@pytest.fixture
def cluster(use_db: str) -> str:
    with db.transaction(use_db) as conn:
        conn.execute(TABLES["nodelist"].insert(), [{"node": "cn1"}, {"node": "cn2"}])
    return use_db


@pytest.mark.parametrize(
    ("args", "stdout", "usage"),
    [
        (["cn1", "-d", "sn2", "-P", "test1", "-i"], "-P and -i flags cannot be specified "
         "at the same time.", False),
        (["cn1", "cn2"], "Too many paramters.", True),
        (["-d", "sn2"], "A node range or the source service node must be specified.", True),
        (["nosuch,cn1"], "Invalid nodes in noderange:nosuch", False),
    ],
)  # fmt: skip
def test_argument_errors_print_xcats_text_and_exit_1(
    cluster: str, args: list[str], stdout: str, usage: bool
) -> None:
    result = runner.invoke(app, ["snmove", *args])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == stdout
    assert ("Usage:" in result.stdout) is usage


def test_liteonly_is_refused_for_linux_nodes_without_moving_anything(cluster: str) -> None:
    result = runner.invoke(app, ["snmove", "cn1", "-l"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: The '-l' option is not supported for Linux nodes."
    assert "Moving nodes" not in result.stdout


def test_resume_and_undo_take_no_move_options(cluster: str) -> None:
    result = runner.invoke(app, ["snmove", "cn1", "--resume", "0123456789"])
    assert result.exit_code == 1
    assert "--resume takes no noderange and no -s/-S/-d/-D/-i/-P" in result.stderr
    result = runner.invoke(app, ["snmove", "--resume", "a", "--undo", "b"])
    assert result.exit_code == 1
    assert "resume and undo cannot be given together" in result.stderr


def test_help_shows_the_xcat_forms_and_snflows_options() -> None:
    result = runner.invoke(app, ["snmove", "-h"])
    assert result.exit_code == 0
    for text in ("-s sn1 [-S sn1n]", "--dry-run", "--resume", "--undo", "-P, --postscripts"):
        assert text in result.stdout


def test_version_is_printed_and_nothing_else_happens() -> None:
    result = runner.invoke(app, ["snmove", "-v"])
    assert result.exit_code == 0
    assert result.stdout.startswith("Version ")


def test_the_usage_text_is_xcats() -> None:
    assert "snmove - Move xCAT compute nodes from one xCAT service node to a" in USAGE
    assert "'all' means all the scripts defined in the postscripts table" in USAGE
