"""xdcp's tasks: read the targets, stage on one SN, deliver through one SN or from the MN.

One task run per service node for staging and per SN batch for delivery (never per node):
a delivery task sends one small control tar to the SN and runs one command there, which
copies to the batch's nodes with the SN's own ssh (:mod:`snflow.models.xdcp_shell`). A
node's failure is a result; an SN that cannot be reached is a :class:`BatchOutcome` with
``reached=False``, so the flow can try each node's next service node.
"""

from __future__ import annotations

import math
import shlex
import uuid
from collections.abc import Sequence

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict

from snflow.models import db
from snflow.models.cluster import ClusterView
from snflow.models.routes import Route
from snflow.models.settings import get_settings
from snflow.models.synclist import SyncList
from snflow.models.xdcp import (
    DEFAULT_NODESYNCDIR,
    DEFAULT_SYNCDIR,
    DeliveryGroup,
    Placement,
    XdcpRequest,
)
from snflow.models.xdcp_report import NOT_RESPONDING, StagingResult, XdcpNodeResult
from snflow.models.xdcp_shell import (
    Delivery,
    deliver_command,
    from_file,
    parse_deliveries,
    stage_command,
)
from snflow.tasks.runtime import run_resources
from snflow.tasks.ssh import CommandTimeout, ConnectError, SshError, routes_for
from snflow.tasks.xdcp_files import control_tar, staging_tar

__all__ = [
    "ARCHIVE_DIR",
    "BatchOutcome",
    "XdcpTargets",
    "deliver_through_service_node",
    "node_result",
    "read_xdcp_targets",
    "stage_on_service_node",
]

#: Where archives are uploaded on a host (node path; removed once unpacked).
ARCHIVE_DIR = "/tmp"  # noqa: S108 - on the remote host, random name, mode 0600
#: Exit status of ``timeout`` when the limit hit; of ssh when it could not connect.
_TIMED_OUT, _SSH_FAILED = 124, 255


class XdcpTargets(BaseModel):
    """What xdcp reads from the cluster database for one request."""

    model_config = ConfigDict(frozen=True)

    #: node -> its service nodes in ``servicenode`` order (empty: reached directly).
    nodes: dict[str, tuple[str, ...]]
    #: How to reach every node and every service node from here.
    routes: dict[str, Route]
    syncdir: str = DEFAULT_SYNCDIR
    nodesyncdir: str = DEFAULT_NODESYNCDIR
    #: synclist line index -> the nodes its ``(noderange)`` selects.
    filters: dict[int, frozenset[str]] = {}


class BatchOutcome(BaseModel):
    """A delivery batch on one SN: its nodes' results, or why the SN was not reached."""

    model_config = ConfigDict(frozen=True)

    service_node: str
    reached: bool
    message: str = ""
    results: tuple[XdcpNodeResult, ...] = ()


@task(name="read-xdcp-targets", cache_policy=NO_CACHE)
def read_xdcp_targets(request: XdcpRequest, synclist: SyncList | None) -> XdcpTargets:
    """Expand the noderange (unknown names are an error), each node's service nodes and
    route, the staging directories, and the synclist's noderange filters."""
    with db.read_connection() as conn:
        view = ClusterView(conn)
        nodes = view.expand_or_raise(request.noderange)
        routes = routes_for(view, nodes)
        servers = {n: tuple(e.name for e in r.via) for n, r in routes.items()}
        sns = {s for chain in servers.values() for s in chain}
        routes.update(routes_for(view, sorted(sns - set(routes))))
        filters: dict[int, frozenset[str]] = {}
        for index, entry in enumerate(synclist.entries if synclist else ()):
            if entry.noderange:
                filters[index] = frozenset(view.expand_or_raise(entry.noderange))
        site = view.site
    return XdcpTargets(
        nodes=servers,
        routes=routes,
        syncdir=site.get("SNsyncfiledir", "").strip() or DEFAULT_SYNCDIR,
        nodesyncdir=site.get("nodesyncfiledir", "").strip() or DEFAULT_NODESYNCDIR,
        filters=filters,
    )


def _why(exc: Exception, host: str, verify: bool) -> str:
    if verify and isinstance(exc, ConnectError):
        return NOT_RESPONDING.format(host=host)
    return str(exc)


@task(name="stage-on-service-node", cache_policy=NO_CACHE)
def stage_on_service_node(
    route: Route, staged: Sequence[Placement], syncdir: str, request: XdcpRequest
) -> StagingResult:
    """Upload the sources' archive to one SN (SFTP, into its ``/tmp``) and unpack it under
    ``syncdir`` there (every SN gets the same)."""
    data = staging_tar(staged)
    pool = run_resources(request.fanout).pool
    sn = route.node
    archive = f"{ARCHIVE_DIR}/.snflow-xdcp-{uuid.uuid4().hex[:12]}.tar"
    try:
        pool.put(route, data, archive, mode=0o600)
        command = from_file(stage_command(syncdir), archive)
        result = pool.run(route, command, timeout=request.timeout)
    except (SshError, OSError) as exc:
        return StagingResult(service_node=sn, ok=False, message=_why(exc, sn, request.verify))
    if not result.ok:
        lines = (result.stderr_text or result.stdout_text).strip().splitlines()
        message = lines[-1] if lines else result.message
        return StagingResult(
            service_node=sn, ok=False, message=message, output=result.stderr_text.strip()
        )
    return StagingResult(service_node=sn, ok=True, bytes_sent=len(data))


def _ssh_options(request: XdcpRequest) -> str:
    words = ["-l", request.user] if request.user else []
    words += shlex.split(request.node_options)
    return " ".join(shlex.quote(w) for w in words)


def node_result(
    delivery: Delivery | None, node: str, via: str | None, request: XdcpRequest
) -> XdcpNodeResult:
    """A node's result from what its copy did (``None``: no result came back)."""
    if delivery is None:
        return XdcpNodeResult(node=node, outcome="failed", via=via,
                              message=f"no result from {via or 'the copy'}")  # fmt: skip
    output = delivery.output.strip()
    last = output.splitlines()[-1] if output else ""
    if delivery.status == 0:
        return XdcpNodeResult(node=node, outcome="ok", via=via, output=output)
    if delivery.status == _TIMED_OUT and request.timeout:
        return XdcpNodeResult(node=node, outcome="timeout", via=via, output=output,
                              message=f"timed out after {request.timeout:g} s")  # fmt: skip
    if delivery.status == _SSH_FAILED:
        message = NOT_RESPONDING.format(host=node) if request.verify else last
        return XdcpNodeResult(node=node, outcome="unreachable", via=via, output=output,
                              message=message or f"cannot reach {node}")  # fmt: skip
    return XdcpNodeResult(node=node, outcome="failed", via=via, output=output,
                          message=last or f"exit status {delivery.status}")  # fmt: skip


@task(name="deliver-through-service-node", cache_policy=NO_CACHE)
def deliver_through_service_node(
    route: Route,
    groups: Sequence[DeliveryGroup],
    syncdir: str,
    request: XdcpRequest,
    run_name: str,
    extra: dict[str, str] | None = None,
) -> BatchOutcome:
    """Run one delivery on the SN ``route`` leads to: it copies each group's payload to
    the group's nodes with its own ssh, ``request.fanout`` at a time (``extra``: more
    configuration, e.g. for a pull)."""
    sn = route.node
    nodes = [n for g in groups for n in g.nodes]
    settings = get_settings()
    marker = f"snflow-xdcp-{run_name}"
    config = {
        "mode": "pull" if request.pull else "push",
        "marker": marker,
        "fanout": str(request.fanout),
        "limit": f"{math.ceil(request.timeout)}" if request.timeout else "",
        "ssh_command": settings.sn.ssh_command,
        "ssh_options": _ssh_options(request),
        **(extra or {}),
    }
    rounds = math.ceil(len(nodes) / request.fanout)
    limit = (request.timeout or settings.ssh.command_timeout) * rounds + 60
    control = control_tar(groups, config, push=not request.pull)
    pool = run_resources(request.fanout).pool
    try:
        result = pool.run(route, deliver_command(syncdir), timeout=limit, stdin=control)
    except ConnectError as exc:
        return BatchOutcome(service_node=sn, reached=False, message=_why(exc, sn, request.verify))
    except (CommandTimeout, SshError) as exc:
        failed = tuple(
            XdcpNodeResult(node=n, outcome="failed", via=sn, message=f"{sn}: {exc}") for n in nodes
        )
        return BatchOutcome(service_node=sn, reached=True, message=str(exc), results=failed)
    found = parse_deliveries(result.stdout_text, marker)
    if not found and not result.ok:
        why = (result.stderr_text.strip() or result.message).splitlines()
        failed = tuple(
            XdcpNodeResult(node=n, outcome="failed", via=sn, message=why[-1] if why else "")
            for n in nodes
        )
        return BatchOutcome(service_node=sn, reached=True, message="", results=failed)
    return BatchOutcome(
        service_node=sn,
        reached=True,
        results=tuple(node_result(found.get(n), n, sn, request) for n in nodes),
    )
