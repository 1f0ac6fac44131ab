"""What the tasks of one flow run share: one SSH pool and one fanout limit.

Task inputs must be plain data (Prefect hashes and records them), so connections cannot
be passed between tasks. Instead every task of a flow run asks :func:`run_resources`
for the run's SSH pool (one connection per host for the whole run) and its fanout
semaphore (the limit holds across concurrent batch tasks). The flow releases them with
:func:`release_run_resources` when it ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from snflow.models.settings import Settings
from snflow.tasks.ssh import SshPool

__all__ = ["RunResources", "release_run_resources", "run_resources", "run_scope"]


@dataclass
class RunResources:
    """The SSH pool and fanout semaphore of one flow run."""

    pool: SshPool
    fanout: threading.BoundedSemaphore
    limit: int


_lock = threading.Lock()
_runs: dict[str, RunResources] = {}


def _run_id() -> str:
    from prefect.runtime import flow_run

    return str(flow_run.get_id() or "no-flow-run")


def run_resources(fanout: int, settings: Settings | None = None) -> RunResources:
    """This flow run's resources (created by the first caller, with its ``settings`` for
    the pool: a flow wanting e.g. shorter SSH timeouts asks first, in its body)."""
    key = _run_id()
    with _lock:
        res = _runs.get(key)
        if res is None:
            res = RunResources(
                pool=SshPool(settings), fanout=threading.BoundedSemaphore(fanout), limit=fanout
            )
            _runs[key] = res
        return res


def release_run_resources() -> None:
    """Close this flow run's connections (best effort; safe to call twice)."""
    with _lock:
        res = _runs.pop(_run_id(), None)
    if res is not None:
        res.pool.close()


@contextmanager
def run_scope() -> Iterator[None]:
    """Release the run's resources when the flow body ends, however it ends."""
    try:
        yield
    finally:
        release_run_resources()
