"""``snflow demo``: the README's demo command, run as a user runs it (a new process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SNFLOW = str(Path(sys.executable).with_name("snflow"))


@pytest.fixture
def demo_run(prefect_server: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNFLOW_")}
    env |= {"SNFLOW_HOME": str(tmp_path / "home"), "SNFLOW_PREFECT_API_URL": prefect_server}
    return subprocess.run(
        [SNFLOW, "demo", "--home", str(tmp_path / "demo")],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_the_demo_takes_sn1s_nodes_over_and_back(
    demo_run: subprocess.CompletedProcess[str], tmp_path: Path
) -> None:
    out = demo_run.stdout
    assert demo_run.returncode == 0, out[-3000:] + demo_run.stderr[-3000:]
    steps = [line for line in out.splitlines() if line.startswith("$ snflow ")]
    assert steps[0] == "$ snflow sim up --service-nodes 2 --nodes 32"
    assert "$ snflow snmove -s sn1 -V" in steps
    assert steps[-1] == "$ snflow sim down"
    # The takeover moved sn1's nodes to sn2, the switch-back brought them home.
    assert "cn[001-016]: moved (sn1 -> sn2)" in out
    assert "cn[001-016]: moved (sn2 -> sn1)" in out
    shows = out.split("$ snflow nodels cn001,cn016")
    assert len(shows) == 4  # before, after the takeover, after the switch-back
    before, between, after = (
        [line for line in part.split("\n$ ")[0].splitlines() if line.startswith("cn")]
        for part in shows[1:]
    )
    assert "cn001: noderes.servicenode: sn1,sn2" in before
    assert "cn001: noderes.servicenode: sn2,sn1" in between
    assert "cn016: noderes.xcatmaster: sn2-b" in between
    assert "cn016: nodehm.conserver: sn2" in between
    assert after == before and len(before) == 6
    assert "Run history" in out
    # Nothing was left behind: the cluster is down, the user's home untouched.
    assert not (tmp_path / "home" / "cluster.sqlite").exists()
    status = subprocess.run(
        [SNFLOW, "sim", "status"],
        env={**os.environ, "SNFLOW_HOME": str(tmp_path / "demo")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert status.returncode != 0 or "not running" in status.stdout + status.stderr
