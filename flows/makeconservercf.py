"""``makeconservercf``: console configuration on the management node and conserver hosts.

Callable as a flow or a subflow (the snmove flow's services phase does)::

    from snflow.flows.makeconservercf import makeconservercf
    from snflow.models.servicerun import ConservercfRequest, ServiceReport

    # consoles of the moved nodes on the MN and their new SN, stale ones off the old SN:
    request = ConservercfRequest(noderange="cn001,cn002", hosts=("mn", "sn2", "sn1"))
    state = makeconservercf(request, return_state=True)
    report: ServiceReport = state.result(raise_on_failure=False)

``makeconservercf(request: ConservercfRequest) -> State`` whose data is a
:class:`~snflow.models.servicerun.ServiceReport`; Failed names the failed hosts. Without
``hosts``: with a noderange, the management node and the hosts owning those consoles
(xCAT's dispatch); without one (or ``cleanup``), every conserver host. In ``hosts`` the
management node is ``site.master``. The management node's file names the owning SN with
``master``; the SN's file holds the ``exec`` console; stanzas of the noderange's nodes
that live elsewhere are removed from the hosts worked on. One task run per host.
"""

from __future__ import annotations

from prefect import flow
from prefect.runtime import flow_run
from prefect.states import State
from prefect.task_runners import ThreadPoolTaskRunner

from snflow.models.conserver import plan_conserver
from snflow.models.conserverfiles import conserver_targets, master_addresses
from snflow.models.errors import SnflowError
from snflow.models.servicerun import ConservercfRequest, ServiceReport, choose_hosts
from snflow.models.services import make_header
from snflow.tasks.conserver import ConserverJob, install_conserver_config
from snflow.tasks.runtime import run_scope
from snflow.tasks.servicereport import finish_report
from snflow.tasks.servicestate import read_service_context

__all__ = ["makeconservercf"]


@flow(
    name="makeconservercf",
    description="Console configuration on the MN and the conserver SNs (xCAT makeconservercf).",
    task_runner=ThreadPoolTaskRunner(max_workers=16),
    validate_parameters=True,
)
def makeconservercf(request: ConservercfRequest) -> State:
    """Write (or with ``delete`` remove) console entries; reload only where changed."""
    report = ServiceReport(command=request.describe())
    header = make_header(str(flow_run.get_id() or ""), "makeconservercf")
    with run_scope():
        try:
            context = read_service_context(request.noderange)
            nodes = list(context.nodes) if context.nodes is not None else None
            configs = plan_conserver(context.state, nodes, request.delete, cleanup=request.cleanup)
            if request.hosts:
                hosts = choose_hosts(context.state, configs, request.hosts)
            else:
                hosts = conserver_targets(context.state, configs, nodes, request.cleanup)
        except SnflowError as exc:
            report.error = str(exc)
            return finish_report("makeconservercf", report)
        settings = context.settings
        futures = [
            install_conserver_config.submit(
                ConserverJob(
                    target=context.targets[host],
                    config=configs[host],
                    header=header,
                    settings=settings,
                    addresses=master_addresses(context.state),
                )
            )
            for host in hosts
        ]
        report.results = [f.result() for f in futures]
    return finish_report("makeconservercf", report)
