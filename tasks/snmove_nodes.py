"""The work on moved nodes that are up: one task run per batch behind one service node.

Inside a batch the nodes are worked on concurrently, bounded by the run-wide fanout. For
each node: connect through its new service node (the run's SSH pool has a short connect
timeout: that connection *is* the up-check; a node that does not answer is ``skipped``),
then one command runs the whole program built by
:func:`~snflow.models.snmove_runner.runner_script` (xcatinfo, gateway, postscripts) and
its output is read back per step. A transient SSH failure (the connection dropped) is
retried for that node with backoff; a timeout or a failing step is the node's result.
The batch as a whole is retried by Prefect if it raises (it only does on a bug: node
failures are results), and everything it runs is idempotent.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict

from snflow.models.journal import NodeWork
from snflow.models.remote import RemoteBatch
from snflow.models.routes import Route
from snflow.models.snmove_read import NodeEnvironment
from snflow.models.snmove_request import NodeOutcome
from snflow.models.snmove_runner import (
    RUNNER_COMMAND,
    StepResult,
    node_steps,
    parse_runner_output,
    postscript_env,
    runner_script,
)
from snflow.tasks.runtime import run_resources
from snflow.tasks.ssh import (
    CommandTimeout,
    ConnectError,
    HostKeyError,
    SshError,
    SshPool,
)

__all__ = ["NodeRunSettings", "retry_transient", "run_node_batch"]

T = TypeVar("T")
_BACKOFF = 0.2  # seconds before the first retry of a node, doubled each time, jittered


class NodeRunSettings(BaseModel):
    """How the node work runs: concurrency, per-node limits, retries."""

    model_config = ConfigDict(frozen=True)

    fanout: int = 64
    command_timeout: float = 300.0
    attempts: int = 3


class _Transient(Exception):
    """A dropped connection while the node's work ran: worth another try."""


def retry_transient(
    action: Callable[[], T], attempts: int, sleep: Callable[[float], None] = time.sleep
) -> T:
    """``action()``, again (with jittered exponential backoff) while it raises
    :class:`~snflow.tasks.ssh.SshError` that is not a timeout or a connection refusal;
    the last error is raised when ``attempts`` are spent."""
    for attempt in range(attempts):
        try:
            return action()
        except (CommandTimeout, ConnectError):
            raise
        except SshError:
            if attempt == attempts - 1:
                raise
            sleep(_BACKOFF * 2**attempt * random.uniform(0.5, 1.0))
    raise AssertionError("unreachable")


def _step_text(result: StepResult) -> str:
    if result.status is None:
        return "not run"
    return "ok" if result.ok else f"failed ({result.status})"


def _outcome(work: NodeWork, status: str, detail: str, steps: dict[str, str]) -> NodeOutcome:
    return NodeOutcome(
        node=work.node,
        old_sn=work.old_sn,
        new_sn=work.new_sn,
        changed=work.changed,
        status=status,  # type: ignore[arg-type]
        steps=steps,
        detail=detail,
    )


def _work_on_node(
    pool: SshPool,
    route: Route,
    work: NodeWork,
    env: NodeEnvironment,
    scripts: Mapping[str, bytes],
    settings: NodeRunSettings,
) -> NodeOutcome:
    steps = node_steps(work)
    if not steps:
        return _outcome(work, "done", "", {})
    program, token = runner_script(steps, scripts, postscript_env(env, work))
    try:
        pool.connect(route)
    except HostKeyError as exc:
        return _outcome(work, "failed", str(exc), {})
    except ConnectError as exc:
        return _outcome(work, "skipped", f"down: {exc}", {})

    def attempt() -> tuple[StepResult, ...]:
        result = pool.run(route, RUNNER_COMMAND, timeout=settings.command_timeout, stdin=program)
        if result.exit_status is None and result.outcome != "ok":
            raise SshError(f"{work.node}: {result.message}", work.node)
        return tuple(parse_runner_output(result.stdout_text, token, steps))

    try:
        results = retry_transient(attempt, settings.attempts)
    except SshError as exc:
        return _outcome(work, "failed", str(exc), {s.name: "not run" for s in steps})
    texts = {r.name: _step_text(r) for r in results}
    failed = [r for r in results if not r.ok]
    if not failed:
        return _outcome(work, "done", "", texts)
    first = failed[0]
    why = first.output.splitlines()[-1] if first.output else texts[first.name]
    return _outcome(work, "failed", f"{first.name}: {why}", texts)


@task(name="move-node-batch", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def run_node_batch(
    batch: RemoteBatch,
    works: Sequence[NodeWork],
    env: NodeEnvironment,
    routes: Mapping[str, Route],
    scripts: Mapping[str, bytes],
    settings: NodeRunSettings,
) -> list[NodeOutcome]:
    """The node work of ``batch`` (nodes behind one service node); one outcome per node."""
    res = run_resources(settings.fanout)
    by_node = {w.node: w for w in works}
    nodes = [n for n in batch.nodes if n in by_node]
    first = next((routes[n] for n in nodes if routes[n].via), None)
    if first is not None:
        sn = first.via[0]
        try:
            res.pool.connect(Route(target=sn))
        except ConnectError as exc:
            why = f"service node {sn.name} does not answer: {exc}"
            return [_outcome(by_node[n], "failed", why, {}) for n in nodes]

    def one(route: Route) -> NodeOutcome:
        return _work_on_node(res.pool, route, by_node[route.node], env, scripts, settings)

    def failed(route: Route, exc: Exception) -> NodeOutcome:
        return _outcome(by_node[route.node], "failed", str(exc) or repr(exc), {})

    return res.map(one, [routes[n] for n in nodes], on_error=failed)
