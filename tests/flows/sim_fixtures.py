"""A virtual cluster for a test module, and ``SNFLOW_HOME`` set for a block."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from snflow.sim import SimCluster

__all__ = ["module_sim", "snflow_home"]


@contextmanager
def snflow_home(home: Path) -> Iterator[None]:
    """``SNFLOW_HOME`` = ``home`` (and no other ``SNFLOW_*``) inside the block."""
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("SNFLOW_")}
    os.environ["SNFLOW_HOME"] = str(home)
    try:
        yield
    finally:
        for key in [k for k in os.environ if k.startswith("SNFLOW_")]:
            del os.environ[key]
        os.environ.update(saved)


def module_sim(
    factory: pytest.TempPathFactory, name: str, service_nodes: int, nodes: int
) -> Iterator[Path]:
    """For a module-scoped fixture (``yield from``): a virtual cluster in a new home,
    always taken down."""
    home = factory.mktemp(name)
    with snflow_home(home):
        cluster = SimCluster.up(home, service_nodes=service_nodes, nodes=nodes)
    try:
        yield home
    finally:
        cluster.down()
