"""Benchmark: what the per-command mount namespace of the virtual cluster costs.

Starts two one-SN clusters in a temporary directory, one with the private mount namespace
(``unshare --mount`` + bind mounts, :mod:`snflow.sim.nodeenv`) and one without
(``SNFLOW_SIM_ISOLATION=0``), and runs ``true`` N times over one SSH connection to each:
prints the wall time per command for both and the difference. Also times the bare
process start (``HostEnv.argv`` spawned directly, no SSH) both ways.

Run: ``.venv/bin/python bench/sim_isolation.py [--commands 300]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import paramiko

from snflow.sim import SimCluster
from snflow.sim.nodeenv import ISOLATION_ENV, host_env, probe_isolation


def per_command_ms(sim: SimCluster, count: int) -> float:
    """Milliseconds per ``true`` over one reused SSH connection to sn1."""
    sock = socket.create_connection((sim.host("sn1").address, sim.port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    transport = paramiko.Transport(sock)
    transport.start_client()
    transport.auth_publickey(
        "root", paramiko.Ed25519Key.from_private_key_file(str(sim.home / "id_ed25519"))
    )
    try:
        start = time.perf_counter()
        for _ in range(count):
            chan = transport.open_session()
            chan.exec_command("true")
            assert chan.recv_exit_status() == 0
            chan.close()
        return (time.perf_counter() - start) / count * 1000
    finally:
        transport.close()


def spawn_ms(sim_dir: Path, isolated: bool, count: int) -> tuple[float, float]:
    """Wall and CPU (user + system of the children) milliseconds per process start of a
    host's command line, without SSH; CPU is what a loaded machine does not distort."""
    isolation = probe_isolation(sim_dir) if isolated else None
    if isinstance(isolation, str):
        raise SystemExit(f"no isolation here: {isolation}")
    env = host_env("sn1", sim_dir, isolation)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    for _ in range(count):
        subprocess.run(env.argv("true"), env=env.environ, cwd=env.root, check=True)
    wall = (time.perf_counter() - start) / count * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / count * 1000
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commands", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="snflow-bench-iso-") as tmp:
        figures: dict[str, tuple[float, tuple[float, float]]] = {}
        for label, flag in (("isolated", "1"), ("plain", "0")):
            home = Path(tmp) / label
            home.mkdir()
            os.environ[ISOLATION_ENV] = flag
            sim = SimCluster.up(
                home, service_nodes=1, nodes=0, database_url=f"sqlite:///{home}/c.sqlite"
            )
            try:
                status = sim.status()
                assert status.isolated == (flag == "1"), status.isolation
                per_command_ms(sim, 20)  # warm up
                ssh_ms = per_command_ms(sim, args.commands)
                figures[label] = (ssh_ms, spawn_ms(home / "sim", flag == "1", args.commands))
                print(f"{label:>8}: {status.isolation}")
            finally:
                sim.down()
        os.environ.pop(ISOLATION_ENV, None)
    print(f"load average: {os.getloadavg()[0]:.2f} (2 cores: wall figures grow with it)")
    print(f"{'':>8}  {'SSH command, wall':>18}  {'process start, wall':>20}  {'CPU':>8}")
    for label, (ssh_ms, (wall, cpu)) in figures.items():
        print(f"{label:>8}  {ssh_ms:15.2f} ms  {wall:17.2f} ms  {cpu:5.2f} ms")
    iso, plain = figures["isolated"], figures["plain"]
    print(
        f"mount namespace: +{iso[0] - plain[0]:.2f} ms wall per command over SSH, "
        f"+{iso[1][1] - plain[1][1]:.2f} ms CPU per process start"
    )


if __name__ == "__main__":
    main()
