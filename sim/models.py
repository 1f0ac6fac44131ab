"""What the virtual cluster reports: per-host state and counters, as frozen pydantic models.

The daemon builds them, the control socket carries them as JSON, tests read them:
``bytes_received`` (raw TCP bytes a host's SSH server received, forwarded traffic
included), ``sessions``/``max_sessions`` (session channels open at once: exec, shell,
sftp), ``connections``/``max_connections``. ``max_*`` are high-water marks since start or
the last :meth:`~snflow.sim.cluster.SimCluster.reset_counters`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["HostCounters", "SimHostStatus", "SimStatus"]


class HostCounters(BaseModel):
    """Counters of one host's SSH server, or of the whole cluster (sums and high-water marks)."""

    model_config = ConfigDict(frozen=True)

    #: TCP connections accepted (peer allowed, host powered on).
    accepted: int = 0
    #: TCP connections refused: a peer not allowed by the hierarchy.
    refused: int = 0
    #: Open SSH connections now, and the most at once.
    connections: int = 0
    max_connections: int = 0
    #: Bytes received on its SSH connections (everything the client sent).
    bytes_received: int = 0
    #: Session channels (exec, shell, sftp) open now, and the most at once.
    sessions: int = 0
    max_sessions: int = 0
    #: Commands run (exec and shell requests).
    commands: int = 0
    #: ``direct-tcpip`` channels opened through it, and refused.
    forwards: int = 0
    forwards_refused: int = 0


class SimHostStatus(BaseModel):
    """One simulated host."""

    model_config = ConfigDict(frozen=True)

    name: str
    role: Literal["sn", "cn"]
    address: str
    b_address: str | None = None
    powered: bool = True
    counters: HostCounters = HostCounters()


class SimStatus(BaseModel):
    """The running virtual cluster: its daemon, port, hosts and cluster-wide counters."""

    model_config = ConfigDict(frozen=True)

    pid: int
    port: int
    #: Whether commands run in a private mount namespace (their own ``/tmp``), and how.
    isolated: bool = False
    isolation: str = ""
    hosts: tuple[SimHostStatus, ...]
    #: Cluster-wide: sums, and high-water marks of connections/sessions open at once.
    totals: HostCounters = HostCounters()

    def host(self, name: str) -> SimHostStatus:
        """The status of host ``name`` (``KeyError`` if the cluster has no such host)."""
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(name)
