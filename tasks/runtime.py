"""What the tasks of one flow run share: one SSH pool and one fanout of worker threads.

Task inputs must be plain data (Prefect hashes and records them), so connections cannot
be passed between tasks. Instead every task of a flow run asks :func:`run_resources`
for the run's SSH pool (one connection per host for the whole run) and its node workers:
one thread pool of ``fanout`` threads that every concurrent batch task hands its nodes
to, so the limit holds across batches and a run has ``fanout`` node threads, not
``fanout`` per batch (four batches of 64 threads waiting on one semaphore cost a seventh
of an ``xdsh`` of 512 nodes in thread switches). The flow releases them with
:func:`release_run_resources` when it ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from snflow.models.routes import Route
from snflow.models.settings import Settings
from snflow.tasks.ssh import SshPool, map_routes

T = TypeVar("T")

__all__ = ["RunResources", "release_run_resources", "run_resources", "run_scope"]


@dataclass
class RunResources:
    """The SSH pool and node workers of one flow run."""

    pool: SshPool
    limit: int
    workers: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        self.workers = ThreadPoolExecutor(max_workers=self.limit, thread_name_prefix="snflow-node")

    def map(
        self,
        fn: Callable[[Route], T],
        routes: Mapping[str, Route] | Iterable[Route],
        on_error: Callable[[Route, Exception], T] | None = None,
    ) -> list[T]:
        """``fn(route)`` for every route on the run's node workers (at most ``limit`` at
        once across the run), in the routes' order; see
        :func:`~snflow.tasks.ssh.fanout.map_routes`. ``fn`` must not call ``map`` itself
        (it would wait for a worker that it holds)."""
        return map_routes(fn, routes, on_error=on_error, executor=self.workers)

    def close(self) -> None:
        self.workers.shutdown(wait=True)
        self.pool.close()


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
            res = RunResources(pool=SshPool(settings), limit=fanout)
            _runs[key] = res
        return res


def release_run_resources() -> None:
    """Close this flow run's connections (best effort; safe to call twice)."""
    with _lock:
        res = _runs.pop(_run_id(), None)
    if res is not None:
        res.close()


@contextmanager
def run_scope() -> Iterator[None]:
    """Release the run's resources when the flow body ends, however it ends."""
    try:
        yield
    finally:
        release_run_resources()
