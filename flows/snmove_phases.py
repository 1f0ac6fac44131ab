"""The phases of an ``snmove`` flow run, each a short sequence of task calls.

Plan (one database read, the destinations probed, the pure planner) and Apply (one
transaction) for a new move; the node phase (batches behind each new service node) and the
Report phase shared by moves, resumes and undos. The services phase lives in
:mod:`snflow.flows.snmove_services`. Every function adds what it has to say to the
run's :class:`~snflow.models.snmove_request.SnmoveReport`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from prefect.futures import as_completed
from prefect.states import Completed, Failed, State
from prefect.utilities.annotations import quote

from snflow.models.journal import MoveRecord, NodeWork
from snflow.models.natsort import fold
from snflow.models.remote import batch_nodes
from snflow.models.routes import Route
from snflow.models.snmove import MESSAGES, MoveOptions, MovePlan, plan_move, render_plan
from snflow.models.snmove_read import NodeEnvironment
from snflow.models.snmove_request import NodeOutcome, SnmoveReport, SnmoveRequest
from snflow.tasks.artifacts import publish_report, start_progress, update_progress
from snflow.tasks.postscripts import load_postscripts
from snflow.tasks.snmove_db import (
    apply_move_plan,
    finish_run,
    read_cluster_state,
    record_node_status,
    wait_for_locks,
)
from snflow.tasks.snmove_nodes import NodeRunSettings, run_node_batch
from snflow.tasks.snmove_probe import probe_destinations

__all__ = ["MAX_BATCH", "Phases", "finish", "plan_and_apply", "work_on_nodes"]

#: Nodes per task run of the node phase (batches never mix service nodes).
MAX_BATCH = 256
_PLAN_ATTEMPTS = 20


class Phases:
    """Times each phase of the run into ``report.phases``."""

    def __init__(self, report: SnmoveReport) -> None:
        self.report = report
        self._start = time.monotonic()
        self._name: str | None = None

    def start(self, name: str) -> None:
        now = time.monotonic()
        if self._name is not None:
            phases = self.report.phases
            phases[self._name] = phases.get(self._name, 0.0) + now - self._start
        self._name, self._start = name, now

    def stop(self) -> None:
        self.start("")
        self.report.phases.pop("", None)


def _plan(request: SnmoveRequest, options: MoveOptions, report: SnmoveReport):  # type: ignore[no-untyped-def]
    """Plan phase: read, probe, plan; ``(plan, mark)`` or ``None`` when it cannot go on."""
    ctx, routes, local = read_cluster_state(options)
    report.task_runs += 1
    if ctx.errors:
        for text in ctx.errors:
            report.error(text)
        return None
    found, why = {}, {}
    if routes or local:
        found, why = probe_destinations(routes, local, request.fanout, request.node_timeout)
        report.task_runs += 1
    state = ctx.state.model_copy(update={"sn_interfaces": found})
    plan = plan_move(state, options, ctx.selected)
    for text in plan.errors:
        report.error(text)
    for sn, reason in why.items():  # the destination must answer, even with -D
        report.error(f"Service node {sn} does not answer: {reason}")
    if plan.errors or why:
        return None
    for text in plan.warnings:
        (report.error if MESSAGES["monserver"] in text else report.warning)(text)
    return _with_postscripts(plan, options, report), ctx.mark


def _with_postscripts(plan: MovePlan, options: MoveOptions, report: SnmoveReport) -> MovePlan:
    """Check that the postscripts exist: ``-P`` names must; with ``-P all`` the missing
    ones (xCAT-only scripts such as ``remoteshell``) are left out with a warning."""
    names = list(dict.fromkeys(s for p in plan.nodes for s in p.postscripts))
    if not names:
        return plan
    _, missing = load_postscripts(names)
    report.task_runs += 1
    if not missing:
        return plan
    if options.postscripts != "all":
        report.error(f"Could not find the postscripts {', '.join(missing)}; nothing was changed.")
        return plan.model_copy(update={"nodes": (), "errors": ("missing postscripts",)})
    report.warning(f"Postscripts not available, not run: {', '.join(missing)}")
    nodes = tuple(
        p.model_copy(update={"postscripts": tuple(s for s in p.postscripts if s not in missing)})
        for p in plan.nodes
    )
    return plan.model_copy(update={"nodes": nodes})


def plan_and_apply(
    request: SnmoveRequest, report: SnmoveReport, phases: Phases, flow_run_id: str
) -> list[NodeWork] | None:
    """Plan the move and write it (waiting for other moves' nodes if asked); the nodes' work.

    ``None``: nothing was written (errors, dry run); ``[]``: nothing to move.
    """
    options = request.move_options()
    report.info(MESSAGES["moving"])
    deadline = time.monotonic() + request.lock_wait
    for _ in range(_PLAN_ATTEMPTS):
        phases.start("plan")
        planned = _plan(request, options, report)
        if planned is None:
            return None
        plan, mark = planned
        if plan.errors:
            return None
        report.plan = render_plan(plan)
        report.nodes = [
            NodeOutcome(
                node=p.node,
                old_sn=p.old_sn,
                new_sn=p.new_sn,
                changed=tuple(f"{c.table}.{c.column}" for c in p.changes),
                status="planned",
            )
            for p in plan.nodes
        ]
        if request.dry_run:
            return None
        if not plan.nodes:
            busy = wait_for_locks(plan.skipped, request.lock_wait, flow_run_id)
            report.task_runs += 1
            if busy:  # "nothing to move" is only true once the other move is over
                report.error(busy)
                return None
            for line in report.plan:
                report.info(line)
            report.plan = []
            return []
        phases.start("apply")
        report.info("Setting new values in the xCAT database.")
        record = MoveRecord(run_id=flow_run_id, kind="move", request=request.model_dump_json())
        applied = apply_move_plan(record, plan, mark, flow_run_id)
        report.task_runs += 1
        if applied.stale:
            continue
        if not applied.locked:
            return applied.works
        remaining = deadline - time.monotonic()
        nodes = [*(p.node for p in plan.nodes), *plan.skipped]
        if remaining <= 0 or wait_for_locks(nodes, remaining, flow_run_id):
            report.error(applied.locked)
            report.nodes = []
            return None
        report.task_runs += 1
        report.info("The nodes are free again: planning again.")
    report.error("the nodes kept changing under this move; nothing was changed")
    return None


def work_on_nodes(
    request: SnmoveRequest,
    report: SnmoveReport,
    works: Sequence[NodeWork],
    journal_run: str,
    context: tuple[NodeEnvironment, dict[str, Route]],
) -> list[NodeOutcome]:
    """Node phase: batches behind each new service node; statuses recorded per batch."""
    env, routes = context
    if any(w.gateway for w in works):
        report.info("Checking the default routes on the nodes.")
    if any(w.run_on_node for w in works):
        report.info("Running postscripts on the nodes.")
    names = sorted({s for w in works for s in w.scripts} | {"snflow-xcatinfo", "snflow-gateway"})
    scripts, _ = load_postscripts(names)
    report.task_runs += 1
    settings = NodeRunSettings(fanout=request.fanout, command_timeout=request.command_timeout)
    batches = batch_nodes({w.node: w.new_sn for w in works}, max_batch=MAX_BATCH)
    progress = start_progress(f"snmove: work on {len(works)} nodes")
    # Each batch gets its own nodes' work and routes; the shared inputs are quoted so that
    # Prefect does not walk thousands of models per batch looking for futures (none).
    by_node = {w.node: w for w in works}
    futures = [
        run_node_batch.submit(
            b,
            quote([by_node[n] for n in b.nodes]),
            quote(env),
            quote({n: routes[n] for n in b.nodes if n in routes}),
            quote(scripts),
            settings,
        )
        for b in batches
    ]
    outcomes: list[NodeOutcome] = []
    for future in as_completed(futures):
        batch = future.result()
        record_node_status(journal_run, [(o.node, o.status, o.detail) for o in batch])
        outcomes += batch
        update_progress(progress, len(outcomes), len(works))
    report.task_runs += 2 * len(batches)
    return outcomes


def finish(
    report: SnmoveReport,
    journal_run: str | None,
    flow_run_id: str,
    services_state: str | None,
) -> State:
    """Report phase: artifacts, the run's end in the journal (locks released), the state."""
    failed = report.failed_nodes
    bad_services = report.failed_services
    ok = not failed and not bad_services and not report.errors
    if journal_run is not None:
        state = "completed" if not failed and not bad_services else "failed"
        notes = "; ".join(report.summary()[:5])
        finish_run(journal_run, flow_run_id, state, services_state, notes)
        report.task_runs += 1
    report.task_runs += 1  # publish-report, below
    title = f"snmove {report.kind}" + (f" of {report.target_run}" if report.target_run else "")
    publish_report("snmove", title, report.summary() + report.plan[:50], report.table())
    if failed or bad_services:
        what = []
        if failed:
            what.append(f"failed on {fold(failed)}")
        if bad_services:
            what.append("services failed on " + fold(s.host for s in bad_services))
        return Failed(message="; ".join(what), data=report)
    if report.errors and journal_run is None:
        return Failed(message=report.errors[0], data=report)
    done = [n.node for n in report.nodes if n.status == "done"]
    message = f"{len(done)} nodes moved" if ok else "; ".join(report.errors)
    if report.skipped_nodes:
        message += f"; skipped (down): {fold(report.skipped_nodes)}"
    return Completed(message=message or "nothing to do", data=report)
