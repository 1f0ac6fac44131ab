"""Benchmark: makedhcp, nodeset and makeconservercf on the virtual cluster, by size.

For each size (compute nodes behind 2 service nodes) it times, as flow runs in this
process: the first run (every file written, checked, reloaded) and a second identical run
(everything read and compared, nothing written). Prints wall times, the ratio of the
largest size to the smallest (the work per host grows with nodes; the task runs do not),
and the no-op run relative to the writing run.

Run: ``.venv/bin/python bench/services.py [--sizes 256,1024]``.
It starts its own virtual cluster and Prefect server in a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path


def timed(flow, request) -> tuple[float, object]:
    start = time.perf_counter()
    state = flow(request, return_state=True)
    wall = time.perf_counter() - start
    report = state.result(raise_on_failure=False)
    if not state.is_completed():
        details = [r.message for r in getattr(report, "results", [])]
        raise SystemExit(f"{request.describe()}: {state.message} {details}")
    return wall, report


def clean(home: Path) -> None:
    """No service file on the MN and the SNs (directories the simulation made are kept)."""
    for host in ("mn", "sn1", "sn2"):
        for rel in ("etc/dhcp", "etc/conserver.cf", "tftpboot/*", "var/log"):
            for path in (home / "sim" / host).glob(rel):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,1024")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    with tempfile.TemporaryDirectory(prefix="snflow-bench-services-") as tmp:
        home = Path(tmp)
        for key in [k for k in os.environ if k.startswith("SNFLOW_")]:
            del os.environ[key]
        os.environ["SNFLOW_HOME"] = str(home)
        from snflow.cli._flowrun import use_prefect
        from snflow.deployments import local
        from snflow.sim import SimCluster

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            os.environ["SNFLOW_PREFECT_PORT"] = str(s.getsockname()[1])
        use_prefect()
        from snflow.flows.makeconservercf import makeconservercf
        from snflow.flows.makedhcp import makedhcp
        from snflow.flows.nodeset import nodeset
        from snflow.models.servicerun import ConservercfRequest, MakedhcpRequest, NodesetRequest

        print("virtual cluster: 2 SNs; every CN on both SNs")
        print(f"{'command':<22} {'nodes':>6} {'first':>8} {'second':>8} {'2nd/1st':>8}")
        firsts: dict[str, list[float]] = {}
        try:
            for size in sizes:
                with SimCluster.up(home, service_nodes=2, nodes=size, force=True):
                    clean(home)
                    for name, flow, request in (
                        ("makedhcp compute", makedhcp, MakedhcpRequest(noderange="compute")),
                        ("nodeset compute", nodeset, NodesetRequest(noderange="compute")),
                        (
                            "makeconservercf",
                            makeconservercf,
                            ConservercfRequest(),
                        ),
                    ):
                        first, _ = timed(flow, request)
                        second, report = timed(flow, request)
                        assert {r.outcome for r in report.results} == {"unchanged"}, report
                        firsts.setdefault(name, []).append(first)
                        print(
                            f"{name:<22} {size:>6} {first:>7.2f}s {second:>7.2f}s "
                            f"{second / first:>8.2f}"
                        )
            if len(sizes) > 1:
                factor = sizes[-1] / sizes[0]
                for name, walls in firsts.items():
                    print(f"{name}: {factor:.0f}x nodes -> {walls[-1] / walls[0]:.2f}x time")
            print("a flow run costs ~1-3 s of Prefect overhead whatever the size")
        finally:
            from prefect.events.worker import EventsWorker
            from prefect.logging.handlers import APILogWorker

            for worker in (APILogWorker, EventsWorker):
                worker.drain_all(timeout=10)
            local.stop_server()


if __name__ == "__main__":
    main()
