"""Benchmark: xdcp of one 4 MB file and of a 200-file tree to 512 virtual nodes under 4 SNs.

Compares the xdcp flow (one Prefect flow run: staging task per SN, delivery task per SN
batch) with a bare two-hop copy script doing the same in the same run: the files are
staged on every SN with one ``ssh SN 'tar -x'`` each (OpenSSH from here, 4 at once), then
each SN copies to its nodes with its own ssh, ``xargs -P 64`` of ``ssh NODE 'tar -x' <
payload``. Prints, per payload: wall time of both, the ratio (target <= 1.3), bytes
received over the management node's links (the SNs' counters) by both, and the flow's task
runs.

Run: ``.venv/bin/python bench/xdcp.py [--nodes 512] [--rounds 2]``. It starts its own
virtual cluster and Prefect server in a temporary directory.
"""

from __future__ import annotations

import argparse
import io
import os
import shlex
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import count_task_runs, stop_prefect

FANOUT = 64


def make_sources(base: Path) -> dict[str, tuple[list[Path], str, bool]]:
    """The two payloads: name -> (sources, target on the nodes, recursive)."""
    big = base / "src" / "big.bin"
    big.parent.mkdir(parents=True)
    big.write_bytes(os.urandom(4 << 20))
    tree = base / "src" / "tree"
    for i in range(200):
        path = tree / f"d{i % 10}" / f"f{i:03d}.conf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"setting{i} = {'x' * (i % 50)}\n")
    return {"4 MB file": ([big], "/tmp/big.bin", False), "200-file tree": ([tree], "/tmp", True)}


def sn_bytes(sim) -> int:
    status = sim.status()
    return sum(h.counters.bytes_received for h in status.hosts if h.role == "sn")


def bare_two_hop(home: Path, sim, primary: dict[str, list[str]], sources: list[Path],
                 target: str) -> float:  # fmt: skip
    """Stage on every SN with OpenSSH from here, then each SN copies to its nodes."""
    port = sim.port
    ssh = [
        "ssh", "-i", str(home / "id_ed25519"), "-o", "IdentitiesOnly=yes",
        "-o", f"UserKnownHostsFile={home / 'known_hosts'}", "-o", "StrictHostKeyChecking=yes",
        "-o", "BatchMode=yes", "-p", str(port), "-l", "root",
    ]  # fmt: skip
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for src in sources:
            tar.add(src, arcname=str(src).strip("/"))
    data = buffer.getvalue()
    stage = 'd="${NODEROOT:-}/var/xcat/bare" && mkdir -p "$d" && cd "$d" && tar -xf -'
    names = [str(s).strip("/") for s in sources]
    directory = target if len(sources) > 1 or sources[0].is_dir() else os.path.dirname(target)
    node_cmd = f'cd "${{NODEROOT:-}}"{shlex.quote(directory)} && tar -xf -'
    # the payload as it lands: the sources' base names, taken from the staged tree
    pack = " ".join(
        f'-C "$d"/{shlex.quote(os.path.dirname(n))} {shlex.quote(os.path.basename(n))}'
        for n in names
    )
    deliver = (
        'd="${NODEROOT:-}/var/xcat/bare" && cd "$d" && '
        f"tar -cf payload.tar {pack} && "
        f"xargs -P {FANOUT} -I@ sh -c "
        + shlex.quote(f"ssh -F $NODEROOT/root/.ssh/config @ {shlex.quote(node_cmd)} < payload.tar")
    )

    def run(sn: str, command: str, stdin: bytes = b"") -> None:
        done = subprocess.run([*ssh, sim.host(sn).address, command], input=stdin,
                              capture_output=True, check=False)  # fmt: skip
        assert done.returncode == 0, (sn, done.stderr[-500:])

    start = time.perf_counter()
    sns = [h.name for h in sim.hosts if h.role == "sn"]
    with ThreadPoolExecutor(len(sns)) as pool:
        list(pool.map(lambda sn: run(sn, stage, data), sns))
        list(pool.map(lambda sn: run(sn, deliver, "\n".join(primary[sn]).encode()), primary))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=2, help="best of N rounds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="snflow-bench-xdcp-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        for key in [k for k in os.environ if k.startswith("SNFLOW_")]:
            del os.environ[key]
        os.environ["SNFLOW_HOME"] = str(home)
        os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] = "WARNING"
        from snflow.cli._flowrun import use_prefect
        from snflow.sim import SimCluster

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            os.environ["SNFLOW_PREFECT_PORT"] = str(s.getsockname()[1])
        payloads = make_sources(Path(tmp))
        sim = SimCluster.up(home, service_nodes=4, nodes=args.nodes)
        try:
            use_prefect()
            from snflow.flows.xdcp import xdcp
            from snflow.models.xdcp import XdcpRequest

            primary: dict[str, list[str]] = {}
            for h in sim.hosts:
                if h.role == "cn":
                    primary.setdefault(h.service_nodes[0], []).append(h.name)
            print(f"virtual cluster: 4 SNs, {args.nodes} CNs; fanout {FANOUT}; "
                  f"commands: {sim.status().isolation}")  # fmt: skip
            print(f"{'payload':>14} {'xdcp flow':>10} {'bare 2-hop':>11} {'ratio':>6} "
                  f"{'MN bytes flow':>14} {'MN bytes bare':>14} {'task runs':>10}")  # fmt: skip
            for label, (sources, target, recursive) in payloads.items():
                best_flow = best_bare = float("inf")
                flow_bytes = bare_bytes = runs = 0
                for _ in range(args.rounds):
                    sim.reset_counters()
                    best_bare = min(best_bare, bare_two_hop(home, sim, primary, sources, target))
                    bare_bytes = sn_bytes(sim)
                    sim.reset_counters()
                    request = XdcpRequest(
                        noderange="compute", sources=tuple(map(str, sources)), target=target,
                        recursive=recursive, fanout=FANOUT,
                    )  # fmt: skip
                    start = time.perf_counter()
                    state = xdcp(request, return_state=True)
                    best_flow = min(best_flow, time.perf_counter() - start)
                    flow_bytes = sn_bytes(sim)
                    report = state.result(raise_on_failure=False)
                    if not report.ok:
                        bad = [(r.node, r.message) for r in report.results if not r.ok]
                        print(f"  {len(bad)} node(s) failed, e.g. {bad[:3]}")
                    runs = count_task_runs(state.state_details.flow_run_id, report.task_runs)
                print(f"{label:>14} {best_flow:>9.2f}s {best_bare:>10.2f}s "
                      f"{best_flow / best_bare:>6.2f} {flow_bytes:>14,} {bare_bytes:>14,} "
                      f"{runs:>10}")  # fmt: skip
            print("ratio target <= 1.3; MN bytes: received by the 4 SNs' SSH servers "
                  "(the files cross each SN link once, not once per node)")  # fmt: skip
        finally:
            sim.down()
            stop_prefect()


if __name__ == "__main__":
    sys.exit(main())
