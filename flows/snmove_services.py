"""The services phase of ``snmove``: consoles, DHCP entries and boot files of moved nodes.

The same planners and per-host tasks as ``makeconservercf``, ``makedhcp`` and ``nodeset``
(:mod:`snflow.flows.makeconservercf`, ...), run as tasks of the move, all hosts and all
three services at once: one read of the service state, then one task run per host and
service. (Three parallel subflows cost seconds each in the run engine; their tasks cost
milliseconds.) What is done:

* consoles of the nodes whose ``conserver`` moved: the management node (``master`` the new
  SN) and the new SN (the ``exec`` console); the old SN's stale stanzas are removed when it
  answers (design decision 6);
* DHCP entries and boot files of the nodes with a ``provmethod``, on every SN of their pool
  (decision 11), naming the new server.

A host failing that is an old SN of the moved nodes (usually the failed one) is
**deferred**, not failed: the nodes no longer depend on it, and the switch-back, which
makes it the new SN again, rewrites its files.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from prefect import Task
from pydantic import BaseModel

from snflow.models.bootfiles import plan_bootfiles
from snflow.models.conserver import plan_conserver
from snflow.models.conserverfiles import master_addresses
from snflow.models.dhcpfiles import plan_makedhcp
from snflow.models.errors import SnflowError
from snflow.models.journal import NodeWork
from snflow.models.natsort import fold
from snflow.models.servicerun import HostResult, choose_hosts
from snflow.models.services import make_header
from snflow.models.settings import get_settings
from snflow.models.snmove_request import ServiceOutcome, SnmoveReport
from snflow.tasks.bootfiles import BootJob, install_boot_files
from snflow.tasks.conserver import ConserverJob, install_conserver_config
from snflow.tasks.dhcp import DhcpJob, install_dhcp_config
from snflow.tasks.servicestate import ServiceContext, read_service_context

__all__ = ["ServiceJob", "configure_services", "service_jobs", "service_scope"]


class ServiceJob(NamedTuple):
    """One host's part of one service: the task that does it and its input."""

    service: str
    host: str
    task: Task[..., HostResult]
    job: BaseModel


def service_scope(works: Sequence[NodeWork], site_master: str) -> tuple[list[str], ...]:
    """The nodes whose consoles move, the nodes with a provmethod, and the console hosts
    (the management node, the new SNs, the old SNs whose stale stanzas go)."""
    consoles = [w.node for w in works if "nodehm.conserver" in w.changed]
    booting = [w.node for w in works if w.provmethod]
    moved = [w for w in works if "nodehm.conserver" in w.changed]
    hosts = [site_master, *(w.new_sn for w in moved), *(w.old_sn or "" for w in moved)]
    return consoles, booting, [h for h in dict.fromkeys(hosts) if h]


def service_jobs(
    context: ServiceContext,
    scope: tuple[list[str], ...],
    flow_run_id: str,
    warnings: list[str],
) -> list[ServiceJob]:
    """Plan the three services: one job per host and service (nothing run)."""
    consoles, booting, console_hosts = scope
    state, settings = context.state, get_settings().services
    jobs: list[ServiceJob] = []
    if consoles:
        header = make_header(flow_run_id, "makeconservercf")
        configs = plan_conserver(state, list(consoles))
        addresses = master_addresses(state)  # for the check: no name lookup per console
        for host in choose_hosts(state, configs, console_hosts):
            job = ConserverJob(
                target=context.targets[host],
                config=configs[host],
                header=header,
                settings=settings,
                addresses=addresses,
            )
            jobs.append(ServiceJob("conserver", host, install_conserver_config, job))
    if booting:
        header = make_header(flow_run_id, "makedhcp")
        dhcp, notes = plan_makedhcp(state, "add", list(booting))
        warnings += [f"makedhcp: {text}" for text in notes]
        for host in choose_hosts(state, dhcp, ()):
            job = DhcpJob(
                target=context.targets[host],
                config=dhcp[host],
                action="add",
                nodes=tuple(booting),
                header=header,
                settings=settings,
            )
            jobs.append(ServiceJob("dhcp", host, install_dhcp_config, job))
        boot = plan_bootfiles(state, list(booting), header=make_header(flow_run_id, "nodeset"))
        for host in choose_hosts(state, boot, ()):
            job = BootJob(target=context.targets[host], files=boot[host], settings=settings)
            jobs.append(ServiceJob("nodeset", host, install_boot_files, job))
    return jobs


def configure_services(
    report: SnmoveReport, works: Sequence[NodeWork], site_master: str, flow_run_id: str
) -> str:
    """Configure the services of ``works``' nodes; the services state for the journal
    (``done``, or ``failed`` when a host that is not an old SN failed)."""
    scope = service_scope(works, site_master)
    consoles, booting, _ = scope
    if consoles:
        report.info(f"Running makeconservercf {','.join(consoles)}")
    if not consoles and not booting:
        return "done"
    try:
        context = read_service_context(fold({*consoles, *booting}))
        warnings: list[str] = []
        jobs = service_jobs(context, scope, flow_run_id, warnings)
    except SnflowError as exc:
        report.error(f"services: {exc}")
        report.services.append(
            ServiceOutcome(host="-", service="services", status="failed", detail=str(exc))
        )
        return "failed"
    for text in warnings:
        report.warning(text)
    submitted = [(j.service, j.host, j.task.submit(j.job)) for j in jobs]
    report.task_runs += 1 + len(submitted)
    old = {w.old_sn for w in works if w.old_sn} - {w.new_sn for w in works}
    failed = False
    for service, host, future in submitted:
        result = future.result()
        status = result.outcome
        if status == "failed" and host in old:
            status = "deferred"
            report.warning(
                f"{service} on {host} not updated (the old service node; its stale "
                f"entries are replaced at switch-back): {result.message}"
            )
        failed = failed or status == "failed"
        report.services.append(
            ServiceOutcome(host=host, service=service, status=status, detail=result.message)
        )
    return "failed" if failed else "done"
