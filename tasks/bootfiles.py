"""nodeset on one TFTP host: write the nodes' boot files that differ, in one command.

One task run per host. The planned files and symlinks (relative to ``site.tftpdir``) are
read from the host in one command; those whose content (header aside) or link target
differs are installed together, each renamed into place. TFTP needs no reload. Files of
other nodes, and stale files of these nodes, are left alone.
"""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict

from snflow.models.bootfiles import BootFiles
from snflow.models.servicerun import HostResult
from snflow.models.settings import ServicesSettings
from snflow.tasks.hostscripts import same_content
from snflow.tasks.servicehost import ServiceHostError, ServiceTarget, fetch_files, install_files

__all__ = ["BootJob", "install_boot_files"]


class BootJob(BaseModel):
    """One TFTP host's part of a nodeset run."""

    model_config = ConfigDict(frozen=True)

    target: ServiceTarget
    files: BootFiles
    settings: ServicesSettings


@task(name="install-boot-files", cache_policy=NO_CACHE)
def install_boot_files(job: BootJob) -> HostResult:
    """Bring one host's boot files to the plan; a failure is a result."""
    plan, host = job.files, job.target.name
    timeout = job.settings.command_timeout
    try:
        current = fetch_files(
            job.target, plan.tftpdir, [*plan.files, *plan.symlinks], timeout=timeout
        )
        files = {p: t for p, t in plan.files.items() if not same_content(current[p], t)}
        links = {p: t for p, t in plan.symlinks.items() if current[p] != f"->{t}"}
        if files or links:
            install_files(job.target, plan.tftpdir, files, links, timeout=timeout)
    except ServiceHostError as exc:
        return HostResult(host=host, outcome="failed", path=plan.tftpdir, message=str(exc))
    written = sorted([*files, *links])
    return HostResult(
        host=host,
        outcome="changed" if written else "unchanged",
        path=plan.tftpdir,
        added=tuple(p for p in written if current[p] is None),
        updated=tuple(p for p in written if current[p] is not None),
    )
