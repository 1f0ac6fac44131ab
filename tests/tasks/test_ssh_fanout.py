"""run_many / map_routes: bounded concurrency, per-node failures as results, order kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from ssh_fixtures import DEAD, SshTestBed, bed, ssh_bed

from snflow.models.routes import Route
from snflow.tasks.ssh import SshPool, map_routes, run_many

__all__ = ["bed", "ssh_bed"]  # fixtures used by name

CNS = [f"cn{i}" for i in range(1, 13)]


def test_concurrent_sessions_never_exceed_the_fanout(bed: SshTestBed, tmp_path: Path) -> None:
    with SshPool(bed.settings(tmp_path)) as pool:
        results = run_many(pool, bed.routes(*CNS), "sleep 0.2; echo ok", fanout=3)
    assert [r.node for r in results] == CNS
    assert all(r.ok and r.stdout == b"ok\n" and r.via == "sn1" for r in results)
    assert 2 <= bed.total.max_sessions <= 3
    assert bed.total.commands == 12


def test_a_timeout_fails_only_that_node(bed: SshTestBed, tmp_path: Path) -> None:
    def command(route: Route) -> str:
        return "echo begun; sleep 30" if route.node == "cn2" else "echo ok"

    with SshPool(bed.settings(tmp_path)) as pool:
        results = run_many(pool, bed.routes("cn1", "cn2", "cn3"), command, timeout=0.5)
    outcomes = {r.node: r.outcome for r in results}
    assert outcomes == {"cn1": "ok", "cn2": "timeout", "cn3": "ok"}
    slow = results[1]
    assert slow.exit_status is None and slow.stdout == b"begun\n" and slow.via == "sn1"
    assert slow.message == "command on cn2 timed out after 0.5 s"


def test_an_unreachable_node_is_a_result_not_an_exception(bed: SshTestBed, tmp_path: Path) -> None:
    routes = {**bed.routes("cn1", servicenodes={"cn1": DEAD[0]}), **bed.routes("cn2")}
    with SshPool(bed.settings(tmp_path)) as pool:
        first, second = run_many(pool, routes, "echo ok")
    assert (first.node, first.outcome, first.exit_status) == ("cn1", "unreachable", None)
    assert "service node deadsn" in first.message
    assert second.ok and second.via == "sn1"


def test_a_non_zero_exit_is_a_failed_result(bed: SshTestBed, tmp_path: Path) -> None:
    with SshPool(bed.settings(tmp_path)) as pool:
        (result,) = run_many(pool, bed.routes("sn2"), "exit 4")
    assert (result.outcome, result.exit_status, result.message) == ("failed", 4, "exit status 4")


def test_map_routes_keeps_order_and_reraises_without_a_handler() -> None:
    routes = [r for r in _routes("a", "b", "c")]
    assert map_routes(lambda r: r.node.upper(), routes, fanout=2) == ["A", "B", "C"]
    assert map_routes(lambda r: 1 / 0, routes, on_error=lambda r, e: r.node) == ["a", "b", "c"]
    with pytest.raises(ZeroDivisionError):
        map_routes(lambda r: 1 / 0, routes)
    assert map_routes(lambda r: r, [], fanout=4) == []


def _routes(*nodes: str) -> list[Route]:
    from snflow.models.routes import plan_routes

    return list(plan_routes(nodes, {}, {}, set(), 22).values())


def test_run_resources_share_one_bound_across_concurrent_batches(
    bed: SshTestBed, tmp_path: Path
) -> None:
    # Two batch tasks of one run hand their nodes to the run's workers at the same time:
    # the run's limit holds across both, and each gets its own results back in order.
    from concurrent.futures import ThreadPoolExecutor

    from snflow.tasks.runtime import RunResources

    res = RunResources(pool=SshPool(bed.settings(tmp_path)), limit=3)
    try:

        def batch(nodes: list[str]) -> list[str]:
            def one(route: Route) -> str:
                return res.pool.run(route, f"sleep 0.2; echo {route.node}").stdout_text.strip()

            return res.map(one, bed.routes(*nodes))

        with ThreadPoolExecutor(2) as tasks:
            first, second = tasks.map(batch, [CNS[:6], CNS[6:]])
    finally:
        res.close()
    assert (first, second) == (CNS[:6], CNS[6:])
    assert 2 <= bed.total.max_sessions <= 3
    assert bed.total.commands == 12
