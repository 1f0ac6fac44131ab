"""The global ``snmove`` concurrency limit: one node move at a time on the Prefect server.

Runs started from deployments (UI, schedules, API, automations) hold one slot of the
server's global concurrency limit ``snmove`` while they move nodes; a second move waits
for the first. ``strict``: if the limit does not exist (``snflow serve`` creates it), the
move fails at once instead of running unguarded. A transient failure to renew the slot's
lease does not interrupt a move half-way (the node locks in the database still protect
the nodes).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefect.concurrency.sync import concurrency

__all__ = ["MOVE_LIMIT", "move_slot"]

#: Name of the global concurrency limit every deployed move holds.
MOVE_LIMIT = "snmove"


@contextmanager
def move_slot(timeout: float | None = None) -> Iterator[None]:
    """Hold the ``snmove`` slot for the block (waiting up to ``timeout`` s; None: as needed)."""
    with concurrency(
        MOVE_LIMIT,
        occupy=1,
        timeout_seconds=timeout,
        strict=True,
        raise_on_lease_renewal_failure=False,
    ):
        yield
