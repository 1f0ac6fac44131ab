"""makedhcp on one DHCP host: read its file, render, check, install, reload if changed.

One task run per host. The ISC backend owns an include file (``services.dhcpd_include``;
dhcpd's main file is created including it when absent), Kea owns the whole kea-dhcp4
configuration (``services.kea_conf``). A file whose content (header aside) is already right
is neither written nor reloaded. The check runs before anything is written: on the
management node when the checker is installed there (Kea's listed interfaces are replaced
by ``*`` for that check: they exist only on the target), else on the target.
"""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict

from snflow.models.dhcp import DhcpHostConfig, render_dhcp, render_isc_main
from snflow.models.dhcpfiles import (
    DhcpAction,
    entry_changes,
    filter_config,
    installed_entries,
    query_lines,
    select_members,
)
from snflow.models.servicerun import HostResult
from snflow.models.settings import ServicesSettings
from snflow.tasks.hostscripts import same_content
from snflow.tasks.servicehost import (
    ServiceHostError,
    ServiceTarget,
    check_locally,
    check_place,
    fetch_paths,
    install_paths,
    run_on,
)

__all__ = ["DhcpJob", "install_dhcp_config", "reload_service"]


class DhcpJob(BaseModel):
    """What one host's task needs: where, what it may hold, what was asked."""

    model_config = ConfigDict(frozen=True)

    target: ServiceTarget
    config: DhcpHostConfig
    action: DhcpAction
    all_nodes: bool = False
    nodes: tuple[str, ...] = ()
    header: str
    settings: ServicesSettings


def _paths(job: DhcpJob) -> tuple[str, str | None]:
    """The file snflow owns, and (ISC) dhcpd's main file."""
    if job.config.backend == "kea":
        return job.settings.kea_conf, None
    return job.settings.dhcpd_include, job.settings.dhcpd_conf


@task(name="install-dhcp-config", cache_policy=NO_CACHE)
def install_dhcp_config(job: DhcpJob) -> HostResult:
    """Bring one host's DHCP file to what the request asks; a failure is a result."""
    path, main = _paths(job)
    try:
        return _converge(job, path, main)
    except ServiceHostError as exc:
        return HostResult(host=job.target.name, outcome="failed", path=path, message=str(exc))


def _converge(job: DhcpJob, path: str, main: str | None) -> HostResult:
    timeout = job.settings.command_timeout
    host, backend = job.target.name, job.config.backend
    current = fetch_paths(job.target, [path, *([main] if main else [])], timeout=timeout)
    before = installed_entries(current[path], backend)
    if job.action == "query":
        lines = query_lines(host, before, job.nodes)
        return HostResult(host=host, outcome="unchanged", path=path, details=tuple(lines))
    served = {e.node for e in job.config.entries}
    members = select_members(job.action, job.all_nodes, job.nodes, [e.node for e in before], served)
    config = filter_config(job.config, members)
    text = render_dhcp(config, job.header)
    files = {} if same_content(current[path], text) else {path: text}
    if main and current[main] is None:
        files[main] = render_isc_main(path, job.header)
    added, removed, updated = entry_changes(before, installed_entries(text, backend))
    if not files:
        return HostResult(host=host, outcome="unchanged", path=path)
    checker = "kea" if backend == "kea" else "dhcpd"
    place = check_place(checker, job.settings)
    if place == "mn":
        checked = render_dhcp(config, job.header, interfaces=["*"]) if backend == "kea" else text
        check_locally(checker, checked, host, suffix=".json" if backend == "kea" else ".conf")
    install_paths(
        job.target,
        files,
        check=(checker, path, text) if place == "target" and path in files else None,
        timeout=timeout,
    )
    reload = job.settings.kea_reload if backend == "kea" else job.settings.dhcpd_reload
    reloaded, message = reload_service(job.target, reload, timeout)
    return HostResult(
        host=host,
        outcome="changed" if not message else "failed",
        path=path,
        added=tuple(added),
        removed=tuple(removed),
        updated=tuple(updated),
        reloaded=reloaded,
        checked_on=job.target.name if place == "target" else "mn",
        message=message,
    )


def reload_service(target: ServiceTarget, command: str, timeout: float) -> tuple[bool, str]:
    """Run ``command`` (a setting; empty: nothing to run) after a change: whether it ran
    and succeeded, and a failure message (the file stays installed)."""
    if not command.strip():
        return False, ""
    result = run_on(target, command, timeout=timeout)
    if result.ok:
        return True, ""
    output = (result.stderr_text or result.stdout_text).strip()[-500:]
    return False, f"installed, but the reload failed ({result.message}): {output}"
