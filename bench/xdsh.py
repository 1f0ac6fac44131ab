"""Benchmark: ``xdsh true`` on 512 and 1,024 virtual nodes through 4 service nodes.

Compares the xdsh flow (one Prefect flow run, task runs per service-node batch, snflow's
SSH layer) with a bare paramiko thread-pool script doing the same SSH work through the
same service nodes (one connection per SN, a ``direct-tcpip`` channel and a new SSH
session per CN, ``true`` run, same fanout) in the same process. Prints wall times, the
ratio (target <= 1.3), task runs recorded per flow run, and peak RSS.

Run: ``.venv/bin/python bench/xdsh.py [--sizes 512,1024] [--fanout 64]``.
It starts its own virtual cluster and Prefect server in a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import paramiko
from _common import count_task_runs, rss_mb, stop_prefect


class QuietTransport(paramiko.Transport):
    """The transport tuning snflow's SSH layer uses (``tasks/ssh/connect.py``): the same
    SSH work, so the ratio measures what the flow adds, not a paramiko setting."""

    _active_check_timeout = 1.0


def bare_paramiko(home: Path, nodes: list[str], sim, fanout: int) -> float:
    """The same SSH work with nothing but paramiko and a thread pool."""
    key = paramiko.Ed25519Key.from_private_key_file(str(home / "id_ed25519"))
    hosts = {h.name: h for h in sim.status().hosts}
    sn_of: dict[str, str] = {}
    port = sim.port
    lock = threading.Lock()
    sn_transports: dict[str, paramiko.Transport] = {}
    node_transports: list[paramiko.Transport] = []

    def sn_transport(sn: str) -> paramiko.Transport:
        with lock:
            t = sn_transports.get(sn)
            if t is None:
                sock = socket.create_connection((hosts[sn].address, port))
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                t = QuietTransport(sock)
                t.start_client()
                t.auth_publickey("root", key)
                sn_transports[sn] = t
            return t

    def one(node: str) -> int:
        sn = sn_of[node]
        chan = sn_transport(sn).open_channel(
            "direct-tcpip", (hosts[node].address, port), ("127.0.0.1", 0)
        )
        t = QuietTransport(chan)
        t.start_client()
        t.auth_publickey("root", key)
        session = t.open_session()
        session.exec_command("true")
        status = session.recv_exit_status()
        session.close()
        with lock:
            # Kept open to the end, as snflow's pool does: closing tunnels while others
            # are busy makes paramiko race data against the channel close.
            node_transports.append(t)
        return status

    from snflow.models import db
    from snflow.models.cluster import ClusterView
    from snflow.models.defspec import Column

    with db.read_connection() as conn:
        values = ClusterView(conn).column_values(nodes, Column("noderes", "servicenode"))
    sn_of.update({n: v.split(",")[0] for n, v in values.items()})
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=fanout) as pool:
        statuses = list(pool.map(one, nodes))
    for t in node_transports:
        t.close()
    wall = time.perf_counter() - start
    for t in sn_transports.values():
        t.close()
    assert statuses == [0] * len(nodes), "bare script: a node failed"
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="512,1024")
    parser.add_argument("--fanout", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2, help="best of N rounds per size")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    with tempfile.TemporaryDirectory(prefix="snflow-bench-xdsh-") as tmp:
        home = Path(tmp)
        for key in [k for k in os.environ if k.startswith("SNFLOW_")]:
            del os.environ[key]
        os.environ["SNFLOW_HOME"] = str(home)
        from snflow.cli._flowrun import use_prefect
        from snflow.sim import SimCluster

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            os.environ["SNFLOW_PREFECT_PORT"] = str(s.getsockname()[1])
        sim = SimCluster.up(home, service_nodes=4, nodes=max(sizes))
        try:
            use_prefect()
            from snflow.flows.xdsh import xdsh
            from snflow.models.remote import XdshRequest

            print(f"virtual cluster: 4 SNs, {max(sizes)} CNs; fanout {args.fanout}")
            print(
                f"{'nodes':>6} {'xdsh flow':>10} {'bare paramiko':>14} {'ratio':>6} "
                f"{'task runs':>10} {'peak RSS':>9}"
            )
            for size in sizes:
                nodes = [f"cn{i:03d}" for i in range(1, size + 1)]
                noderange = ",".join(nodes)
                best_flow = best_bare = float("inf")
                runs = 0
                for _ in range(args.rounds):
                    best_bare = min(best_bare, bare_paramiko(home, nodes, sim, args.fanout))
                    request = XdshRequest(noderange=noderange, command="true", fanout=args.fanout)
                    start = time.perf_counter()
                    state = xdsh(request, return_state=True)
                    wall = time.perf_counter() - start
                    report = state.result(raise_on_failure=False)
                    if report.failed:
                        failures = [r.message for r in report.results if r.outcome != "ok"]
                        print(f"  {len(failures)} node(s) failed, e.g. {failures[:3]}")
                    best_flow = min(best_flow, wall)
                    runs = count_task_runs(state.state_details.flow_run_id, report.task_runs)
                print(
                    f"{size:>6} {best_flow:>9.2f}s {best_bare:>13.2f}s "
                    f"{best_flow / best_bare:>6.2f} {runs:>10} {rss_mb():>7.0f}MB"
                )
            print("ratio target <= 1.3; task runs: per service-node batch, never per node")
        finally:
            sim.down()
            stop_prefect()


if __name__ == "__main__":
    sys.exit(main())
