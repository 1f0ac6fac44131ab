"""Tasks of the SN health flow: read the SNs, probe them over SSH, count, emit events.

One probe task run for all service nodes (their number is small, the work is one SSH
command each); the down counts live in a Prefect variable so consecutive probes can be
counted across flow runs; one event per SN per probe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from prefect.variables import Variable

from snflow.models import db
from snflow.models.cluster import ClusterView
from snflow.models.defspec import Column
from snflow.models.health import (
    DOWN_EVENT,
    SERVICE_FLAGS,
    UP_EVENT,
    ProbeResult,
    next_down_counts,
    parse_probe_output,
    probe_script,
    resource_id,
)
from snflow.models.routes import Route
from snflow.tasks.ssh import SshPool, routes_for, run_many

__all__ = [
    "COUNTS_VARIABLE",
    "count_down_probes",
    "emit_health_events",
    "probe_service_nodes",
    "read_service_nodes",
]

#: The Prefect variable holding each SN's consecutive down probes (JSON object).
COUNTS_VARIABLE = "snflow_sn_down_probes"


@task(name="read-service-nodes", cache_policy=NO_CACHE)
def read_service_nodes(noderange: str) -> tuple[dict[str, Route], dict[str, dict[str, str]]]:
    """The SNs to probe (``noderange``, or every node of the ``servicenode`` table), their
    routes and their ``servicenode`` flags."""
    with db.read_connection() as conn:
        view = ClusterView(conn)
        columns = [Column("servicenode", flag) for flag in SERVICE_FLAGS]
        if noderange.strip():
            nodes = list(view.expand_or_raise(noderange))
        else:
            every = view.node_attributes(list(view.nodes()), columns)
            nodes = [n for n, values in every.items() if values]
        values = view.node_attributes(nodes, columns)
        flags = {n: {c.column: v for c, v in values[n].items()} for n in nodes}
        return routes_for(view, nodes), flags


@task(name="probe-service-nodes", cache_policy=NO_CACHE, retries=0)
def probe_service_nodes(
    routes: dict[str, Route], checks: dict[str, dict[str, str]], timeout: float, fanout: int
) -> list[ProbeResult]:
    """One SSH command per SN running its checks; unreachable or timed out means down."""
    with SshPool() as pool:
        results = run_many(
            pool,
            routes,
            lambda route: probe_script(checks.get(route.node, {})),
            fanout=fanout,
            timeout=timeout,
        )
    probes: list[ProbeResult] = []
    for result in results:
        expected = list(checks.get(result.node, {}))
        if result.outcome != "ok" or result.exit_status is None:
            probes.append(
                ProbeResult(node=result.node, ssh=False, message=result.message or result.outcome)
            )
            continue
        outcome = parse_probe_output(result.stdout_text, expected)
        failed = [name for name, ok in outcome.items() if not ok]
        message = f"check failed: {', '.join(failed)}" if failed else ""
        probes.append(ProbeResult(node=result.node, ssh=True, checks=outcome, message=message))
    return probes


@task(name="count-down-probes", cache_policy=NO_CACHE)
def count_down_probes(results: Sequence[ProbeResult]) -> dict[str, int]:
    """Update and return each SN's consecutive down probes (kept in a Prefect variable)."""
    previous = Variable.get(COUNTS_VARIABLE, default=None) or {}
    if not isinstance(previous, Mapping):
        previous = {}
    counts = next_down_counts({k: int(v) for k, v in previous.items()}, results)
    Variable.set(COUNTS_VARIABLE, counts, overwrite=True)
    return counts


@task(name="emit-health-events", cache_policy=NO_CACHE)
def emit_health_events(results: Sequence[ProbeResult], counts: Mapping[str, int]) -> int:
    """``snflow.servicenode.down`` / ``.up`` for every probed SN; returns how many."""
    for r in results:
        emit_event(
            event=UP_EVENT if r.up else DOWN_EVENT,
            resource={
                "prefect.resource.id": resource_id(r.node),
                "prefect.resource.name": r.node,
                "snflow.servicenode": r.node,
                "snflow.down-probes": str(counts.get(r.node, 0)),
            },
            payload={
                "ssh": r.ssh,
                "checks": dict(r.checks),
                "failed": r.failed_checks,
                "message": r.message,
            },
        )
    return len(results)
