"""The virtual cluster: every SN and CN an SSH server on a loopback address, in one process.

The embedded test bed (no root needed). ``snflow sim up`` writes the procedure's cluster
into the database and serves it; the product reaches the simulated hosts exactly as real
ones, only addresses, port and keys differ (they are data: database, ``settings.env``,
``known_hosts``). Tests drive it through :class:`SimCluster`.

Modules: :mod:`~snflow.sim.layout` (names, addresses, pairing; pure),
:mod:`~snflow.sim.rows` (the database rows; pure), :mod:`~snflow.sim.database`,
:mod:`~snflow.sim.keys`, :mod:`~snflow.sim.server` (asyncssh), :mod:`~snflow.sim.commands`,
:mod:`~snflow.sim.nodeenv` (each command's mount namespace, ``PATH``, ``ip``),
:mod:`~snflow.sim.hostfiles` (per-host files: ``ip``, fstab, an SN's ssh client set-up),
:mod:`~snflow.sim.forward`, :mod:`~snflow.sim.daemon` (the process),
:mod:`~snflow.sim.control` and :mod:`~snflow.sim.cluster` (the client side).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from snflow.sim.errors import SimError
from snflow.sim.layout import SimHost, SimLayout, plan_layout
from snflow.sim.models import HostCounters, SimHostStatus, SimStatus

if TYPE_CHECKING:
    from snflow.sim.cluster import SimCluster, sim_down

__all__ = [
    "HostCounters",
    "SimCluster",
    "SimError",
    "SimHost",
    "SimHostStatus",
    "SimLayout",
    "SimStatus",
    "plan_layout",
    "sim_down",
]


def __getattr__(name: str) -> Any:
    # The client side needs the database layer; the daemon, which imports this package
    # too, does not: load it on first use.
    if name in ("SimCluster", "sim_down"):
        from snflow.sim import cluster

        return getattr(cluster, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
