"""``nodeset``: each node's network-boot files on every TFTP server of its pool, as a flow.

Callable as a flow or a subflow (the snmove flow's services phase does)::

    from snflow.flows.nodeset import nodeset
    from snflow.models.servicerun import NodesetRequest, ServiceReport

    state = nodeset(NodesetRequest(noderange="cn001,cn002"), return_state=True)
    report: ServiceReport = state.result(raise_on_failure=False)

``nodeset(request: NodesetRequest) -> State`` whose data is a
:class:`~snflow.models.servicerun.ServiceReport` (added/updated are file paths relative to
``site.tftpdir``); Failed names the failed hosts, or the error that stopped the run before
any host (unknown node, no image, unsupported netboot). The files (pxelinux or grub2 by
``noderes.netboot``, xnba too) name the node's boot server (tftpserver, else the writing
SN's own address on the node's network) and its image (``request.osimage``, else
``nodetype.provmethod``). This is the part of xCAT's nodeset a move needs; DHCP entries
are :mod:`snflow.flows.makedhcp`'s. One task run per host.
"""

from __future__ import annotations

from prefect import flow
from prefect.runtime import flow_run
from prefect.states import State
from prefect.task_runners import ThreadPoolTaskRunner

from snflow.models.bootfiles import plan_bootfiles
from snflow.models.errors import SnflowError
from snflow.models.servicerun import NodesetRequest, ServiceReport, choose_hosts
from snflow.models.services import make_header
from snflow.tasks.bootfiles import BootJob, install_boot_files
from snflow.tasks.runtime import run_scope
from snflow.tasks.servicereport import finish_report
from snflow.tasks.servicestate import read_service_context

__all__ = ["nodeset"]


@flow(
    name="nodeset",
    description="Network-boot files on both service nodes of every node (xCAT nodeset).",
    task_runner=ThreadPoolTaskRunner(max_workers=16),
    validate_parameters=True,
)
def nodeset(request: NodesetRequest) -> State:
    """Write the boot files of ``request.noderange`` on the TFTP hosts of their pools."""
    report = ServiceReport(command=request.describe())
    header = make_header(str(flow_run.get_id() or ""), "nodeset")
    with run_scope():
        try:
            context = read_service_context(request.noderange)
            plans = plan_bootfiles(
                context.state, list(context.nodes or ()), request.osimage, header=header
            )
            hosts = choose_hosts(context.state, plans, request.hosts)
        except SnflowError as exc:
            report.error = str(exc)
            return finish_report("nodeset", report)
        settings = context.settings
        futures = [
            install_boot_files.submit(
                BootJob(target=context.targets[host], files=plans[host], settings=settings)
            )
            for host in hosts
        ]
        report.results = [f.result() for f in futures]
    return finish_report("nodeset", report)
