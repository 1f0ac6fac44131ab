"""``xdcp``: copy files to nodes through their service nodes (xCAT's hierarchical xdcp).

The procedure: stage the files on every service node of every pool the nodes use (one
task run per SN, into ``site.SNsyncfiledir``); then each node gets them from the first SN
of its ``servicenode`` list that staged them, the SN copying with its own ssh (one task
run per SN batch; the files cross the management node's link once per SN). Nodes without
a service node get them from here. An SN that cannot be reached at delivery hands its
nodes to their next SN. ``-P`` pulls instead (onto the serving SN, as xCAT does; onto this
host for nodes without one); ``-s`` only stages.
"""

from __future__ import annotations

import posixpath
import uuid
from collections.abc import Mapping, Sequence

from prefect import flow
from prefect.futures import PrefectFuture
from prefect.states import Completed, Failed, State
from prefect.task_runners import ThreadPoolTaskRunner

from snflow.models.natsort import fold, natural_key
from snflow.models.xdcp import DeliveryGroup, XdcpRequest, plan_xdcp
from snflow.models.xdcp_report import StagingResult, XdcpNodeResult, XdcpReport
from snflow.models.xdcp_shell import pull_command, rel
from snflow.tasks.artifacts import publish_report
from snflow.tasks.runtime import run_scope
from snflow.tasks.xdcp import (
    BatchOutcome,
    XdcpTargets,
    deliver_through_service_node,
    read_xdcp_targets,
    stage_on_service_node,
)
from snflow.tasks.xdcp_direct import (
    LocalSources,
    deliver_from_management_node,
    inspect_sources,
    pull_from_management_node,
)

__all__ = ["MAX_BATCH", "xdcp"]

#: Nodes per delivery task run.
MAX_BATCH = 256


def _subset(groups: Sequence[DeliveryGroup], nodes: set[str]) -> list[DeliveryGroup]:
    """``groups`` restricted to ``nodes`` (empty groups dropped)."""
    out = []
    for g in groups:
        kept = tuple(n for n in g.nodes if n in nodes)
        if kept:
            out.append(g.model_copy(update={"nodes": kept}))
    return out


def _batches(assigned: Mapping[str, str]) -> list[tuple[str, list[str]]]:
    """(SN, nodes) batches of at most :data:`MAX_BATCH` nodes, SNs in natural order."""
    by_sn: dict[str, list[str]] = {}
    for node, sn in assigned.items():
        by_sn.setdefault(sn, []).append(node)
    out = []
    for sn in sorted(by_sn, key=natural_key):
        nodes = sorted(by_sn[sn], key=natural_key)
        out += [(sn, nodes[i : i + MAX_BATCH]) for i in range(0, len(nodes), MAX_BATCH)]
    return out


def _deliver(
    candidates: dict[str, list[str]],
    groups: Sequence[DeliveryGroup],
    targets: XdcpTargets,
    request: XdcpRequest,
    run_name: str,
    extra: dict[str, str] | None = None,
) -> tuple[list[XdcpNodeResult], int]:
    """Deliver through each node's first candidate SN; an SN not reached hands its nodes
    to their next candidate. Returns the results and the number of task runs."""
    results: list[XdcpNodeResult] = []
    runs = 0
    pending = {n: list(c) for n, c in candidates.items()}
    while pending:
        assigned = {n: c[0] for n, c in pending.items() if c}
        for n in [n for n, c in pending.items() if not c]:
            del pending[n]
        futures: list[PrefectFuture[BatchOutcome]] = [
            deliver_through_service_node.submit(
                targets.routes[sn],
                _subset(groups, set(nodes)),
                targets.syncdir,
                request,
                run_name,
                extra,
            )
            for sn, nodes in _batches(assigned)
        ]
        runs += len(futures)
        for future in futures:
            outcome = future.result()
            batch = [n for n, sn in assigned.items() if sn == outcome.service_node]
            if outcome.reached:
                results += outcome.results
                for r in outcome.results:
                    pending.pop(r.node, None)
                continue
            for node in batch:
                pending[node].remove(outcome.service_node)
                if not pending[node]:
                    results.append(XdcpNodeResult(
                        node=node, outcome="unreachable", via=outcome.service_node,
                        message=outcome.message,
                    ))  # fmt: skip
    return results, runs


def _push(
    request: XdcpRequest, targets: XdcpTargets, local: LocalSources, run_name: str
) -> XdcpReport:
    plan = plan_xdcp(
        request, nodes=targets.nodes, inventory=local.inventory, synclist=local.synclist,
        filters=targets.filters, nodesyncdir=targets.nodesyncdir, run_name=run_name,
    )  # fmt: skip
    direct = {n for n, sns in targets.nodes.items() if not sns and n not in plan.idle}
    direct_future = None
    if direct and not request.stage_only:
        direct_future = deliver_from_management_node.submit(
            {n: targets.routes[n] for n in direct}, _subset(plan.groups, direct), request
        )
    staging_futures = [
        stage_on_service_node.submit(targets.routes[sn], plan.staged, targets.syncdir, request)
        for sn in plan.service_nodes
    ]
    staging: list[StagingResult] = [f.result() for f in staging_futures]
    good = {s.service_node for s in staging if s.ok}
    results = [XdcpNodeResult(node=n, outcome="nothing") for n in plan.idle]
    runs = 2 + len(staging_futures) + (1 if direct_future else 0)
    served = [n for g in plan.groups for n in g.nodes if targets.nodes[n]]
    if request.stage_only:
        for node in served:
            on = [s for s in targets.nodes[node] if s in good]
            results.append(XdcpNodeResult(
                node=node, outcome="staged" if on else "not-updated",
                message=f"staged on {', '.join(on)}" if on else "",
            ))  # fmt: skip
        results += [XdcpNodeResult(node=n, outcome="nothing") for n in direct]
    else:
        candidates = {n: [s for s in targets.nodes[n] if s in good] for n in served}
        for node in [n for n, c in candidates.items() if not c]:
            listed = ", ".join(targets.nodes[node])
            results.append(XdcpNodeResult(
                node=node, outcome="not-updated",
                message=f"not updated: none of its service nodes ({listed}) has the files",
            ))  # fmt: skip
            del candidates[node]
        delivered, batches = _deliver(candidates, plan.groups, targets, request, run_name)
        results += delivered
        runs += batches
    if direct_future is not None:
        results += direct_future.result()
    staged_bytes = {s.service_node: s.bytes_sent for s in staging}
    return XdcpReport(staging=staging, results=results, task_runs=runs, staged_bytes=staged_bytes)


def _pull(request: XdcpRequest, targets: XdcpTargets, run_name: str) -> XdcpReport:
    source, target = request.sources[0], str(request.target)
    groups = [DeliveryGroup(name="g1", nodes=tuple(targets.nodes), placements=(),
                            command=pull_command(source))]  # fmt: skip
    extra = {
        "pull_dir": target.rstrip("/") or "/",
        "pull_member": "./" + rel(source),
        "pull_name": posixpath.basename(source.rstrip("/")),
    }
    direct = [n for n, sns in targets.nodes.items() if not sns]
    direct_future = None
    if direct:
        direct_future = pull_from_management_node.submit(
            {n: targets.routes[n] for n in direct}, direct, request
        )
    candidates = {n: list(sns) for n, sns in targets.nodes.items() if sns}
    results, runs = _deliver(candidates, groups, targets, request, run_name, extra)
    if direct_future is not None:
        results += direct_future.result()
        runs += 1
    return XdcpReport(results=results, task_runs=runs + 1, pulled=True)


def _rows(report: XdcpReport, targets: XdcpTargets) -> list[dict[str, object]]:
    return [
        {
            "node": r.node,
            "servicenodes": ",".join(targets.nodes.get(r.node, ())),
            "via": r.via or ("" if r.outcome in ("not-updated", "nothing") else "(mn)"),
            "outcome": r.outcome,
            "message": r.message or r.output,
        }
        for r in report.results
    ]


@flow(
    name="xdcp",
    description="Copy files to nodes through their service nodes (xCAT xdcp).",
    task_runner=ThreadPoolTaskRunner(max_workers=16),
    validate_parameters=True,
)
def xdcp(request: XdcpRequest) -> State:
    """Stage on every SN of the nodes' pools, then copy to each node from a working SN."""
    run_name = uuid.uuid4().hex[:12]
    with run_scope():
        local = inspect_sources(request)
        targets = read_xdcp_targets(request, local.synclist)
        if request.pull:
            report = _pull(request, targets, run_name)
        else:
            report = _push(request, targets, local, run_name)
    report.results.sort(key=lambda r: natural_key(r.node))
    report.task_runs += 1
    what = f"-F {request.synclist}" if request.synclist else " ".join(
        [*request.sources, str(request.target)]
    )  # fmt: skip
    publish_report(
        "xdcp",
        f"xdcp {request.noderange} {what}",
        [*report.messages(), *report.summary()],
        _rows(report, targets),
    )
    if not report.ok:
        bad = report.failed + report.bad_service_nodes
        return Failed(message=f"failed on {fold(bad)}", data=report)
    return Completed(message=f"{len(report.results)} nodes ok", data=report)
