"""The ``snmove`` flow's parameter (:class:`SnmoveRequest`) and result (:class:`SnmoveReport`).

One request model serves the CLI, the Prefect UI form and the API: xCAT's options
(noderange, ``-s``/``-S``/``-d``/``-D``/``-i``/``-P``/``-V``) plus ``dry_run``, ``resume`` and
``undo``, each field described. The report carries xCAT-style messages, the plan's diff,
per-node outcomes (each step's status) and per-host service outcomes, the time spent per
phase and the task runs used; :meth:`SnmoveReport.summary` folds nodes by outcome for the
CLI and the markdown artifact, :meth:`SnmoveReport.table` is the per-node table artifact.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from snflow.models.journal import NodeStatus
from snflow.models.natsort import fold
from snflow.models.report import Message
from snflow.models.snmove import MoveOptions

__all__ = [
    "NodeOutcome",
    "ServiceOutcome",
    "SnmoveReport",
    "SnmoveRequest",
]

RunKind = Literal["move", "undo", "resume"]
ServiceStatus = Literal["changed", "unchanged", "failed", "deferred"]


class SnmoveRequest(BaseModel):
    """Move nodes to their backup service node (xCAT ``snmove``), resume or undo a move."""

    model_config = ConfigDict(frozen=True)

    noderange: str | None = Field(
        None, description="Nodes to move (xCAT noderange), e.g. sn1group. Or use source."
    )
    source: str | None = Field(
        None, description="-s: move every node whose primary service node is this one."
    )
    source_n: str | None = Field(
        None, description="-S: the source service node's name as the nodes know it."
    )
    dest: str | None = Field(
        None,
        description="-d: destination service node for all nodes (default: each "
        "node's backup, the 2nd entry of its servicenode list).",
    )
    dest_n: str | None = Field(
        None,
        description="-D: new xcatmaster for all nodes (default: the destination's "
        "address on the node's network, found by asking it).",
    )
    ignore_nodes: bool = Field(False, description="-i: run nothing on the compute nodes.")
    postscripts: str | None = Field(
        None, description="-P: more postscripts to run (comma list), or 'all'."
    )
    verbose: bool = Field(False, description="-V: more messages.")
    dry_run: bool = Field(False, description="Show the per-node changes; change nothing.")
    resume: str | None = Field(
        None, description="Finish the move of this earlier run (flow run id or prefix)."
    )
    undo: str | None = Field(
        None, description="Undo this earlier run: restore its journaled old values."
    )
    fanout: int = Field(64, ge=1, le=1024, description="Nodes worked on at once.")
    node_timeout: float = Field(
        5.0, gt=0, le=120, description="Seconds a node (or SN) may take to answer SSH."
    )
    command_timeout: float = Field(
        300.0, gt=0, le=86400, description="Seconds the work on one node may take."
    )
    lock_wait: float = Field(
        0.0,
        ge=0,
        le=86400,
        description="Seconds to wait for nodes another move holds (0: refuse at once).",
    )

    @model_validator(mode="after")
    def _check(self) -> SnmoveRequest:
        if self.resume and self.undo:
            raise ValueError("resume and undo cannot be given together")
        earlier = self.resume or self.undo
        if earlier and any(
            (self.noderange, self.source, self.source_n, self.dest, self.dest_n,
             self.postscripts, self.ignore_nodes)
        ):  # fmt: skip
            which = "--resume" if self.resume else "--undo"
            raise ValueError(f"{which} takes no noderange and no -s/-S/-d/-D/-i/-P")
        if not earlier:
            self.move_options()
        return self

    def move_options(self) -> MoveOptions:
        """The planner's options (raises ``SnmoveError`` with xCAT's text)."""
        return MoveOptions.create(
            noderange=self.noderange,
            source=self.source,
            source_n=self.source_n,
            dest=self.dest,
            dest_n=self.dest_n,
            ignore_nodes=self.ignore_nodes,
            postscripts=self.postscripts,
            verbose=self.verbose,
            dry_run=self.dry_run,
        )


class NodeOutcome(BaseModel):
    """One node of the run: where it went, what changed, each step's status."""

    node: str
    old_sn: str | None = None
    new_sn: str = ""
    changed: tuple[str, ...] = ()
    status: NodeStatus | Literal["planned"] = "pending"
    #: Step -> ``ok``/``failed``/``not run`` in the order they ran.
    steps: dict[str, str] = Field(default_factory=dict)
    detail: str = ""


class ServiceOutcome(BaseModel):
    """One service configured on one host for the moved nodes."""

    host: str
    service: str
    status: ServiceStatus
    detail: str = ""


class SnmoveReport(BaseModel):
    """Everything one ``snmove`` run did, for the CLI and the run's artifacts."""

    run_id: str = ""
    kind: RunKind = "move"
    target_run: str | None = None
    dry_run: bool = False
    messages: list[Message] = Field(default_factory=list)
    plan: list[str] = Field(default_factory=list)
    nodes: list[NodeOutcome] = Field(default_factory=list)
    services: list[ServiceOutcome] = Field(default_factory=list)
    phases: dict[str, float] = Field(default_factory=dict)
    task_runs: int = 0

    def info(self, text: str) -> None:
        self.messages.append(Message(level="info", text=text))

    def warning(self, text: str) -> None:
        self.messages.append(Message(level="warning", text=text))

    def error(self, text: str) -> None:
        self.messages.append(Message(level="error", text=text))

    def _with(self, *status: str) -> list[str]:
        return [n.node for n in self.nodes if n.status in status]

    @property
    def failed_nodes(self) -> list[str]:
        return self._with("failed")

    @property
    def skipped_nodes(self) -> list[str]:
        return self._with("skipped")

    @property
    def failed_services(self) -> list[ServiceOutcome]:
        return [s for s in self.services if s.status == "failed"]

    @property
    def errors(self) -> list[str]:
        return [m.text for m in self.messages if m.level == "error"]

    @property
    def failed(self) -> bool:
        """Whether anything went wrong (the CLI exits 1: design decision 1)."""
        return bool(self.errors or self.failed_nodes or self.failed_services)

    def summary(self) -> list[str]:
        """Folded outcome lines: nodes by status, services by status, time per phase."""
        lines = []
        groups: dict[tuple[str, str, str], list[str]] = {}
        for n in self.nodes:
            groups.setdefault((n.status, n.old_sn or "?", n.new_sn), []).append(n.node)
        for (status, old, new), nodes in groups.items():
            where = f"{old} -> {new}" if new else ""
            text = {"done": "moved", "planned": "to move"}.get(status, status)
            lines.append(f"{fold(nodes)}: {text}" + (f" ({where})" if where else ""))
        failed = [n for n in self.nodes if n.status == "failed"]
        lines += [f"{n.node}: {n.detail}" for n in failed[:20] if n.detail]
        if self.skipped_nodes and self.run_id:
            lines.append(
                f"{fold(self.skipped_nodes)}: down, skipped; when they are up: "
                f"snflow snmove --resume {self.run_id}"
            )
        services: dict[tuple[str, str], list[str]] = {}
        for s in self.services:
            services.setdefault((s.service, s.status), []).append(s.host)
        for (service, status), hosts in services.items():
            lines.append(f"{service} on {fold(hosts)}: {status}")
        lines += [f"{s.host}: {s.service}: {s.detail}" for s in self.failed_services if s.detail]
        if self.phases:
            times = ", ".join(f"{k} {v:.2f} s" for k, v in self.phases.items())
            lines.append(f"time: {times}; task runs: {self.task_runs}")
        return lines

    def table(self) -> list[dict[str, Any]]:
        """One row per node: node, old SN → new SN, attributes changed, steps, status."""
        steps = list(dict.fromkeys(s for n in self.nodes for s in n.steps))
        rows = []
        for n in self.nodes:
            row: dict[str, Any] = {
                "node": n.node,
                "move": f"{n.old_sn or '?'} → {n.new_sn}",
                "attributes": ", ".join(c.split(".", 1)[-1] for c in n.changed),
            }
            row.update({s: n.steps.get(s, "") for s in steps})
            row.update(status=n.status, detail=n.detail)
            rows.append(row)
        return rows
