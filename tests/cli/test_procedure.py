"""The seed procedure's definition steps, typed as an administrator types them.

Run in new processes through the installed ``snflow`` console script (what a new user
runs after ``pip install .``), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SNFLOW = str(Path(sys.executable).with_name("snflow"))

pytestmark = pytest.mark.usefixtures("use_db")


def sh(command: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a shell line (so quoting is the shell's, as typed) with the installed snflow."""
    env = {**os.environ, "PATH": f"{Path(SNFLOW).parent}:{os.environ['PATH']}"}
    return subprocess.run(
        ["/bin/sh", "-c", command],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_the_procedure_definitions_work_as_typed() -> None:
    created = sh(
        'snflow chdef node[01-20] groups=compute servicenode="xcatsn1a,xcatsn2a" '
        'xcatmaster="xcatsn1b"'
    )
    assert created.returncode == 0, created.stderr
    assert "20 object definitions have been created or modified." in created.stdout

    group = sh("snflow mkdef -t group sn1group members=node[01-20]")
    assert group.returncode == 0, group.stderr

    listed = sh("snflow nodels sn1group")
    assert listed.stdout.split() == [f"node{i:02d}" for i in range(1, 21)]

    shown = sh("snflow lsdef node05 -i servicenode,xcatmaster")
    assert shown.stdout.splitlines() == [
        "Object name: node05",
        "    servicenode=xcatsn1a,xcatsn2a",
        "    xcatmaster=xcatsn1b",
    ]

    stanza = sh("snflow lsdef -z sn1group").stdout
    assert stanza.startswith("# <xCAT data object stanza file>\n\nnode01:\n    objtype=node\n")
    replaced = sh("snflow lsdef -z sn1group | snflow mkdef -z -f")
    assert replaced.returncode == 0, replaced.stderr
    assert sh("snflow lsdef -z sn1group").stdout == stanza


def test_bad_noderange_is_an_error_naming_the_names() -> None:
    sh("snflow chdef node[01-02] groups=compute")
    result = sh("snflow nodels node01,nosuch,node03")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == "Error: Invalid nodes and/or groups in noderange: nosuch,node03"
