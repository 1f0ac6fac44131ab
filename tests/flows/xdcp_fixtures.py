"""The §6 cluster of the xdcp spec on the virtual cluster, defined as an administrator would.

``cn1,cn2``: ``servicenode=sn1``; ``cn3``: ``sn2``; ``cn4,cn5``: ``sn1,sn2``; ``cn9``: none
(reached from the management node). Defined with ``snflow mkdef``/``chdef``, served with
``sim up --from-db``.
"""

from __future__ import annotations

from pathlib import Path

from sim_fixtures import snflow_home
from typer.testing import CliRunner

from snflow.cli.main import app
from snflow.flows.xdcp import xdcp
from snflow.models.xdcp import XdcpRequest
from snflow.models.xdcp_report import XdcpReport
from snflow.sim import SimCluster

SPEC_DEFINITIONS = [
    ["mkdef", "-t", "node", "-o", "sn1,sn2", "groups=service"],
    ["chdef", "cn1,cn2", "groups=compute", "servicenode=sn1"],
    ["chdef", "cn3", "groups=compute", "servicenode=sn2"],
    ["chdef", "cn4,cn5", "groups=compute", "servicenode=sn1,sn2"],
    ["chdef", "cn9", "groups=compute"],
]


def define(commands: list[list[str]]) -> None:
    """Run snflow definition commands in-process; each must succeed."""
    for args in commands:
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, (args, result.output)


def cluster_from(home: Path, commands: list[list[str]]) -> SimCluster:
    """Define the cluster in ``home``'s database and serve it (``sim up --from-db``)."""
    with snflow_home(home):
        define(commands)
        return SimCluster.up(home, from_db=True)


def run_xdcp(**fields: object) -> XdcpReport:
    """Run the xdcp flow; its report (whatever the final state)."""
    state = xdcp(XdcpRequest(**fields), return_state=True)  # type: ignore[arg-type]
    report = state.result(raise_on_failure=False)
    assert isinstance(report, XdcpReport), state
    assert state.is_completed() == report.ok, state
    return report


def root(cluster: SimCluster, host: str) -> Path:
    """The host's root directory on this machine."""
    return cluster.home / "sim" / host


def staged(cluster: SimCluster, sn: str, path: str, syncdir: str = "/var/xcat/syncfiles") -> Path:
    """Where ``path`` is staged on ``sn``."""
    return root(cluster, sn) / syncdir.strip("/") / path.strip("/")
