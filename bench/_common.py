"""What the benchmarks share: peak RSS, a free port, the task runs a server recorded.

Imported by the scripts of this folder (run as ``python bench/NAME.py``, which puts this
folder first on ``sys.path``).
"""

from __future__ import annotations

import resource
import socket
import time

__all__ = ["count_task_runs", "free_port", "rss_mb"]


def rss_mb() -> float:
    """Peak resident memory of this process, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def count_task_runs(flow_run_id: object, expected: int, wait: float = 15.0) -> int:
    """Task runs the server recorded for the flow run. They arrive as events, a little
    after the run ends: poll until ``expected`` arrive or ``wait`` seconds pass."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + wait
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))  # type: ignore[list-item]
            )
            if len(runs) >= expected or time.monotonic() > deadline:
                return len(runs)
            time.sleep(0.2)  # polling the server, bounded by the deadline


def stop_prefect() -> None:
    """Send what Prefect still holds (logs, events) to the server, then stop snflow's
    local server of this benchmark."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    from snflow.deployments import local

    APILogWorker.drain_all(timeout=10)
    EventsWorker.drain_all(timeout=10)
    local.stop_server()
