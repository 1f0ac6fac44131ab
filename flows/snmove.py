"""``snmove``: move compute nodes to their backup service node (takeover), and back.

One flow run per move, reading like the procedure:

1. **Plan**: one database read, the destination service nodes asked for their addresses,
   the pure planner; every error collected, nothing written if any node cannot be planned.
2. **Apply**: one transaction: node-level values, a journal entry per attribute, node locks.
3. **Services**, in parallel: consoles, DHCP entries and boot files for the moved nodes.
4. **Nodes** that are up, in batches behind each new service node: xcatinfo, gateway,
   postscripts; nodes that are down are skipped and finished later by ``resume``.
5. **Report**: a markdown summary, a per-node table, the run's end in the journal.

``resume`` finishes an earlier run from its journal (only the nodes not done); ``undo``
restores an earlier run's journaled old values, then re-runs services and node work.
Task runs grow with phases and service-node batches, never with nodes.
"""

from __future__ import annotations

import uuid

from prefect import flow
from prefect.runtime import flow_run
from prefect.states import State
from prefect.task_runners import ThreadPoolTaskRunner

from snflow.flows.snmove_phases import Phases, finish, plan_and_apply, work_on_nodes
from snflow.flows.snmove_services import configure_services
from snflow.models.errors import SnflowError
from snflow.models.journal import MoveRecord, NodeWork
from snflow.models.natsort import fold
from snflow.models.settings import get_settings
from snflow.models.snmove_request import NodeOutcome, SnmoveReport, SnmoveRequest
from snflow.tasks.runtime import run_resources, run_scope
from snflow.tasks.snmove_db import apply_undo_run, load_run, read_node_context, take_over_run

__all__ = ["snmove"]


def _flow_run_id() -> str:
    return str(flow_run.get_id() or uuid.uuid4())


def _resume(
    request: SnmoveRequest, report: SnmoveReport, flow_run_id: str
) -> tuple[MoveRecord, list[NodeWork], list[NodeWork]]:
    """What is left of an earlier run: its services unless done, its nodes not done."""
    record, _, works = load_run(request.resume or "")
    report.task_runs += 1
    report.kind, report.target_run, report.run_id = "resume", record.run_id, record.run_id
    left = [w for w in works if w.status != "done"]
    services = works if record.services != "done" else left
    if not services:
        report.info(f"Run {record.run_id} is complete: nothing left to do.")
        return record, [], []
    nodes = [w.node for w in services]
    report.plan = [f"{fold(w.node for w in left)}: work on the nodes"] if left else []
    if request.dry_run:
        return record, [], []
    take_over_run(record.run_id, nodes, flow_run_id)
    report.task_runs += 1
    report.info(f"Finishing run {record.run_id} on {fold(nodes)}.")
    return record, services, left


def _undo(request: SnmoveRequest, report: SnmoveReport, flow_run_id: str) -> list[NodeWork]:
    """Restore the journaled old values of an earlier run; the nodes' work afterwards."""
    target, entries, works = load_run(request.undo or "")
    report.task_runs += 1
    report.kind, report.target_run = "undo", target.run_id
    report.plan = [
        f"{e.node}: {e.table}.{e.column}: {e.new or '(unset)'} -> {e.old or '(unset)'}"
        for e in entries
    ]
    if request.dry_run:
        return []
    report.info(f"Undoing run {target.run_id}: setting the old values in the xCAT database.")
    record = MoveRecord(
        run_id=flow_run_id,
        kind="undo",
        target_run=target.run_id,
        request=request.model_dump_json(),
    )
    undone = apply_undo_run(record, entries, works, flow_run_id)
    report.task_runs += 1
    return undone


def _outcomes(works: list[NodeWork]) -> list[NodeOutcome]:
    return [
        NodeOutcome(node=w.node, old_sn=w.old_sn, new_sn=w.new_sn, changed=w.changed) for w in works
    ]


@flow(
    name="snmove",
    description="Move compute nodes to their backup service node (xCAT snmove), or back; "
    "resume or undo an earlier move.",
    task_runner=ThreadPoolTaskRunner(max_workers=16),
    validate_parameters=True,
)
def snmove(request: SnmoveRequest) -> State:
    """Take over (or switch back) the nodes of ``request``; see the module's docstring."""
    flow_run_id = _flow_run_id()
    report = SnmoveReport(run_id=flow_run_id, dry_run=request.dry_run)
    phases = Phases(report)
    journal_run: str | None = None
    services_state: str | None = None
    with run_scope():
        ssh = get_settings().ssh
        fast = ssh.model_copy(update={"connect_timeout": request.node_timeout})
        run_resources(request.fanout, get_settings().model_copy(update={"ssh": fast}))
        try:
            if request.resume:
                phases.start("plan")
                record, works, on_nodes = _resume(request, report, flow_run_id)
                journal_run = record.run_id if works else None
            elif request.undo:
                phases.start("apply")
                works = on_nodes = _undo(request, report, flow_run_id)
                journal_run = flow_run_id if works else None
                report.run_id = flow_run_id
            else:
                works = on_nodes = plan_and_apply(request, report, phases, flow_run_id) or []
                journal_run = flow_run_id if works else None
            if works and journal_run:
                report.nodes = _outcomes(on_nodes)
                phases.start("services")
                context = read_node_context([w.node for w in works])
                report.task_runs += 1
                master = context[0].site.get("master", "")
                services_state = configure_services(report, works, master, flow_run_id)
                phases.start("nodes")
                if on_nodes:
                    done = work_on_nodes(request, report, on_nodes, journal_run, context)
                    outcomes = {o.node: o for o in done}
                    report.nodes = [outcomes.get(n.node, n) for n in report.nodes]
        except SnflowError as exc:
            report.error(str(exc))
        phases.start("report")
        state = finish(report, journal_run, flow_run_id, services_state)
        phases.stop()
    return state
