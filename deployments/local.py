"""snflow's local Prefect server: started on demand, so every run's history is kept.

Without a server, Prefect runs each command against a temporary one that dies with the
process (losing most of the run history) and costs ~15 s per command. snflow instead runs
one ``prefect server`` per ``$SNFLOW_HOME`` (home ``$SNFLOW_HOME/prefect``, 127.0.0.1, telemetry
off), started by the first command that needs it and stopped with ``snflow server stop``.
A configured ``SNFLOW_PREFECT_API_URL`` (or ``PREFECT_API_URL``) replaces it entirely.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from pydantic import BaseModel

from snflow.models.errors import SnflowError
from snflow.models.settings import Settings, get_settings

__all__ = [
    "ServerError",
    "ServerStatus",
    "api_url",
    "prefect_environment",
    "server_status",
    "start_server",
    "stop_server",
]


class ServerError(SnflowError, RuntimeError):
    """The local Prefect server cannot be started, reached or stopped."""


class ServerStatus(BaseModel):
    """What ``snflow server status`` reports."""

    running: bool
    managed: bool
    api_url: str
    ui_url: str
    pid: int | None = None
    home: str | None = None


def _home(settings: Settings) -> Path:
    return settings.home / "prefect"


def _pidfile(settings: Settings) -> Path:
    return _home(settings) / "server.pid"


def _local_url(settings: Settings) -> str:
    return f"http://{settings.prefect.host}:{settings.prefect.port}/api"


def _configured_url(settings: Settings) -> str | None:
    # SNFLOW_PREFECT_API_URL, or a PREFECT_API_URL the user set (not the one snflow exports).
    url = settings.prefect.api_url or os.environ.get("PREFECT_API_URL")
    if url and url.rstrip("/") != _local_url(settings):
        return url.rstrip("/")
    return None


def api_url(settings: Settings | None = None) -> str:
    """The Prefect API this snflow uses: configured, else the local server's."""
    settings = settings or get_settings()
    return _configured_url(settings) or _local_url(settings)


def prefect_environment(settings: Settings | None = None) -> dict[str, str]:
    """Environment for Prefect clients and the local server (telemetry off, our home)."""
    settings = settings or get_settings()
    env = {
        "PREFECT_HOME": str(_home(settings)),
        "PREFECT_API_URL": api_url(settings),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        # Offline clusters: no upgrade prompts or marketing banners in the UI.
        "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        # The CLI prints its own report; Prefect's per-task console lines would drown it.
        "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
    }
    if settings.prefect.database_url:
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = settings.prefect.database_url
    return env


def _healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as resp:  # noqa: S310
            return resp.status == 200 and json.loads(resp.read() or b"false") is True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _read_pid(settings: Settings) -> int | None:
    try:
        pid = int(_pidfile(settings).read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def server_status(settings: Settings | None = None) -> ServerStatus:
    """Whether the server snflow uses answers, and whether snflow manages it."""
    settings = settings or get_settings()
    url = api_url(settings)
    managed = _configured_url(settings) is None
    return ServerStatus(
        running=_healthy(url),
        managed=managed,
        api_url=url,
        ui_url=url.removesuffix("/api"),
        pid=_read_pid(settings) if managed else None,
        home=str(_home(settings)) if managed else None,
    )


def start_server(settings: Settings | None = None) -> tuple[ServerStatus, bool]:
    """Make sure the server answers; start the local one if needed.

    Returns the status and whether this call started it.
    """
    settings = settings or get_settings()
    status = server_status(settings)
    if status.running and status.managed and status.pid is None:
        # Something answers on our port but this home did not start it (another user's or
        # another SNFLOW_HOME's server): using it would file our runs in its history.
        raise ServerError(
            f"{status.api_url} is a Prefect server that this SNFLOW_HOME ({_home(settings)}) "
            "did not start; set SNFLOW_PREFECT_PORT to a free port, or SNFLOW_PREFECT_API_URL "
            "to use that server on purpose"
        )
    if status.running:
        return status, False
    if not status.managed:
        raise ServerError(f"the Prefect server at {status.api_url} does not answer")
    home = _home(settings)
    home.mkdir(parents=True, exist_ok=True)
    if status.pid is not None:
        raise ServerError(
            f"a local Prefect server (pid {status.pid}) is running but {status.api_url} does "
            f"not answer; see {home / 'server.log'} or run 'snflow server stop'"
        )
    env = {**os.environ, **prefect_environment(settings)}
    argv = [
        sys.executable,
        "-m",
        "prefect",
        "server",
        "start",
        "--host",
        settings.prefect.host,
        "--port",
        str(settings.prefect.port),
    ]
    with open(home / "server.log", "ab") as log:
        proc = subprocess.Popen(
            argv,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=home,
        )
    _pidfile(settings).write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + settings.prefect.start_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _pidfile(settings).unlink(missing_ok=True)
            tail = (home / "server.log").read_text(errors="replace")[-1500:]
            raise ServerError(f"the local Prefect server exited at start:\n{tail}")
        if _healthy(status.api_url, timeout=1.0):
            return server_status(settings), True
        time.sleep(0.2)  # polling a server's health endpoint, bounded by the deadline
    _terminate(proc.pid, grace=5.0)
    _pidfile(settings).unlink(missing_ok=True)
    raise ServerError(
        f"the local Prefect server did not answer within {settings.prefect.start_timeout:.0f} s; "
        f"see {home / 'server.log'}"
    )


def _terminate(pid: int, grace: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            finished = pid if not _alive(pid) else 0
        if finished:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0): look at its state.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def stop_server(settings: Settings | None = None) -> bool:
    """Stop the local server by its PID; returns whether one was running."""
    settings = settings or get_settings()
    if _configured_url(settings):
        raise ServerError(
            "the Prefect server is configured (SNFLOW_PREFECT_API_URL); snflow does not manage it"
        )
    pid = _read_pid(settings)
    _pidfile(settings).unlink(missing_ok=True)
    if pid is None:
        return False
    _terminate(pid, grace=15.0)
    return True
