"""The local Prefect server: started on demand, reported, stopped by its PID."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from snflow.cli.main import app
from snflow.deployments import local
from snflow.models.settings import get_settings


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_server_start_status_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    from ports import free_port

    monkeypatch.setenv("SNFLOW_PREFECT_PORT", str(free_port()))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    runner = CliRunner()

    started = runner.invoke(app, ["server", "start"])
    assert started.exit_code == 0, started.output
    assert "Prefect server started: UI http://127.0.0.1:" in started.stdout
    status = local.server_status(get_settings())
    assert status.running and status.managed and status.pid
    assert (get_settings().home / "prefect" / "server.log").exists()

    again = runner.invoke(app, ["server", "start"])
    assert "already running" in again.stdout

    stopped = runner.invoke(app, ["server", "stop"])
    assert stopped.exit_code == 0
    assert not pid_alive(status.pid)
    after = runner.invoke(app, ["server", "status"])
    assert after.exit_code == 1
    assert "not running" in after.stdout


def test_a_configured_server_is_used_and_not_managed(
    prefect_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    status = local.server_status(get_settings())
    assert status.running
    assert not status.managed
    assert status.api_url == prefect_server
    result = CliRunner().invoke(app, ["server", "stop"])
    assert result.exit_code == 1
    assert "snflow does not manage it" in result.stderr
    assert os.environ["PREFECT_API_URL"] == prefect_server


def test_a_server_of_another_home_on_our_port_is_refused(
    prefect_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two homes (two users) with the same port: the second must not file its runs in the
    first one's history."""
    port = prefect_server.split(":")[-1].split("/")[0]
    monkeypatch.delenv("SNFLOW_PREFECT_API_URL")
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("SNFLOW_PREFECT_PORT", port)
    with pytest.raises(local.ServerError, match="did not start; set SNFLOW_PREFECT_PORT"):
        local.start_server(get_settings())
    result = CliRunner().invoke(app, ["server", "start"])
    assert result.exit_code == 1
    assert "did not start" in result.stderr
