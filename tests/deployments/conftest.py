"""One served stack for the deployment tests: virtual cluster + Prefect server + ``snflow serve``.

Started once per session (a server start and a serve start cost ~15 s), stopped by PID.
Tests that change the cluster put it back (switch-back) before they end; each test gets
every host powered on.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from served_stack import Served, serve_env, stop_pid, wait_served

from snflow.sim import SimCluster


@pytest.fixture(scope="session")
def served_stack(
    tmp_path_factory: pytest.TempPathFactory, prefect_api_url: str
) -> Iterator[Served]:
    """Virtual cluster (2 SNs, 16 CNs), the session's Prefect server, ``snflow serve``."""
    home = tmp_path_factory.mktemp("served")
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("SNFLOW_")}
    os.environ["SNFLOW_HOME"] = str(home)
    try:
        cluster = SimCluster.up(home, service_nodes=2, nodes=16)
    finally:
        del os.environ["SNFLOW_HOME"]
        os.environ.update(saved)
    log = home / "serve.log"
    snflow = str(Path(sys.executable).with_name("snflow"))
    try:
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [snflow, "serve"],
                env=serve_env(home, prefect_api_url),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=home,
            )
        try:
            wait_served(proc, log, prefect_api_url)
            yield Served(home=home, api=prefect_api_url, pid=proc.pid, log=log)
        finally:
            stop_pid(proc.pid)
    finally:
        cluster.down()


@pytest.fixture
def served(served_stack: Served, prefect_server: str, monkeypatch: pytest.MonkeyPatch) -> Served:
    """The served stack as this test's world: its home (settings.env: the sim's service
    checks); every host powered on."""
    monkeypatch.setenv("SNFLOW_HOME", str(served_stack.home))
    cluster = served_stack.cluster()
    for host in cluster.status().hosts:
        if not host.powered:
            cluster.power(host.name, True)
    return served_stack


@pytest.fixture
def fresh_counts(served: Served) -> Iterator[None]:
    """Every SN starts the test with no down probe counted (the sn-health variable)."""
    from prefect.variables import Variable

    from snflow.tasks.health import COUNTS_VARIABLE

    Variable.set(COUNTS_VARIABLE, {}, overwrite=True)
    yield
    Variable.set(COUNTS_VARIABLE, {}, overwrite=True)
