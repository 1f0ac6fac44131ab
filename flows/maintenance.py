"""``maintenance-window``: take over an SN's nodes, wait for the administrator, switch back.

1. **Takeover**: ``snmove -s SN`` (a subflow run, holding the global ``snmove`` slot).
2. **Pause**: the run waits, Paused, with a form in the UI ("SN is back"); the administrator
   resumes it there or through the API (``POST /flow_runs/{id}/resume`` with
   ``{"run_input": {"sn_is_back": true}}``). At the deadline the run resumes itself, as if
   told the SN is back: the switch-back then checks that the SN answers and refuses
   otherwise, leaving the nodes safely on the backup.
3. **Switch-back**: ``snmove <moved nodes> -d SN`` (holding the slot again).

The slot is not held while paused: other moves may run during a long window. A dry run
shows both plans and does not pause.
"""

from __future__ import annotations

import logging
import threading
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.flow_runs import pause_flow_run, resume_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State
from pydantic import Field

from snflow.flows.snmove import snmove
from snflow.models.maintenance import MaintenanceRequest, switch_back_request, takeover_request
from snflow.models.natsort import fold
from snflow.models.snmove_request import SnmoveReport, SnmoveRequest
from snflow.tasks.artifacts import publish_report
from snflow.tasks.limits import move_slot

__all__ = ["WindowEnd", "maintenance_window"]

#: Seconds the pause outlives the deadline (if the run could not resume itself then, the
#: pause expires and the run fails; the nodes stay on the backup).
_GRACE = 600
_POLL = 3
_log = logging.getLogger(__name__)


class WindowEnd(RunInput):
    """The form shown on the paused run: the administrator ends the window."""

    sn_is_back: bool = Field(
        default=True,
        description="The service node is back: switch its nodes back now. Untick to leave "
        "them on the backup (switch back later with the switch-back deployment).",
    )
    note: str = Field(default="", description="A note kept in the run's history.")


def _move(request: SnmoveRequest) -> tuple[State, SnmoveReport | None]:
    with move_slot():
        state = snmove(request, return_state=True)
    report = state.result(raise_on_failure=False)
    return state, report if isinstance(report, SnmoveReport) else None


def _resume_at_deadline(run_id: UUID, fired: threading.Event) -> None:
    """Timer body: end the window as if the administrator said the SN is back."""
    fired.set()
    try:
        resume_flow_run(run_id, run_input={"sn_is_back": True, "note": "deadline reached"})
    except Exception:  # already resumed by the administrator, or the server is away
        _log.warning("could not resume run %s at the deadline", run_id, exc_info=True)


def _wait_for_window_end(deadline_minutes: float) -> WindowEnd:
    """Pause until resumed with the form, or the deadline."""
    seconds = deadline_minutes * 60
    fired = threading.Event()
    timer = threading.Timer(seconds, _resume_at_deadline, (UUID(flow_run.get_id()), fired))
    timer.daemon = True
    timer.start()
    try:
        answer = pause_flow_run(
            wait_for_input=WindowEnd,
            timeout=int(seconds) + _GRACE,
            poll_interval=_POLL,
            key="window-end",
        )
    finally:
        timer.cancel()
    if fired.is_set():
        get_run_logger().info("Deadline reached: switching back if the SN answers.")
    return answer


@flow(
    name="maintenance-window",
    description="Take over a service node's nodes, wait until the administrator says the SN "
    "is back (or the deadline), then switch them back.",
    validate_parameters=True,
)
def maintenance_window(request: MaintenanceRequest) -> State:
    """The window, as the procedure: takeover, wait, switch-back."""
    sn = request.service_node
    lines: list[str] = []
    state, report = _move(takeover_request(request))
    moved = [n.node for n in report.nodes] if report else []
    lines.append(f"takeover of {sn}'s nodes: {state.name}: {state.message}")
    if not moved or request.dry_run:
        publish_report("maintenance-window", f"maintenance window of {sn}", lines, [])
        if not moved:
            return Failed(message=f"takeover of {sn}: {state.message}", data=report)
        return Completed(message=f"dry run: {fold(moved)} would move away from {sn} and back")
    # A takeover that failed on some nodes still moved them in the database: the window goes
    # on (the SN is going away), and the run ends Failed to say so.
    takeover_failed = state.message if state.is_failed() else ""
    answer = _wait_for_window_end(request.deadline_minutes)
    lines.append(f"window ended: sn_is_back={answer.sn_is_back} {answer.note}".rstrip())
    if not answer.sn_is_back:
        lines.append(f"{fold(moved)} stay on the backup")
        publish_report("maintenance-window", f"maintenance window of {sn}", lines, [])
        return Completed(message=f"{fold(moved)} left on the backup, as asked")
    back_state, back = _move(switch_back_request(request, moved))
    lines.append(f"switch-back to {sn}: {back_state.name}: {back_state.message}")
    rows = (
        [{"node": n.node, "now on": n.new_sn, "status": n.status} for n in back.nodes]
        if back
        else []
    )
    publish_report("maintenance-window", f"maintenance window of {sn}", lines, rows)
    if back_state.is_failed() or takeover_failed:
        problems = [f"takeover: {takeover_failed}"] if takeover_failed else []
        if back_state.is_failed():
            problems.append(f"switch-back to {sn}: {back_state.message}")
        return Failed(message="; ".join(problems), data=back)
    return Completed(message=f"{fold(moved)} moved away from {sn} and back", data=back)
