"""The served stack's parts: where it lives, how ``snflow serve`` is started and stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from served_api import call

from snflow.sim import SimCluster

#: The README's maintenance window example (inactive here: no window opens during tests).
EXAMPLE_WINDOW = {
    "cron": "0 2 * * 6",
    "timezone": "Europe/Paris",
    "active": False,
    "request": {"service_node": "sn1", "deadline_minutes": 240, "dry_run": False},
}


@dataclass
class Served:
    """The running stack."""

    home: Path
    api: str
    pid: int
    log: Path

    @property
    def ui(self) -> str:
        return self.api.removesuffix("/api")

    def cluster(self) -> SimCluster:
        return SimCluster.attach(self.home)


def serve_env(home: Path, api: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SNFLOW_", "PREFECT_"))}
    env.update(
        {
            "SNFLOW_HOME": str(home),
            "SNFLOW_PREFECT_API_URL": api,
            "PREFECT_API_URL": api,
            "SNFLOW_SERVE_POLL": "1",
            "SNFLOW_HEALTH_INTERVAL": "0",
            "SNFLOW_SERVE_WINDOWS": json.dumps([EXAMPLE_WINDOW]),
            "DO_NOT_TRACK": "1",
        }
    )
    return env


def stop_pid(pid: int, timeout: float = 30.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished:
            return
        time.sleep(0.1)  # waiting for our child to exit, bounded
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def wait_served(proc: subprocess.Popen, log: Path, api: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"snflow serve exited {proc.returncode}:\n{log.read_text()}")
        if "Ctrl-C stops" in log.read_text(errors="replace"):
            call(api, "GET", "/deployments/name/xdsh/xdsh")
            return
        time.sleep(0.2)  # waiting for the served process to say it serves, bounded
    raise RuntimeError(f"snflow serve did not start in {timeout} s:\n{log.read_text()}")
