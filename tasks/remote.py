"""Tasks that run commands on nodes over SSH, one task run per batch of nodes.

A batch holds the nodes behind one service node (or reached directly); inside the task
the nodes are worked on concurrently, bounded by the run-wide fanout. A node's failure
(unreachable, timed out, non-zero exit) is a result, never an exception.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from snflow.models.remote import NodeResult, RemoteBatch, XdshRequest
from snflow.models.routes import Route
from snflow.tasks.runtime import run_resources
from snflow.tasks.ssh import CommandResult, SshPool, build_command, failed_result

__all__ = ["SCRIPT_DIR", "run_command_batch", "xdsh_command"]

_NOT_RESPONDING = (
    "{node} is not responding, make sure it is a node object and is defined in xCATdb. "
    "No command will be issued to this host."
)


#: Where ``-e`` scripts are copied on a node. Node-side paths are written under
#: ``${NODEROOT:-}`` (empty on a real node; the host's directory on the virtual cluster).
SCRIPT_DIR = "/tmp"  # noqa: S108 - on the node; random name, mode 0700


def xdsh_command(request: XdshRequest, script_path: str | None) -> str:
    """The command line run on each node: the command as typed, or the copied script
    (run with the command's words as arguments, then removed)."""
    if script_path is None:
        return request.command
    path = '"${NODEROOT:-}"' + build_command([script_path])
    run = path + (f" {request.command}" if request.command else "")
    return f"{run}; status=$?; rm -f {path}; exit $status"


def _to_result(result: CommandResult, verify: bool) -> NodeResult:
    message = result.message
    if result.outcome == "unreachable" and verify:
        message = _NOT_RESPONDING.format(node=result.node)
    return NodeResult(
        node=result.node,
        outcome=result.outcome,
        exit_status=result.exit_status,
        stdout=result.stdout_text,
        stderr=result.stderr_text,
        via=result.via,
        message=message,
    )


def _one(pool: SshPool, route: Route, request: XdshRequest, script: bytes | None) -> CommandResult:
    path = None
    if script is not None:
        path = f"{SCRIPT_DIR}/snflow-xdsh-{uuid.uuid4().hex}"
        pool.put(route, script, path, mode=0o700)
    return pool.run(route, xdsh_command(request, path), timeout=request.timeout)


@task(name="run-command-batch", cache_policy=NO_CACHE)
def run_command_batch(
    batch: RemoteBatch, routes: dict[str, Route], request: XdshRequest
) -> list[NodeResult]:
    """Run the request's command on every node of ``batch``; one result per node."""
    res = run_resources(request.fanout)
    script = Path(request.script).read_bytes() if request.script else None

    def one(route: Route) -> CommandResult:
        return _one(res.pool, route, request, script)

    results = res.map(one, [routes[n] for n in batch.nodes], on_error=failed_result)
    return [_to_result(r, request.verify) for r in results]
