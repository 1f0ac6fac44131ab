"""``sn-health``: probe every service node, emit up/down events, record a table.

Run on an interval by ``snflow serve``. Each probe is one SSH command per SN running the
service checks of its ``servicenode`` flags (commands from the settings); an SN that does
not answer, or fails a check, is down. Every SN gets an event per probe
(``snflow.servicenode.down`` / ``.up``) carrying its count of consecutive down probes, which
the opt-in takeover automation (``snflow.deployments.automations``) matches on.

The flow never moves anything itself: a takeover is the administrator's decision, or the
automation's when they enabled it.
"""

from __future__ import annotations

from prefect import flow
from prefect.states import Completed, State

from snflow.models.health import HealthReport, HealthRequest, checks_for
from snflow.models.natsort import fold
from snflow.models.settings import get_settings
from snflow.tasks.artifacts import publish_report
from snflow.tasks.health import (
    count_down_probes,
    emit_health_events,
    probe_service_nodes,
    read_service_nodes,
)

__all__ = ["sn_health"]


@flow(
    name="sn-health",
    description="Probe every service node (SSH, DHCP, TFTP, conserver) and emit up/down events.",
    validate_parameters=True,
)
def sn_health(request: HealthRequest) -> State:
    """Probe the service nodes of ``request``; Completed in any case (down SNs are news,
    not a failure of the probe), with the down ones named in the message."""
    routes, flags = read_service_nodes(request.service_nodes)
    commands = get_settings().health.checks
    checks = {node: checks_for(flags[node], commands) for node in routes}
    results = probe_service_nodes(routes, checks, request.timeout, request.fanout)
    counts = count_down_probes(results)
    emit_health_events(results, counts)
    report = HealthReport(
        results=results, down_probes={r.node: counts.get(r.node, 0) for r in results}
    )
    title = f"sn-health: {len(results)} service nodes"
    publish_report("sn-health", title, report.summary(), report.rows())
    if report.down:
        return Completed(name="Degraded", message=f"down: {fold(report.down)}", data=report)
    return Completed(message=f"{len(results)} service nodes up", data=report)
