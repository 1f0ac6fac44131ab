"""``xdsh``: run a command on many nodes, through their service nodes.

One flow run per command; one task run per batch of nodes behind a service node (never
per node); per-node results in a table artifact. A node that fails, times out or cannot
be reached is reported and the others go on; the run ends Failed naming those nodes.
"""

from __future__ import annotations

from prefect import flow
from prefect.futures import as_completed
from prefect.states import Completed, Failed, State
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from snflow.models.natsort import fold
from snflow.models.remote import XdshReport, XdshRequest, batch_nodes
from snflow.tasks.artifacts import publish_report, start_progress, update_progress
from snflow.tasks.cluster import read_routes
from snflow.tasks.remote import run_command_batch
from snflow.tasks.runtime import run_scope

__all__ = ["xdsh"]


@flow(
    name="xdsh",
    description="Run a command on nodes (xCAT xdsh), through their service nodes.",
    task_runner=ThreadPoolTaskRunner(max_workers=16),
    validate_parameters=True,
)
def xdsh(request: XdshRequest) -> State:
    """Run ``request.command`` on every node of ``request.noderange``."""
    with run_scope():
        routes = read_routes(request.noderange)
        primary = {n: (r.via[0].name if r.via else None) for n, r in routes.items()}
        batches = batch_nodes(primary)
        progress = start_progress(f"xdsh on {len(routes)} nodes")
        # Each batch gets its own routes, quoted: Prefect would otherwise walk every
        # route model of every batch looking for futures (there are none).
        futures = [
            run_command_batch.submit(b, quote({n: routes[n] for n in b.nodes}), request)
            for b in batches
        ]
        results, done = [], 0
        for future in as_completed(futures):
            batch_results = future.result()
            results.extend(batch_results)
            done += len(batch_results)
            update_progress(progress, done, len(routes))
    by_node = {r.node: r for r in results}
    report = XdshReport(results=[by_node[n] for n in routes], task_runs=len(batches) + 2)
    publish_report(
        "xdsh",
        f"xdsh {request.noderange}: {request.command or request.script}",
        report.summary(),
        [
            {
                "node": r.node,
                "via": r.via or "",
                "outcome": r.outcome,
                "exit": r.exit_status,
                "output": r.stdout or r.stderr or r.message,
            }
            for r in report.results
        ],
    )
    if report.failed:
        return Failed(message=f"failed on {fold(report.failed)}", data=report)
    return Completed(message=f"{len(report.results)} nodes ok", data=report)
