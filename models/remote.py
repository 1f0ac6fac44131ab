"""Remote commands on nodes (``xdsh``): the request, per-node outcomes, and the report.

Pure: batching nodes by the service node that serves them (one Prefect task run per batch,
never per node) and folding outcomes into noderanges for the summary
(``cn[001-016]: ok``). The SSH work itself lives in ``snflow.tasks``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from snflow.models.natsort import fold, natural_key

__all__ = [
    "DIRECT",
    "NodeOutcome",
    "NodeResult",
    "RemoteBatch",
    "XdshReport",
    "XdshRequest",
    "batch_nodes",
    "fold_outcomes",
]

#: Batch label of nodes reached directly from the management node.
DIRECT = "(direct)"

NodeOutcome = Literal["ok", "failed", "timeout", "unreachable"]


class XdshRequest(BaseModel):
    """``xdsh <noderange> [-f N] [-t SECONDS] [-v] [-e SCRIPT] command``."""

    model_config = ConfigDict(frozen=True)

    noderange: str = Field(description="Nodes to run on (xCAT noderange).", min_length=1)
    command: str = Field(default="", description="Shell command; with a script, its arguments.")
    fanout: int = Field(default=64, ge=1, le=1024, description="Nodes worked on at once.")
    timeout: float | None = Field(
        default=None, gt=0, le=86400, description="Seconds a node may take; unset: no limit."
    )
    verify: bool = Field(default=False, description="Report unreachable nodes as not responding.")
    script: str | None = Field(
        default=None, description="Local script copied to each node and run there (-e)."
    )


class NodeResult(BaseModel):
    """What happened on one node."""

    model_config = ConfigDict(frozen=True)

    node: str
    outcome: NodeOutcome
    exit_status: int | None = None
    stdout: str = ""
    stderr: str = ""
    via: str | None = Field(default=None, description="Service node that carried the session.")
    message: str = Field(default="", description="Why the node failed, when it did.")


class RemoteBatch(BaseModel):
    """Nodes served by one service node (or reached directly), worked on by one task run."""

    model_config = ConfigDict(frozen=True)

    label: str
    nodes: tuple[str, ...]


class XdshReport(BaseModel):
    """Every node's result, in natural order."""

    results: list[NodeResult]
    task_runs: int = 0

    @property
    def failed(self) -> list[str]:
        return [r.node for r in self.results if r.outcome != "ok"]

    def summary(self) -> list[str]:
        """One line per outcome, nodes folded: ``cn[001-016]: ok``."""
        return fold_outcomes(self.results)


def batch_nodes(primary: Mapping[str, str | None], max_batch: int = 256) -> list[RemoteBatch]:
    """Group nodes by primary service node (``None``: direct), at most ``max_batch`` each.

    >>> batch_nodes({"cn2": "sn1", "cn1": "sn1", "cn3": None})
    [RemoteBatch(label='sn1', nodes=('cn1', 'cn2')), RemoteBatch(label='(direct)', nodes=('cn3',))]
    """
    by_label: dict[str, list[str]] = {}
    for node, sn in primary.items():
        by_label.setdefault(sn or DIRECT, []).append(node)
    batches: list[RemoteBatch] = []
    for label in sorted(by_label, key=lambda s: (s == DIRECT, natural_key(s))):
        nodes = sorted(by_label[label], key=natural_key)
        for start in range(0, len(nodes), max_batch):
            batches.append(RemoteBatch(label=label, nodes=tuple(nodes[start : start + max_batch])))
    return batches


def fold_outcomes(results: Iterable[NodeResult]) -> list[str]:
    """Fold nodes by outcome (and service node) into summary lines."""
    groups: dict[str, list[str]] = {}
    for r in results:
        key = r.outcome if r.outcome != "ok" or not r.via else f"ok (through {r.via})"
        groups.setdefault(key, []).append(r.node)
    order: Sequence[str] = sorted(groups, key=lambda k: (not k.startswith("ok"), k))
    return [f"{fold(groups[k])}: {k}" for k in order]
