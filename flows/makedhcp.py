"""``makedhcp``: DHCP entries on every DHCP server of each node's pool, as a flow.

Callable as a flow or a subflow (the snmove flow's services phase does)::

    from snflow.flows.makedhcp import makedhcp
    from snflow.models.servicerun import MakedhcpRequest, ServiceReport

    state = makedhcp(MakedhcpRequest(noderange="cn001,cn002"), return_state=True)
    report: ServiceReport = state.result(raise_on_failure=False)

``makedhcp(request: MakedhcpRequest) -> State`` whose data is a
:class:`~snflow.models.servicerun.ServiceReport`: Completed when every host succeeded,
Failed naming the failed hosts (or the error that stopped the run before any host was
touched: an unknown node, a duplicate MAC, ...). ``request.hosts`` limits the run to some
DHCP hosts (e.g. the nodes' new pool). One task run per host; a host that cannot be
reached is failed and the others complete. Per-host results are a table artifact.
"""

from __future__ import annotations

from prefect import flow
from prefect.runtime import flow_run
from prefect.states import State
from prefect.task_runners import ThreadPoolTaskRunner

from snflow.models.dhcp import DhcpHostConfig
from snflow.models.dhcpfiles import plan_makedhcp, query_hosts
from snflow.models.errors import SnflowError
from snflow.models.servicerun import MakedhcpRequest, ServiceReport, choose_hosts
from snflow.models.services import ServiceState, make_header
from snflow.tasks.dhcp import DhcpJob, install_dhcp_config
from snflow.tasks.runtime import run_scope
from snflow.tasks.servicereport import finish_report
from snflow.tasks.servicestate import read_service_context

__all__ = ["makedhcp"]


@flow(
    name="makedhcp",
    description="DHCP entries on both service nodes of every node (xCAT makedhcp).",
    task_runner=ThreadPoolTaskRunner(max_workers=16),
    validate_parameters=True,
)
def makedhcp(request: MakedhcpRequest) -> State:
    """Add (``-a``), delete (``-d``), rewrite the networks (``-n``) or query (``-q``)."""
    report = ServiceReport(command=request.describe())
    header = make_header(str(flow_run.get_id() or ""), "makedhcp")
    with run_scope():
        try:
            context = read_service_context(request.noderange)
            nodes = None if request.all_nodes else context.nodes
            if request.action == "query":
                configs, warnings = {}, []
                planned = query_hosts(context.state, nodes or ())
            else:
                configs, warnings = plan_makedhcp(context.state, request.action, nodes)
                planned = list(configs)
            hosts = choose_hosts(context.state, planned, request.hosts)
        except SnflowError as exc:
            report.error = str(exc)
            return finish_report("makedhcp", report)
        report.warnings = warnings
        jobs = [
            DhcpJob(
                target=context.targets[host],
                config=configs.get(host) or _empty(context.state, host),
                action=request.action,
                all_nodes=request.all_nodes,
                nodes=nodes or (),
                header=header,
                settings=context.settings,
            )
            for host in hosts
        ]
        futures = [install_dhcp_config.submit(job) for job in jobs]
        report.results = [f.result() for f in futures]
    return finish_report("makedhcp", report)


def _empty(state: ServiceState, host: str) -> DhcpHostConfig:
    """The config of a host that is only queried."""
    return DhcpHostConfig(host=host, backend=state.site.dhcpbackend, subnets=())
