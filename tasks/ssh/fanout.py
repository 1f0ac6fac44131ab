"""Work on many nodes at once over one :class:`~snflow.tasks.ssh.pool.SshPool`, at most
``fanout`` at a time (xCAT's ``-f``).

A node that fails (unreachable, host key refused, timed out, connection lost) becomes a
failed result carrying the message; it never stops the other nodes. Results come back in
the order of the routes given. Not here: connections (the pool), output folding and
reports (:mod:`snflow.models.remote`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TypeVar

from snflow.models.routes import Route
from snflow.models.settings import get_settings
from snflow.tasks.ssh.errors import CommandTimeout, ConnectError, SshError
from snflow.tasks.ssh.pool import CommandResult, SshPool

__all__ = ["failed_result", "map_routes", "run_many"]

T = TypeVar("T")
_log = logging.getLogger(__name__)


def _as_list(routes: Mapping[str, Route] | Iterable[Route]) -> list[Route]:
    return list(routes.values()) if isinstance(routes, Mapping) else list(routes)


def map_routes(
    fn: Callable[[Route], T],
    routes: Mapping[str, Route] | Iterable[Route],
    fanout: int | None = None,
    on_error: Callable[[Route, Exception], T] | None = None,
    executor: Executor | None = None,
) -> list[T]:
    """``fn(route)`` for every route, ``fanout`` at a time (default ``settings.fanout``),
    in the routes' order. An exception from ``fn`` goes to ``on_error(route, exc)``, whose
    value takes its place (without ``on_error`` it is raised after all have finished).
    With ``executor``, the work goes to it (its size is the limit; ``fanout`` is unused)."""
    items = _as_list(routes)
    if not items:
        return []

    def call(route: Route) -> T:
        try:
            return fn(route)
        except Exception as exc:
            if on_error is None:
                raise
            return on_error(route, exc)

    if executor is not None:
        return [f.result() for f in [executor.submit(call, route) for route in items]]
    workers = max(1, min(fanout or get_settings().fanout, len(items)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="snflow-ssh") as pool:
        futures = [pool.submit(call, route) for route in items]
        return [f.result() for f in futures]


def failed_result(route: Route, exc: Exception) -> CommandResult:
    """The result standing for a node where the command could not run to the end."""
    if isinstance(exc, CommandTimeout):
        return CommandResult(
            node=route.node,
            outcome="timeout",
            stdout=exc.stdout,
            stderr=exc.stderr,
            via=exc.via,
            message=str(exc),
        )
    if isinstance(exc, ConnectError):
        return CommandResult(node=route.node, outcome="unreachable", message=str(exc))
    if not isinstance(exc, SshError):
        _log.warning("unexpected error on %s", route.node, exc_info=exc)
    return CommandResult(node=route.node, outcome="failed", message=str(exc) or repr(exc))


def run_many(
    pool: SshPool,
    routes: Mapping[str, Route] | Iterable[Route],
    command: str | Callable[[Route], str],
    fanout: int | None = None,
    timeout: float | None = None,
    stdin: bytes | None = None,
) -> list[CommandResult]:
    """Run ``command`` (or ``command(route)``, for per-node command lines) on every route's
    node, ``fanout`` at a time (default: the pool's ``settings.fanout``), each limited to
    ``timeout`` seconds (default ``ssh.command_timeout``); one result per route, in order.
    Failures are results (:func:`failed_result`), never exceptions."""

    def one(route: Route) -> CommandResult:
        line = command(route) if callable(command) else command
        return pool.run(route, line, timeout=timeout, stdin=stdin)

    return map_routes(one, routes, fanout or pool.settings.fanout, on_error=failed_result)
