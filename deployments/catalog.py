"""The deployments snflow serves: names, flows, form defaults, limits, schedules.

One entry per deployment. A flow is named by its import path and loaded only when served,
so a catalogue entry whose flow is not installed is reported and skipped instead of
breaking ``snflow serve``. Every flow takes one pydantic model, which the Prefect UI shows
as a form and the server validates; ``defaults`` pre-fill that form (dry run on for the
deployments that move nodes).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from snflow.tasks.limits import MOVE_LIMIT

__all__ = ["CATALOG", "MOVE_LIMIT", "DeploymentSpec", "spec"]


@dataclass(frozen=True)
class DeploymentSpec:
    """How one deployment is served."""

    name: str
    flow_path: str = field(repr=False)
    description: str
    #: Default parameter values (the UI form's initial values), keyed by parameter name.
    defaults: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ("snflow",)
    #: Runs of this deployment at once (server-side; more wait as AwaitingConcurrencySlot).
    concurrency: int | None = None
    #: Runs move nodes: they hold the global :data:`MOVE_LIMIT` while they do.
    moves_nodes: bool = False

    def load_flow(self) -> Any:
        """The flow object (ImportError/AttributeError when it is not there)."""
        module, _, name = self.flow_path.partition(":")
        return getattr(importlib.import_module(module), name)


_DRY_RUN = {"dry_run": True}

CATALOG: tuple[DeploymentSpec, ...] = (
    DeploymentSpec(
        name="snmove",
        flow_path="snflow.deployments.moves:snmove",
        description="Takeover: move nodes to their backup service node (xCAT snmove). "
        "Dry run is on by default: untick it to change the cluster.",
        defaults={"request": _DRY_RUN},
        moves_nodes=True,
    ),
    DeploymentSpec(
        name="switch-back",
        flow_path="snflow.deployments.moves:snmove",
        description="Switch-back: move nodes back to their original service node "
        "(snmove NODERANGE -d SN). Dry run is on by default.",
        defaults={"request": _DRY_RUN},
        moves_nodes=True,
    ),
    DeploymentSpec(
        name="maintenance-window",
        flow_path="snflow.flows.maintenance:maintenance_window",
        description="Take over an SN's nodes, wait until the administrator says the SN is "
        "back (or the deadline), then switch back.",
        defaults={"request": _DRY_RUN},
        concurrency=4,
        moves_nodes=True,
    ),
    DeploymentSpec(
        name="xdsh",
        flow_path="snflow.flows.xdsh:xdsh",
        description="Run a command on nodes through their service nodes (xCAT xdsh).",
        defaults={"request": {"fanout": 64}},
    ),
    DeploymentSpec(
        name="xdcp",
        flow_path="snflow.flows.xdcp:xdcp",
        description="Copy files to nodes through their service nodes (xCAT xdcp).",
    ),
    DeploymentSpec(
        name="makedhcp",
        flow_path="snflow.flows.makedhcp:makedhcp",
        description="DHCP entries of nodes on every SN of their pool (xCAT makedhcp).",
        concurrency=1,
    ),
    DeploymentSpec(
        name="makeconservercf",
        flow_path="snflow.flows.makeconservercf:makeconservercf",
        description="Console configuration on the MN and the SNs (xCAT makeconservercf).",
        concurrency=1,
    ),
    DeploymentSpec(
        name="sn-health",
        flow_path="snflow.flows.health:sn_health",
        description="Probe every service node (SSH, DHCP, TFTP, conserver); emits "
        "snflow.servicenode.down/up events.",
        concurrency=1,
    ),
)


def spec(name: str) -> DeploymentSpec:
    """The catalogue entry called ``name`` (KeyError if none)."""
    for entry in CATALOG:
        if entry.name == name:
            return entry
    raise KeyError(name)
