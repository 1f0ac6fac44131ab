"""makeconservercf on one conserver host: merge, check, install, reload only if changed.

One task run per host. The host's ``conserver.cf`` (``services.conserver_cf``) is read,
the planned stanzas merged into it (content snflow and xCAT do not manage is kept), and
the result checked with ``conserver -S -C`` (on the management node when installed there,
else on the target; ``master`` names are replaced by addresses for the check only),
installed atomically and followed by the reload command (``services.conserver_reload``:
conserver re-reads its file on SIGHUP, open consoles stay; xCAT restarts every console
instead). Unchanged content: no write, no reload. A host left without any console gets
the file (stale entries must go) and ``services.conserver_stop``; a host that has no file
and would get no console is left alone.
"""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict

from snflow.models.conserver import ConserverConfig, console_names, merge_conserver
from snflow.models.conserverfiles import checkable, console_changes
from snflow.models.errors import SnflowError
from snflow.models.servicerun import HostResult
from snflow.models.settings import ServicesSettings
from snflow.tasks.dhcp import reload_service
from snflow.tasks.hostscripts import same_content
from snflow.tasks.servicehost import (
    ServiceTarget,
    check_locally,
    check_place,
    fetch_paths,
    install_paths,
)

__all__ = ["ConserverJob", "install_conserver_config"]


class ConserverJob(BaseModel):
    """One conserver host's part of a run."""

    model_config = ConfigDict(frozen=True)

    target: ServiceTarget
    config: ConserverConfig
    header: str
    settings: ServicesSettings
    addresses: dict[str, str] = {}  # service host -> address, for the check only


@task(name="install-conserver-config", cache_policy=NO_CACHE)
def install_conserver_config(job: ConserverJob) -> HostResult:
    """Bring one host's conserver.cf to the plan; a failure is a result."""
    path = job.settings.conserver_cf
    try:
        return _converge(job, path)
    except SnflowError as exc:
        return HostResult(host=job.target.name, outcome="failed", path=path, message=str(exc))


def _converge(job: ConserverJob, path: str) -> HostResult:
    host, timeout = job.target.name, job.settings.command_timeout
    current = fetch_paths(job.target, [path], timeout=timeout)[path]
    text = merge_conserver(current or "", job.config, job.header)
    consoles = console_names(text)
    if same_content(current, text) or (current is None and not consoles):
        note = "" if consoles else "no console here"
        return HostResult(host=host, outcome="unchanged", path=path, message=note)
    place = check_place("conserver", job.settings)
    checked = checkable(text, job.addresses)
    if place == "mn":
        check_locally("conserver", checked, host, suffix=".cf")
    check = ("conserver", path, checked) if place == "target" else None
    install_paths(job.target, {path: text}, check=check, timeout=timeout)
    added, removed, updated = console_changes(current or "", text)
    command = job.settings.conserver_reload if consoles else job.settings.conserver_stop
    reloaded, message = reload_service(job.target, command, timeout)
    return HostResult(
        host=host,
        outcome="failed" if message else "changed",
        path=path,
        added=tuple(added),
        removed=tuple(removed),
        updated=tuple(updated),
        reloaded=reloaded,
        checked_on=host if place == "target" else "mn",
        message=message or ("" if consoles else "no console left: conserver stopped"),
    )
