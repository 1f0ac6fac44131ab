"""Scale-out, locally: a Prefect server on PostgreSQL, a process work pool, two workers;
runs deployed from ``deployments/prefect.yaml`` are shared between the workers."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from ports import free_port
from served_api import call, create_run, events, wait_final
from served_stack import Served, stop_pid

from snflow.deployments import local
from snflow.models.settings import PrefectSettings, Settings

REPO = Path(__file__).resolve().parents[2]
PREFECT_YAML = REPO / "deployments" / "prefect.yaml"
PREFECT = str(Path(sys.executable).with_name("prefect"))


@pytest.fixture(scope="module")
def pg_prefect(
    postgres_server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """snflow's local Prefect server, on a PostgreSQL database: (API URL, libpq conninfo)."""
    name = "prefect_scale"
    url = postgres_server.create_database(name).replace("+psycopg", "+asyncpg")
    settings = Settings(
        home=tmp_path_factory.mktemp("prefect-pg"),
        prefect=PrefectSettings(port=free_port(), database_url=url),
    )
    saved = os.environ.pop("PREFECT_API_URL", None)
    try:
        status, _ = local.start_server(settings)
    finally:
        if saved is not None:
            os.environ["PREFECT_API_URL"] = saved
    try:
        yield status.api_url, postgres_server.conninfo(name)
    finally:
        local.stop_server(settings)
        postgres_server.drop_database(name)


def _env(api: str, home: Path, prefect_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SNFLOW_", "PREFECT_"))}
    env.update(
        {
            "PREFECT_API_URL": api,
            "PREFECT_HOME": str(prefect_home),
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "SNFLOW_HOME": str(home),
            "DO_NOT_TRACK": "1",
        }
    )
    return env


def _prefect(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [PREFECT, "--no-prompt", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=REPO,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_two_workers_share_the_runs_of_a_work_pool(
    served_stack: Served, pg_prefect: tuple[str, str], tmp_path: Path
) -> None:
    api, conninfo = pg_prefect
    env = _env(api, served_stack.home, tmp_path / "prefect-home")
    _prefect(env, "work-pool", "create", "snflow", "--type", "process")
    _prefect(env, "deploy", "--name", "xdsh", "--prefect-file", str(PREFECT_YAML))
    dep = call(api, "GET", "/deployments/name/xdsh/xdsh")
    assert dep["work_pool_name"] == "snflow" and dep["entrypoint"] == "snflow.flows.xdsh:xdsh"

    workers = []
    try:
        for name in ("w1", "w2"):
            log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed below
            proc = subprocess.Popen(
                [PREFECT, "worker", "start", "--pool", "snflow", "--name", name, "--limit", "1"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            workers.append((proc, log))
        command = {"noderange": "cn[001-002]", "command": "sleep 2; echo $NODE"}
        runs = [create_run(api, "xdsh/xdsh", {"request": command}) for _ in range(4)]
        for run in runs:
            done = wait_final(api, run["id"], timeout=240)
            assert done["state"]["type"] == "COMPLETED", done["state"]["message"]
    finally:
        for proc, log in workers:
            stop_pid(proc.pid, timeout=10)
            log.close()

    submitted = events(api, "prefect.worker.submitted-flow-run")
    by_run: dict[str, str] = {}
    for event in submitted:
        for related in event["related"]:
            rid = related["prefect.resource.id"]
            if rid.startswith("prefect.flow-run."):
                by_run[rid.removeprefix("prefect.flow-run.")] = event["resource"][
                    "prefect.resource.name"
                ]
    ran = {run["id"]: by_run.get(run["id"]) for run in runs}
    assert set(ran.values()) == {"w1", "w2"}, ran  # both workers took runs
    with psycopg.connect(conninfo) as conn:  # the history is in PostgreSQL
        count = conn.execute("select count(*) from flow_run").fetchone()[0]
    assert count >= 4
