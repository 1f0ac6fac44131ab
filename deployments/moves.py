"""The ``snmove`` flow as deployments serve it: the same flow, holding the global limit.

``snflow snmove`` (the CLI) runs :func:`snflow.flows.snmove.snmove` directly; runs started
from the UI, a schedule, the API or an automation run this flow, also named ``snmove`` (one
flow in the run history), which holds the server's ``snmove`` concurrency slot
(``strict``) around the very same body. The ``snmove`` and ``switch-back`` deployments both
serve it, with their own descriptions and dry run on in their forms.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.states import State
from prefect.task_runners import ThreadPoolTaskRunner

from snflow.flows.snmove import snmove as snmove_flow
from snflow.models.snmove_request import SnmoveRequest
from snflow.tasks.limits import move_slot

__all__ = ["snmove", "takeover_parameters"]


@flow(
    name="snmove",
    description="Move compute nodes to their backup service node (xCAT snmove), or back "
    "(switch-back: noderange and -d the original SN); resume or undo an earlier move. "
    "One move at a time (global concurrency limit 'snmove').",
    task_runner=ThreadPoolTaskRunner(max_workers=16),
    validate_parameters=True,
)
def snmove(request: SnmoveRequest) -> State:
    """Move the nodes of ``request`` while holding the ``snmove`` slot."""
    with move_slot():
        return snmove_flow.fn(request)


def takeover_parameters(service_node: str) -> dict[str, Any]:
    """Deployment parameters that take over every node of ``service_node`` for real
    (``snmove -s SN``: each node to its backup). ``service_node`` may be a template that
    the server renders when an automation fires."""
    return {"request": {"source": service_node, "dry_run": False}}
