"""Fixtures for flow tests: a virtual cluster per module, and the session's Prefect server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sim_fixtures import module_sim

from snflow.sim import SimCluster


@pytest.fixture(scope="module")
def sim_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A virtual cluster (2 SNs, 16 CNs) for the module, always taken down."""
    yield from module_sim(tmp_path_factory, "sim", service_nodes=2, nodes=16)


@pytest.fixture
def sim(sim_home: Path, prefect_server: str, monkeypatch: pytest.MonkeyPatch) -> SimCluster:
    """The module's virtual cluster as snflow's world: its home, database, keys; every host on."""
    monkeypatch.setenv("SNFLOW_HOME", str(sim_home))
    cluster = SimCluster.attach(sim_home)
    for host in cluster.status().hosts:
        if not host.powered:
            cluster.power(host.name, True)
    cluster.reset_counters()
    return cluster
