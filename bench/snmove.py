"""Benchmark: snmove takeover of 1,000 virtual nodes (4 SNs), and plan+apply of 10,000.

**Takeover** (virtual cluster, 4 SNs, 1,000 CNs, fanout 64): the services are prepared
as before a failure (``makedhcp -n``, ``makedhcp compute``, ``nodeset compute``,
``makeconservercf``). Then, from the same node files each time:

* the **bare script**: the same SSH work as the flow's, with snflow's SSH layer and a
  thread pool but no Prefect and no database work: each destination SN asked for its
  addresses (``ip -o addr``), the console, DHCP and boot files installed on the service
  hosts by the same functions, and per node, through its new SN, the same program
  (xcatinfo, gateway, syslog, setupntp, mkresolvconf). The database change it needs is
  made before the clock starts and undone after.
* the **flow**: ``snmove compute`` (every node to its backup), one flow run: wall time,
  time per phase, task runs the server recorded, peak RSS; ratio flow / bare (target
  <= 1.3).

**Plan + apply** of 10,000 nodes (4 SNs) on SQLite and PostgreSQL: the one database read,
the pure planner (the SNs' interfaces given, as the probe returns them) and the one
transaction (node rows, journal, node rows of the move, locks); target < 3 s, judged on
the median of ``--repeat`` runs (this machine's timings vary by ±20 % run to run).

Run: ``.venv/bin/python bench/snmove.py [--nodes 1000] [--plan-nodes 10000]
[--repeat 3] [--backend sqlite|postgres|both] [--skip-takeover] [--skip-plan]``.
Everything runs in a temporary directory with its own virtual cluster, Prefect server and databases.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import count_task_runs, free_port, rss_mb, stop_prefect

ROOT = Path(__file__).resolve().parent.parent
FANOUT = 64


def run_cli(*words: str) -> None:
    from snflow.cli.main import app

    code = app(list(words), prog_name="snflow", standalone_mode=False)
    if code:
        raise SystemExit(f"snflow {' '.join(words)} failed ({code})")


# --- the bare script -------------------------------------------------------------------------
def db_move(noderange: str, sim_interfaces: dict) -> tuple[str, list]:  # type: ignore[type-arg]
    """Make the takeover's database change (untimed); its run id and node work."""
    from snflow.models import db
    from snflow.models.journal import MoveRecord
    from snflow.models.snmove import MoveOptions, plan_move
    from snflow.models.snmove_apply import Holder, apply_move
    from snflow.models.snmove_read import read_move_state

    options = MoveOptions.create(noderange=noderange)
    with db.read_connection() as conn:
        ctx = read_move_state(conn, options)
    state = ctx.state.model_copy(update={"sn_interfaces": sim_interfaces})
    plan = plan_move(state, options, ctx.selected)
    assert not plan.errors, plan.errors
    run_id = f"bare-{time.monotonic_ns()}"
    holder = Holder(holder=run_id, host="bench", pid=os.getpid(), alive=lambda _: True)
    with db.transaction() as conn:
        works = apply_move(conn, MoveRecord(run_id=run_id, kind="move", request="{}"), plan,
                           ctx.mark, holder)  # fmt: skip
    return run_id, works


def db_undo(run_id: str) -> list:  # type: ignore[type-arg]
    from snflow.models import db
    from snflow.models.journal import MoveRecord, load_entries, load_work
    from snflow.models.locks import release_locks
    from snflow.models.snmove_apply import Holder, apply_undo

    holder = Holder(holder=run_id, host="bench", pid=os.getpid(), alive=lambda _: True)
    with db.transaction() as conn:
        record = MoveRecord(run_id=f"undo-{run_id}", kind="undo", target_run=run_id, request="{}")
        works = apply_undo(conn, record, load_entries(conn, run_id), load_work(conn, run_id),
                           holder)  # fmt: skip
        release_locks(conn, run_id)
    return works


def bare_ssh_work(works: list, destinations: list[str]) -> float:  # type: ignore[type-arg]
    """The flow's SSH work, timed: probe, services, every node's program."""
    from snflow.flows.snmove_services import service_jobs, service_scope
    from snflow.models import db
    from snflow.models.cluster import ClusterView
    from snflow.models.natsort import fold
    from snflow.models.snmove_read import read_node_environment
    from snflow.models.snmove_runner import (
        RUNNER_COMMAND,
        node_steps,
        postscript_env,
        runner_script,
    )
    from snflow.tasks.postscripts import find_postscripts
    from snflow.tasks.servicestate import read_service_context
    from snflow.tasks.ssh import SshPool, routes_for

    nodes = [w.node for w in works]
    with db.read_connection() as conn:  # what the flow reads, outside the clock as well
        env = read_node_environment(conn, nodes)
        view = ClusterView(conn)
        routes = routes_for(view, nodes)
        sn_routes = routes_for(view, destinations)
    routes = {n: r.model_copy(update={"via": r.via[:1]}) for n, r in routes.items()}
    scope = service_scope(works, env.site.get("master", ""))
    context = read_service_context.fn(fold({*scope[0], *scope[1]}))
    jobs = service_jobs(context, scope, "bench", [])
    names = {s for w in works for s in w.scripts} | {"snflow-xcatinfo", "snflow-gateway"}
    scripts, _ = find_postscripts(sorted(names))
    programs = {
        w.node: runner_script(node_steps(w), scripts, postscript_env(env, w))[0] for w in works
    }
    start = time.perf_counter()
    with SshPool() as pool, ThreadPoolExecutor(max_workers=FANOUT) as threads:
        probes = list(threads.map(lambda r: pool.run(r, "ip -o addr"), sn_routes.values()))
        done = list(threads.map(lambda j: j.task.fn(j.job), jobs))
        results = list(
            threads.map(lambda n: pool.run(routes[n], RUNNER_COMMAND, stdin=programs[n]), nodes)
        )
    wall = time.perf_counter() - start
    assert all(p.ok for p in probes), "bare script: a probe failed"
    assert all(r.outcome != "failed" for r in done), "bare script: a service failed"
    failed = [r.node for r in results if not r.ok]
    assert not failed, f"bare script: nodes failed: {failed[:5]}"
    return wall


def takeover(home: Path, nodes: int) -> None:
    from snflow.cli._flowrun import use_prefect
    from snflow.sim import SimCluster

    sim = SimCluster.up(home, service_nodes=4, nodes=nodes)
    try:
        use_prefect()
        for words in (("makedhcp", "-n"), ("makedhcp", "compute"), ("nodeset", "compute"),
                      ("makeconservercf",)):  # fmt: skip
            run_cli(*words)
        from snflow.flows.snmove import snmove
        from snflow.models import db
        from snflow.models.cluster import ClusterView
        from snflow.models.snmove import parse_ip_addr
        from snflow.models.snmove_request import SnmoveRequest
        from snflow.tasks.ssh import SshPool, routes_for

        sns = [h.name for h in sim.layout.service_nodes]
        with db.read_connection() as conn:
            sn_routes = routes_for(ClusterView(conn), sns)
        with SshPool() as pool:  # the SNs' interfaces, for the untimed database change
            found = {sn: parse_ip_addr(pool.run(sn_routes[sn], "ip -o addr").stdout_text)
                     for sn in sns}  # fmt: skip
        # Warm-up: a takeover and a switch-back of the node files by the bare script.
        run_id, works = db_move("compute", found)
        bare_ssh_work(works, sns)
        bare_ssh_work(db_undo(run_id), sns)
        # The bare script, timed, then back to the same starting point.
        run_id, works = db_move("compute", found)
        bare = bare_ssh_work(works, sns)
        bare_ssh_work(db_undo(run_id), sns)
        # The flow, from the same node files and database.
        start = time.perf_counter()
        state = snmove(SnmoveRequest(noderange="compute", fanout=FANOUT), return_state=True)
        wall = time.perf_counter() - start
        report = state.result(raise_on_failure=False)
        assert state.is_completed(), state.message
        recorded = count_task_runs(state.state_details.flow_run_id, report.task_runs)
        print(f"\n== takeover: {nodes:,} nodes, 4 SNs, fanout {FANOUT}")
        print(f"  flow (snmove compute)     {wall:7.2f} s")
        for phase, seconds in report.phases.items():
            print(f"    {phase:<10}              {seconds:7.2f} s")
        print(f"  bare script (same SSH)    {bare:7.2f} s")
        print(f"  ratio flow / bare         {wall / bare:7.2f}     (target <= 1.3)")
        print(f"  task runs in the flow run {recorded:7d}     (counted by the flow: "
              f"{report.task_runs})")  # fmt: skip
        print(f"  nodes moved               {len(report.nodes):7d}")
        print(f"  peak RSS                  {rss_mb():7.0f} MB")
    finally:
        sim.down()


# --- plan + apply -----------------------------------------------------------------------------
def plan_apply(name: str, new_database: Callable[[int], str], nodes: int, repeat: int) -> None:
    from snflow.models import db
    from snflow.models.journal import MoveRecord
    from snflow.models.snmove import Interface, MoveOptions, plan_move
    from snflow.models.snmove_apply import Holder, apply_move
    from snflow.models.snmove_read import read_move_state
    from snflow.sim.database import write_cluster
    from snflow.sim.layout import plan_layout

    layout = plan_layout(4, nodes)
    interfaces = {
        sn.name: (
            Interface(address=sn.address, prefixlen=16, ifname="eth0"),
            Interface(address=sn.b_address or "", prefixlen=16, ifname="eth1"),
        )
        for sn in layout.service_nodes
    }
    options = MoveOptions.create(noderange="compute")
    holder = Holder(holder="bench", host="bench", pid=os.getpid(), alive=lambda _: True)
    print(f"\n== plan + apply: {nodes:,} nodes on {name} ({repeat} runs, each on a fresh cluster)")
    print(f"  {'run':<5}{'read':>8}{'plan':>8}{'apply':>8}{'total':>8}   (seconds)")
    totals = []
    for run in range(1, repeat + 1):
        url = new_database(run)
        with db.transaction(url) as conn:
            write_cluster(conn, layout, force=True)
        db.dispose_engines()
        # The set-up's garbage is not the move's: collect it before the clock starts.
        gc.collect()
        start = time.perf_counter()
        with db.read_connection(url) as conn:
            ctx = read_move_state(conn, options)
        read = time.perf_counter()
        state = ctx.state.model_copy(update={"sn_interfaces": interfaces})
        plan = plan_move(state, options, ctx.selected)
        planned = time.perf_counter()
        assert not plan.errors and len(plan.nodes) == nodes
        with db.transaction(url) as conn:
            record = MoveRecord(run_id=f"bench-{run}", kind="move", request="{}")
            apply_move(conn, record, plan, ctx.mark, holder)
        applied = time.perf_counter()
        totals.append(applied - start)
        del ctx, state, plan  # the next run starts from the same heap as this one did
        print(f"  {run:<5}{read - start:8.2f}{planned - read:8.2f}{applied - planned:8.2f}"
              f"{applied - start:8.2f}")  # fmt: skip
    print(
        f"  median total {statistics.median(totals):.2f} s, best {min(totals):.2f} s"
        "   (target < 3 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--plan-nodes", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="plan+apply runs per backend")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--skip-takeover", action="store_true")
    parser.add_argument("--skip-plan", action="store_true")
    args = parser.parse_args()
    for key in [k for k in os.environ if k.startswith(("SNFLOW_", "PREFECT_"))]:
        del os.environ[key]
    with tempfile.TemporaryDirectory(prefix="snflow-bench-snmove-") as tmp:
        home = Path(tmp)
        os.environ["SNFLOW_HOME"] = str(home)
        os.environ["SNFLOW_PREFECT_PORT"] = str(free_port())
        # One process serves all 1,000 virtual nodes (and forks their postscripts) on 2
        # cores: under 64 sessions at once its answers (channel opens, banners, auth) can
        # take longer than the defaults of 10-15 s. Both sides get the same.
        for name in (
            "SNFLOW_SSH_CONNECT_TIMEOUT",
            "SNFLOW_SSH_BANNER_TIMEOUT",
            "SNFLOW_SSH_AUTH_TIMEOUT",
        ):
            os.environ[name] = "60"
        from snflow.deployments import local

        try:
            if not args.skip_takeover:
                takeover(home, args.nodes)
            if not args.skip_plan and args.backend in ("sqlite", "both"):
                plan_apply(
                    "SQLite",
                    lambda run: f"sqlite:///{home}/plan-{run}.sqlite",
                    args.plan_nodes,
                    args.repeat,
                )
            if not args.skip_plan and args.backend in ("postgres", "both"):
                sys.path.insert(0, str(ROOT / "tests"))
                from pg import PostgresServer

                with PostgresServer() as server:
                    plan_apply(
                        "PostgreSQL",
                        lambda run: server.create_database(f"bench{run}"),
                        args.plan_nodes,
                        args.repeat,
                    )
        finally:
            if "prefect" in sys.modules:
                stop_prefect()
            else:
                local.stop_server()


if __name__ == "__main__":
    main()
