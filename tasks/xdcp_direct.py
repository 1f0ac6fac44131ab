"""xdcp's tasks on the management node's side: the sources, and nodes without a service node.

* :func:`inspect_sources` reads the synclist and expands the sources (local files only).
* :func:`deliver_from_management_node` copies to nodes that have no service node, over
  snflow's SSH pool: the same payload (uploaded with SFTP) and node command a service
  node would use.
* :func:`pull_from_management_node` pulls (``-P``) from such nodes into the local target
  directory as ``<name>._<node>``.

One task run per batch of nodes; a node's failure is a result.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tarfile
import tempfile
import uuid
from collections.abc import Sequence
from io import BytesIO
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict

from snflow.models.routes import Route
from snflow.models.synclist import SyncList, SynclistError
from snflow.models.xdcp import DeliveryGroup, LocalItem, XdcpRequest
from snflow.models.xdcp_report import XdcpNodeResult
from snflow.models.xdcp_shell import Delivery, from_file, pull_command, rel
from snflow.tasks.runtime import run_resources
from snflow.tasks.ssh import CommandResult, failed_result
from snflow.tasks.xdcp import ARCHIVE_DIR, node_result
from snflow.tasks.xdcp_files import inventory, payload_tar, read_synclist

__all__ = [
    "LocalSources",
    "deliver_from_management_node",
    "inspect_sources",
    "pull_from_management_node",
]


class LocalSources(BaseModel):
    """The request's sources as they are on the management node."""

    model_config = ConfigDict(frozen=True)

    inventory: dict[str, tuple[LocalItem, ...]] = {}
    synclist: SyncList | None = None


@task(name="inspect-sources", cache_policy=NO_CACHE)
def inspect_sources(request: XdcpRequest) -> LocalSources:
    """The synclist (parsed) and every source expanded; a missing one is an error."""
    if request.pull:
        return LocalSources()
    synclist = read_synclist(request.synclist) if request.synclist else None
    patterns = [*synclist.sources(), request.synclist] if synclist else list(request.sources)
    found = inventory(patterns, contents=synclist is not None)
    missing = [p for p, items in found.items() if not items]
    if missing:
        raise SynclistError(f"File:{missing[0]} does not exist.")
    return LocalSources(inventory=found, synclist=synclist)


def _as_delivery(result: CommandResult) -> Delivery:
    output = (result.stdout_text + result.stderr_text).strip() or result.message
    status = result.exit_status
    if result.outcome == "unreachable":
        status = 255
    elif result.outcome == "timeout":
        status = 124
    return Delivery(node=result.node, status=-1 if status is None else status, output=output)


@task(name="deliver-from-management-node", cache_policy=NO_CACHE)
def deliver_from_management_node(
    routes: dict[str, Route], groups: Sequence[DeliveryGroup], request: XdcpRequest
) -> list[XdcpNodeResult]:
    """Copy each group's payload to its nodes directly from here, ``fanout`` at a time."""
    res = run_resources(request.fanout)
    results: list[XdcpNodeResult] = []
    for group in groups:
        payload = payload_tar(group.placements)

        def one(route: Route, command: str = group.command, data: bytes = payload) -> CommandResult:
            archive = f"{ARCHIVE_DIR}/.snflow-xdcp-{uuid.uuid4().hex[:12]}.tar"
            res.pool.put(route, data, archive, mode=0o600)
            return res.pool.run(route, from_file(command, archive), timeout=request.timeout)

        done = res.map(one, [routes[n] for n in group.nodes], on_error=failed_result)
        results += [node_result(_as_delivery(r), r.node, None, request) for r in done]
    return results


def _unpack(data: bytes, member: str, dest: Path) -> None:
    """Put ``member`` of the tar ``data`` at ``dest`` (replacing it), nothing else."""
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".snflow-xdcp.") as tmp:
        with tarfile.open(fileobj=BytesIO(data)) as tar:
            names = [m for m in tar.getmembers() if m.name == member or
                     m.name.startswith(member + "/")]  # fmt: skip
            tar.extractall(tmp, members=names, filter="data")
        if dest.is_dir() and not dest.is_symlink():
            shutil.rmtree(dest)
        os.replace(os.path.join(tmp, member), dest)


@task(name="pull-from-management-node", cache_policy=NO_CACHE)
def pull_from_management_node(
    routes: dict[str, Route], nodes: Sequence[str], request: XdcpRequest
) -> list[XdcpNodeResult]:
    """Pull the request's source from each node into ``<target>/<name>._<node>`` here."""
    res = run_resources(request.fanout)
    source = request.sources[0]
    member = "./" + rel(source)
    target = Path(str(request.target))
    name = posixpath.basename(source.rstrip("/"))

    def one(route: Route) -> CommandResult:
        if not target.is_dir():
            message = f"Cannot copy to target {target}. Directory does not exist."
            return CommandResult(node=route.node, outcome="failed", message=message)
        result = res.pool.run(route, pull_command(source), timeout=request.timeout)
        if result.ok:
            try:
                _unpack(result.stdout, member, target / f"{name}._{route.node}")
            except (OSError, tarfile.TarError) as exc:
                return CommandResult(node=route.node, outcome="failed", exit_status=1,
                                     message=f"cannot write the file: {exc}")  # fmt: skip
            return result.model_copy(update={"stdout": b""})
        return result

    done = res.map(one, [routes[n] for n in nodes], on_error=failed_result)
    return [node_result(_as_delivery(r), r.node, None, request) for r in done]
